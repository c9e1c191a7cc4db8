import SteemAuthAdapters
import SteemAuthCore

/// `AuthorizationStore` in memory: the rules of the OpenID Connect scripts (`SessionScripts+OIDC`)
/// step for step, on the sessions an `InMemorySessionStore` keeps in the same keyspace.
public final class InMemoryAuthorizationStore: AuthorizationStore {
    public let keyspace: InMemoryKeyspace
    public let prefix: String

    public init(keyspace: InMemoryKeyspace, prefix: String = "steemauth:") {
        self.keyspace = keyspace
        self.prefix = prefix
    }

    /// The fields of an authorization parked in a session (`parkedFields`).
    private static let parkedFields = ["oidc", "oflow", "ogen", "olvl", "oexp", "rcode", "rcexp"]

    private func session(_ id: SessionID) -> [String: String]? { keyspace.hash(prefix + "s:" + id.hex) }

    public func authorizationState(id: SessionID, now: Int64) throws(RedisError) -> AuthorizationSessionState {
        try keyspace.reachable()
        if keyspace.exists(prefix + "d:" + id.hex) { return .denied }
        guard let s = session(id), let st = s["st"] else { return .none }
        guard st == "b" else { return .unbound }
        let method = s["method"] ?? "transfer"
        return .bound(account: s["acct"] ?? "", method: method, authTime: (s["bound_at"].flatMap { Int64($0) }).flatMap { $0 > 0 ? $0 : nil } ?? now,
                      level: ProofLevel.stored(s["lvl"].flatMap { $0.isEmpty ? nil : $0 }, method: method))
    }

    public func parkAuthorization(id: SessionID, pending: [UInt8], flowHash: String, freshProof: Bool, level: ProofLevel,
                                  expiresAt: Int64, freshMemo: String, now: Int64, unboundTTL: Int, codeTTL: Int) throws(RedisError) -> Bool {
        try keyspace.reachable()
        if keyspace.exists(prefix + "d:" + id.hex) { return false }
        let skey = prefix + "s:" + id.hex
        var gen = 1
        if let s = session(id), let st = s["st"] {
            if st == "b" && freshProof {
                gen = (s["gen"].flatMap { Int($0) } ?? 1) + 1
                var live = s["rcode"].map { keyspace.getString(prefix + "c:" + $0) == id.hex } ?? false
                if live && s["oflow"] != flowHash { keyspace.del(prefix + "c:" + s["rcode"]!); live = false }
                if !live {
                    keyspace.hset(skey, [("rcode", freshMemo), ("rcexp", String(now + Int64(codeTTL)))])
                    keyspace.hdel(skey, ["tries"])
                    keyspace.set(prefix + "c:" + freshMemo, id.hex, seconds: codeTTL)
                }
            }
        } else {
            let cexp = now + Int64(codeTTL)
            keyspace.hset(skey, [("st", "u"), ("code", freshMemo), ("created", String(now)), ("cexp", String(cexp))])
            keyspace.expire(skey, seconds: unboundTTL)
            keyspace.set(prefix + "c:" + freshMemo, id.hex, seconds: codeTTL)
            keyspace.set(prefix + "cg:" + freshMemo, id.hex + " " + String(cexp), seconds: codeTTL + unboundTTL)
        }
        keyspace.hset(skey, [("oidc", String(decoding: pending, as: UTF8.self)), ("oflow", flowHash), ("ogen", String(gen)),
                             ("olvl", level.rawValue), ("oexp", String(expiresAt))])
        return true
    }

    public func takeParkedAuthorization(id: SessionID, flowHash: String, freshMemo: String, now: Int64,
                                        codeTTL: Int) throws(RedisError) -> ParkedAuthorization {
        try keyspace.reachable()
        let skey = prefix + "s:" + id.hex
        guard let s = session(id), s["st"] == "b", let parked = s["oidc"] else { return .none }
        let pending = Array(parked.utf8)
        func drop() {
            keyspace.hdel(skey, Self.parkedFields)
            if let code = s["rcode"], keyspace.getString(prefix + "c:" + code) == id.hex { keyspace.del(prefix + "c:" + code) }
        }
        if (s["oexp"].flatMap { Int64($0) } ?? 0) <= now { drop(); return .expired(pending: pending) }
        if s["oflow"] != flowHash { return .elsewhere(pending: pending) }
        let level = s["lvl"] ?? (s["method"] == "signature" ? "posting" : "active")
        if (s["gen"].flatMap { Int($0) } ?? 1) < (s["ogen"].flatMap { Int($0) } ?? 1) || (s["olvl"] == "active" && level != "active") {
            var code = s["rcode"], cexp = s["rcexp"].flatMap { Int64($0) } ?? 0
            if !(code.map { keyspace.getString(prefix + "c:" + $0) == id.hex } ?? false) {
                code = freshMemo
                cexp = now + Int64(codeTTL)
                keyspace.hset(skey, [("rcode", freshMemo), ("rcexp", String(cexp))])
                keyspace.hdel(skey, ["tries"])
                keyspace.set(prefix + "c:" + freshMemo, id.hex, seconds: codeTTL)
            }
            return .freshProof(account: s["acct"] ?? "", code: code ?? "", codeExpiresAt: cexp,
                               requiredLevel: s["olvl"] == ProofLevel.active.rawValue ? .active : .posting, pending: pending)
        }
        drop()
        let method = s["method"] ?? "transfer"
        return .taken(account: s["acct"] ?? "", method: method, authTime: s["bound_at"].flatMap { Int64($0) } ?? 0,
                      level: ProofLevel.stored(level, method: method), pending: pending)
    }

    public func cancelParkedAuthorization(id: SessionID, flowHash: String) throws(RedisError) -> [UInt8]? {
        try keyspace.reachable()
        guard let s = session(id), let parked = s["oidc"], s["oflow"] == flowHash else { return nil }
        keyspace.hdel(prefix + "s:" + id.hex, Self.parkedFields)
        if let code = s["rcode"], keyspace.getString(prefix + "c:" + code) == id.hex { keyspace.del(prefix + "c:" + code) }
        return Array(parked.utf8)
    }

    public func freshProofState(id: SessionID) throws(RedisError) -> FreshProofState {
        try keyspace.reachable()
        if keyspace.exists(prefix + "d:" + id.hex) { return .noSession }
        guard let s = session(id), s["st"] == "b" else { return .noSession }
        guard let code = s["rcode"] else { return .done(account: s["acct"] ?? "") }
        return .waiting(account: s["acct"] ?? "", code: code, expiresIn: keyspace.ttl(prefix + "c:" + code),
                        codeExpiresAt: s["rcexp"].flatMap { Int64($0) } ?? 0)
    }

    public func storeAuthorizationCode(hash: String, grant: [UInt8], ttl: Int) throws(RedisError) {
        try keyspace.reachable()
        keyspace.set(prefix + "oc:" + hash, grant, milliseconds: Int64(ttl) * 1000)
    }

    public func redeemAuthorizationCode(hash: String, usedTTL: Int) throws(RedisError) -> CodeRedemption {
        try keyspace.reachable()
        let codeKey = prefix + "oc:" + hash, usedKey = prefix + "ocu:" + hash
        if let grant = keyspace.get(codeKey) {
            keyspace.del(codeKey)
            keyspace.set(usedKey, "-", seconds: usedTTL)
            return .grant(grant)
        }
        guard let used = keyspace.getString(usedKey) else { return .unknown }
        if used != "-" { keyspace.del(prefix + "ot:" + used) }
        return .replayed
    }

    public func storeAccessToken(hash: String, grant: [UInt8], ttl: Int, codeHash: String, session: String,
                                 account: String) throws(RedisError) -> Bool {
        try keyspace.reachable()
        let skey = prefix + "s:" + session
        guard let s = keyspace.hash(skey), s["st"] == "b", s["acct"] == account else { return false }
        keyspace.set(prefix + "ot:" + hash, grant, milliseconds: Int64(ttl) * 1000)
        keyspace.set(prefix + "ocu:" + codeHash, hash, seconds: ttl, .ifPresent)
        var kept = (s["ot"] ?? "").split(separator: " ").map(String.init).filter { keyspace.exists(prefix + "ot:" + $0) }
        while kept.count >= 32 { keyspace.del(prefix + "ot:" + kept.removeFirst()) }
        kept.append(hash)
        keyspace.hset(skey, [("ot", kept.joined(separator: " "))])
        return true
    }

    public func accessGrant(hash: String) throws(RedisError) -> [UInt8]? {
        try keyspace.reachable()
        return keyspace.get(prefix + "ot:" + hash)
    }
}
