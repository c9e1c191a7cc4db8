import SteemAuthCore

/// The OpenID Connect provider's state in Redis. Codes and access tokens are stored under the
/// SHA-256 of their value (`oc:`, `ocu:`, `ot:`), so a copy of the database holds no usable token.
public final class RedisAuthorizationStore: AuthorizationStore {
    private let redis: RedisConnection
    public let prefix: String

    public init(redis: RedisConnection, prefix: String) {
        self.redis = redis
        self.prefix = prefix
    }

    /// Reads only (`prompt=none` has no side effects).
    public func authorizationState(id: SessionID, now: Int64) throws(RedisError) -> AuthorizationSessionState {
        let reply = try redis.eval(SessionScripts.oidcLook, args: [prefix, id.hex]).checked()
        let items = reply.array ?? []
        switch items.first?.string {
        case "denied": return .denied
        case "none": return .none
        case "unbound": return .unbound
        case "bound" where items.count == 5:
            let method = items[2].string ?? "transfer"
            return .bound(account: items[1].string ?? "", method: method,
                          authTime: items[3].string.flatMap { Int64($0) }.flatMap { $0 > 0 ? $0 : nil } ?? now,
                          level: ProofLevel.stored(items[4].string.flatMap { $0.isEmpty ? nil : $0 }, method: method))
        default: throw RedisError(kind: .server, message: "unexpected oidc_look reply \(reply)")
        }
    }

    /// Parks an authorization in the session until a proof binds (see `SessionScripts.oidcPark`).
    /// False when the id is dead (logged out): the caller starts a new session.
    public func parkAuthorization(id: SessionID, pending: [UInt8], flowHash: String, freshProof: Bool, level: ProofLevel,
                                  expiresAt: Int64, freshMemo: String, now: Int64, unboundTTL: Int, codeTTL: Int) throws(RedisError) -> Bool {
        // The pending request is JSON from JSONEncoder: UTF-8 text.
        let reply = try redis.eval(SessionScripts.oidcPark, args: [
            prefix, id.hex, freshMemo, String(now), String(unboundTTL), String(codeTTL), String(decoding: pending, as: UTF8.self),
            flowHash, freshProof ? "1" : "", level.rawValue, String(expiresAt)]).checked()
        switch reply.array?.first?.string {
        case "parked": return true
        case "denied": return false
        default: throw RedisError(kind: .server, message: "unexpected oidc_park reply \(reply)")
        }
    }

    /// The page view of a bound session with a parked authorization: takes it (exactly once) when
    /// this browser started it and the login meets it (see `SessionScripts.oidcTake`).
    public func takeParkedAuthorization(id: SessionID, flowHash: String, freshMemo: String, now: Int64,
                                        codeTTL: Int) throws(RedisError) -> ParkedAuthorization {
        let items = try redis.eval(SessionScripts.oidcTake, args: [prefix, id.hex, flowHash, freshMemo, String(now), String(codeTTL)])
            .checked().array ?? []
        func bytes(_ i: Int) -> [UInt8] { if i < items.count, case .bulk(let b) = items[i] { return b }; return [] }
        func int(_ i: Int) -> Int64 { i < items.count ? (items[i].string.flatMap { Int64($0) } ?? items[i].integer ?? 0) : 0 }
        switch items.first?.string {
        case "expired": return .expired(pending: bytes(1))
        case "elsewhere": return .elsewhere(pending: bytes(1))
        case "fresh" where items.count == 6:
            return .freshProof(account: items[1].string ?? "", code: items[2].string ?? "", codeExpiresAt: int(3),
                               requiredLevel: items[5].string == ProofLevel.active.rawValue ? .active : .posting, pending: bytes(4))
        case "ok" where items.count == 6:
            let method = items[2].string ?? "transfer"
            return .taken(account: items[1].string ?? "", method: method, authTime: int(3),
                          level: ProofLevel.stored(items[4].string, method: method), pending: bytes(5))
        default: return .none
        }
    }

    /// Drops the authorization this browser parked in the session; its request (JSON), or nil.
    public func cancelParkedAuthorization(id: SessionID, flowHash: String) throws(RedisError) -> [UInt8]? {
        let items = try redis.eval(SessionScripts.oidcCancel, args: [prefix, id.hex, flowHash]).checked().array ?? []
        if let first = items.first, case .bulk(let pending) = first { return pending }
        return nil
    }

    public func freshProofState(id: SessionID) throws(RedisError) -> FreshProofState {
        let items = try redis.eval(SessionScripts.oidcFreshState, args: [prefix, id.hex]).checked().array ?? []
        switch items.first?.string {
        case "done" where items.count == 2: return .done(account: items[1].string ?? "")
        case "waiting" where items.count == 5:
            return .waiting(account: items[1].string ?? "", code: items[2].string ?? "", expiresIn: Int(items[3].integer ?? 0),
                            codeExpiresAt: items[4].string.flatMap { Int64($0) } ?? 0)
        default: return .noSession
        }
    }

    public func storeAuthorizationCode(hash: String, grant: [UInt8], ttl: Int) throws(RedisError) {
        _ = try redis.pipeline(binary: [[Array("SET".utf8), Array((prefix + "oc:" + hash).utf8), grant, Array("EX".utf8), Array(String(ttl).utf8)]])
            .first?.checked()
    }

    /// One-time: the first call gets the grant and consumes the code; `usedTTL` is how long a replay
    /// is still recognised (and the token issued for it revoked).
    public func redeemAuthorizationCode(hash: String, usedTTL: Int) throws(RedisError) -> CodeRedemption {
        let reply = try redis.eval(SessionScripts.oidcRedeem, args: [prefix + "oc:" + hash, prefix + "ocu:" + hash,
                                                                      prefix + "ot:", String(usedTTL)]).checked()
        let items = reply.array ?? []
        switch items.first?.string {
        case "ok" where items.count == 2:
            if case .bulk(let grant) = items[1] { return .grant(grant) }
            throw RedisError(kind: .server, message: "unexpected oidc_redeem reply")
        case "replayed": return .replayed
        case "unknown": return .unknown
        default: throw RedisError(kind: .server, message: "unexpected oidc_redeem reply \(reply)")
        }
    }

    /// Keeps an access token's grant for `ttl` seconds, listed in the session whose login gave it
    /// (its logout or revocation ends the token), and remembers which token the code gave. False when
    /// that login has ended, or is now another account's, since the code was issued: no token then.
    /// A login keeps at most 32 live tokens; the oldest ends first.
    public func storeAccessToken(hash: String, grant: [UInt8], ttl: Int, codeHash: String, session: String, account: String) throws(RedisError) -> Bool {
        try redis.eval(SessionScripts.oidcToken, args: [prefix, session, hash, String(decoding: grant, as: UTF8.self), String(ttl), codeHash, account])
            .checked().integer == 1
    }

    public func accessGrant(hash: String) throws(RedisError) -> [UInt8]? {
        if case .bulk(let grant) = try redis.command(["GET", prefix + "ot:" + hash]).checked() { return grant }
        return nil
    }
}
