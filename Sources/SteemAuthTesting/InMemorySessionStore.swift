import SteemAuthAdapters
import SteemAuthCore

/// A copy of the stored page's bytes (the in-memory stores keep no Redis reply to point into).
public final class PageBytes: StoredPageBytes {
    public let bytes: [UInt8]
    public init(_ bytes: [UInt8]) { self.bytes = bytes }
    public var count: Int { bytes.count }
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R { try bytes.withUnsafeBytes(body) }
}

/// `SessionStore` in memory, for route tests that start no process: the rules of the Lua scripts
/// (`SessionScripts`) step for step, on the same keys in an `InMemoryKeyspace`, so that the sibling
/// fakes (report cache, authorizations, health) see what it writes. `SessionStoreContract` holds it
/// and `RedisSessionStore` to the same behaviour.
public final class InMemorySessionStore: SessionStore {
    public let keyspace: InMemoryKeyspace
    public let prefix: String
    public let watcherKey: String
    let lifetimes: SessionLifetimes

    public init(keyspace: InMemoryKeyspace, prefix: String = "steemauth:", chain: AppConfig.Chain = .steem,
                lifetimes: SessionLifetimes = SessionLifetimes(unbound: 7200, code: 900, deny: 7200)) {
        self.keyspace = keyspace
        self.prefix = prefix
        self.watcherKey = WatcherStore.stateKey(prefix: prefix, chain: chain)
        self.lifetimes = lifetimes
    }

    private enum Mode { case page, status, verify, report }

    public func viewPage(id: SessionID, gzip: Bool, bound hint: BoundSessionHint?, unboundCode: String?, replacementID: SessionID?,
                         freshMemo: String?, now: Int64) throws(RedisError) -> SessionView {
        try keyspace.reachable()
        var view = self.view(id: id.hex, mode: .page, newID: replacementID?.hex ?? "", newCode: freshMemo ?? "", now: now)
        let account: String
        switch view.state {
        case .bound(let a, _), .rotated(let a, _): account = a
        default: return view
        }
        if gzip, let compressed = keyspace.get(prefix + "rz:" + account), !compressed.isEmpty {
            view.cachedReport = compressed
            view.cachedReportIsDeflate = true
            return view
        }
        if let html = keyspace.get(prefix + "rh:" + account), !html.isEmpty { view.cachedPage = PageBytes(html) }
        return view
    }

    public func lookUp(id: SessionID, for purpose: SessionLookup, replacementID: SessionID?, freshMemo: String?, now: Int64,
                       unboundCode: String?) throws(RedisError) -> SessionView {
        try keyspace.reachable()
        let mode: Mode
        switch purpose {
        case .status: mode = .status
        case .verify: mode = .verify
        case .report: mode = .report
        }
        return view(id: id.hex, mode: mode, newID: replacementID?.hex ?? "", newCode: freshMemo ?? "", now: now)
    }

    /// `SessionScripts.view`.
    private func view(id: String, mode: Mode, newID: String, newCode: String, now: Int64) -> SessionView {
        let page = mode == .page
        let behind = keyspace.hget(watcherKey, "behind").flatMap { Double($0) }
        let skey = prefix + "s:" + id
        let again: SessionView = { var v = SessionView(state: .none, behindSeconds: nil); v.needsFreshValues = true; return v }()
        guard let s = keyspace.hash(skey), let st = s["st"] else {
            if keyspace.exists(prefix + "d:" + id) { return SessionView(state: .denied, behindSeconds: behind) }
            if !page { return SessionView(state: .none, behindSeconds: behind) }
            if newCode.isEmpty { return again }
            let cexp = newSession(id: id, code: newCode, now: now)
            var view = SessionView(state: .unbound(memo: newCode, expiresIn: lifetimes.code), behindSeconds: behind)
            view.codeExpiresAt = cexp
            view.createdSession = true
            return view
        }
        if st == "u" {
            if mode == .report || mode == .verify { return SessionView(state: .unbound(memo: "", expiresIn: -1), behindSeconds: behind) }
            var code = s["code"] ?? ""
            var ttl = keyspace.ttl(prefix + "c:" + code)
            var cexp = s["cexp"].flatMap { Int64($0) }
            if ttl <= 0 {
                if newCode.isEmpty { return again }
                code = newCode
                ttl = lifetimes.code
                cexp = now + Int64(lifetimes.code)
                keyspace.hset(skey, [("code", code), ("cexp", String(cexp!))])
                keyspace.hdel(skey, ["tries"])
                keyspace.set(prefix + "c:" + code, id, seconds: lifetimes.code)
                keyspace.set(prefix + "cg:" + code, id + " " + String(cexp!), seconds: lifetimes.code + lifetimes.unbound)
            } else if cexp == nil {
                cexp = now + Int64(ttl)
                keyspace.hset(skey, [("cexp", String(cexp!))])
            }
            var view = SessionView(state: .unbound(memo: code, expiresIn: ttl), behindSeconds: behind)
            view.codeExpiresAt = cexp
            if page {
                keyspace.expire(skey, seconds: lifetimes.unbound)
                if let pending = s["oidc"], !pending.isEmpty { view.oidcPending = Array(pending.utf8) }
            }
            return view
        }
        let account = s["acct"] ?? ""
        let proof = mode == .status ? nil : Self.proof(s)
        var rotated = false
        if s["rot"] != "1" && mode != .verify {
            if newID.isEmpty { return again }
            let nkey = prefix + "s:" + newID
            keyspace.rename(skey, to: nkey)
            keyspace.hset(nkey, [("rot", "1")])
            keyspace.set(prefix + "d:" + id, "1", seconds: lifetimes.deny)
            keyspace.sadd(prefix + "a:" + account, newID)
            keyspace.srem(prefix + "a:" + account, id)
            rotated = true
        }
        var view = SessionView(state: rotated ? .rotated(account: account, proof: proof) : .bound(account: account, proof: proof),
                               behindSeconds: behind)
        if mode == .report, let cached = keyspace.get(prefix + "r:" + account), !cached.isEmpty { view.cachedReport = cached }
        if page, let pending = s["oidc"], !pending.isEmpty { view.oidcPending = Array(pending.utf8) }
        return view
    }

    /// As `RedisSessionStore` reads a bound session's proof from its fields.
    private static func proof(_ s: [String: String]) -> BindingProof? {
        if s["method"] == "signature", let key = s["key"], !key.isEmpty {
            return BindingProof(block: 0, transactionID: "", time: s["btime"] ?? "", method: .signature, publicKey: key)
        }
        if let block = s["blk"].flatMap({ Int64($0) }), let tx = s["tx"], !tx.isEmpty { return BindingProof(block: block, transactionID: tx, time: s["btime"] ?? "") }
        return nil
    }

    /// `SessionScripts.newSessionFunction`.
    func newSession(id: String, code: String, now: Int64) -> Int64 {
        let cexp = now + Int64(lifetimes.code)
        let skey = prefix + "s:" + id
        keyspace.hset(skey, [("st", "u"), ("code", code), ("created", String(now)), ("cexp", String(cexp))])
        keyspace.expire(skey, seconds: lifetimes.unbound)
        keyspace.set(prefix + "c:" + code, id, seconds: lifetimes.code)
        keyspace.set(prefix + "cg:" + code, id + " " + String(cexp), seconds: lifetimes.code + lifetimes.unbound)
        return cexp
    }

    /// `SessionScripts.endTokensFunction`.
    func endTokens(_ listed: String?) {
        for hash in (listed ?? "").split(separator: " ") { keyspace.del(prefix + "ot:" + hash) }
    }

    @discardableResult
    public func logout(id: SessionID, denyTTL: Int) throws(RedisError) -> LogoutOutcome {
        try keyspace.reachable()
        let skey = prefix + "s:" + id.hex
        guard let s = keyspace.hash(skey), s["st"] != nil else { return .noSession }
        let left = keyspace.ttl(skey)
        if let code = s["code"] { keyspace.del(prefix + "c:" + code, prefix + "cg:" + code) }
        if let code = s["rcode"] { keyspace.del(prefix + "c:" + code) }
        if let account = s["acct"] { keyspace.srem(prefix + "a:" + account, id.hex) }
        endTokens(s["ot"])
        keyspace.del(skey)
        if left > 0 { keyspace.set(prefix + "d:" + id.hex, "1", seconds: min(left, denyTTL)) }
        return .ended(account: s["acct"].flatMap { $0.isEmpty ? nil : $0 })
    }

    public func signInState(id: SessionID) throws(RedisError) -> SignInState {
        try keyspace.reachable()
        if keyspace.exists(prefix + "d:" + id.hex) { return .noSession }
        guard let s = keyspace.hash(prefix + "s:" + id.hex), let st = s["st"] else { return .noSession }
        let level: ProofLevel = s["olvl"] == ProofLevel.active.rawValue ? .active : .posting
        let attempts = Int(s["tries"] ?? "0") ?? 0
        if st != "u" {
            guard let code = s["rcode"], keyspace.getString(prefix + "c:" + code) == id.hex else { return .alreadyBound }
            return .unbound(code: code, codeExpiresAt: Int64(s["rcexp"] ?? "0") ?? 0, attempts: attempts, requiredLevel: level)
        }
        guard let code = s["code"], keyspace.getString(prefix + "c:" + code) == id.hex else { return .codeExpired }
        return .unbound(code: code, codeExpiresAt: Int64(s["cexp"] ?? "0") ?? 0, attempts: attempts, requiredLevel: level)
    }

    public func countSignInAttempt(id: SessionID) throws(RedisError) -> Int? {
        try keyspace.reachable()
        let skey = prefix + "s:" + id.hex
        guard let s = keyspace.hash(skey), let st = s["st"] else { return nil }
        if st != "u" {
            guard let code = s["rcode"], keyspace.getString(prefix + "c:" + code) == id.hex else { return nil }
        }
        return Int(keyspace.hincrby(skey, "tries", 1))
    }

    public func bindBySignature(code: String, account: String, publicKey: String, level: ProofLevel, time: String,
                                boundTTL: Int, now: Int64) throws(RedisError) -> ClaimOutcome {
        try keyspace.reachable()
        return claim(memo: code, account: account, block: "0", transactionID: "", blockTime: time, boundTTL: boundTTL, now: now,
                     method: BindingProof.Method.signature.rawValue, publicKey: publicKey, level: level.rawValue, blockUnixTime: String(now))
    }

    /// A transfer paying `memo` from `account`, bound as the watcher binds it (`blockTime` as the
    /// chain writes it: a code past its visible expiry binds only when that time is at or before it).
    public func bindByTransfer(memo: String, account: String, block: Int64, transactionID: String, blockTime: String,
                               boundTTL: Int, now: Int64) -> ClaimOutcome {
        claim(memo: memo, account: account, block: String(block), transactionID: transactionID, blockTime: blockTime, boundTTL: boundTTL,
              now: now, method: "transfer", publicKey: "", level: "active",
              blockUnixTime: ChainTime(blockTime).map { String($0.secondsSinceEpoch) } ?? "")
    }

    /// `SessionScripts.claimFunction`.
    private func claim(memo: String, account: String, block: String, transactionID: String, blockTime: String, boundTTL: Int, now: Int64,
                       method: String, publicKey: String, level: String, blockUnixTime: String) -> ClaimOutcome {
        let ckey = prefix + "c:" + memo, gkey = prefix + "cg:" + memo
        var id = keyspace.getString(ckey)
        if id == nil {
            guard let grace = keyspace.getString(gkey), let btunix = Int64(blockUnixTime),
                  let space = grace.firstIndex(of: " "), let until = Int64(grace[grace.index(after: space)...]), btunix <= until
            else { return .unknownOrExpiredCode }
            id = String(grace[..<space])
        }
        let skey = prefix + "s:" + id!
        guard let s = keyspace.hash(skey), let st = s["st"] else { keyspace.del(ckey, gkey); return .sessionGone }
        if st != "u" && s["rcode"] != memo { return .alreadyBound }
        if st == "b" {
            if s["acct"] != account {
                if let old = s["acct"] { keyspace.srem(prefix + "a:" + old, id!) }
                endTokens(s["ot"])
                keyspace.hdel(skey, ["ot"])
            }
            keyspace.hdel(skey, ["rcode", "rcexp", "tries", "rot"])
        }
        keyspace.hset(skey, [("st", "b"), ("acct", account), ("blk", block), ("tx", transactionID), ("btime", blockTime),
                             ("bound_at", String(now)), ("method", method), ("key", publicKey), ("lvl", level)])
        _ = keyspace.hincrby(skey, "gen", 1)
        keyspace.hdel(skey, ["code"])
        keyspace.expire(skey, seconds: boundTTL)
        keyspace.del(ckey, gkey)
        if let current = s["code"], current != memo { keyspace.del(prefix + "c:" + current, prefix + "cg:" + current) }
        keyspace.sadd(prefix + "a:" + account, id!)
        keyspace.expire(prefix + "a:" + account, seconds: boundTTL)
        return .bound
    }

    /// Every replica asked for acknowledges at once (there are none to wait for).
    public func awaitReplicas(minimum: Int, timeoutMs: Int) throws(RedisError) -> (wanted: Int, acknowledged: Int) {
        try keyspace.reachable()
        return (minimum, minimum)
    }
}
