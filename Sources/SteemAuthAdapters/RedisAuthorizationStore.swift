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
        let reply = try redis.evalTagged(SessionScripts.oidcLook, keys: [prefix + "d:" + id.hex, prefix + "s:" + id.hex], args: [])
        switch reply.tag {
        case "denied": return .denied
        case "none": return .none
        case "unbound": return .unbound
        case "bound" where reply.fields.count == 4:
            let method = reply.string(1) ?? "transfer"
            return .bound(account: reply.string(0) ?? "", method: method,
                          authTime: reply.string(2).flatMap { Int64($0) }.flatMap { $0 > 0 ? $0 : nil } ?? now,
                          level: ProofLevel.stored(reply.string(3).flatMap { $0.isEmpty ? nil : $0 }, method: method))
        default: throw reply.unexpected
        }
    }

    /// Parks an authorization in the session until a proof binds (see `SessionScripts.oidcPark`).
    /// False when the id is dead (logged out): the caller starts a new session.
    public func parkAuthorization(id: SessionID, pending: [UInt8], flowHash: String, freshProof: Bool, level: ProofLevel,
                                  expiresAt: Int64, freshMemo: String, now: Int64, unboundTTL: Int, codeTTL: Int) throws(RedisError) -> Bool {
        // The pending request is JSON from JSONEncoder: UTF-8 text.
        let reply = try redis.evalTagged(SessionScripts.oidcPark, keys: [
            prefix + "d:" + id.hex, prefix + "s:" + id.hex, prefix + "c:" + freshMemo, prefix + "cg:" + freshMemo], args: [
            prefix, id.hex, freshMemo, String(now), String(unboundTTL), String(codeTTL), String(decoding: pending, as: UTF8.self),
            flowHash, freshProof ? "1" : "", level.rawValue, String(expiresAt)])
        switch reply.tag {
        case "parked": return true
        case "denied": return false
        default: throw reply.unexpected
        }
    }

    /// The page view of a bound session with a parked authorization: takes it (exactly once) when
    /// this browser started it and the login meets it (see `SessionScripts.oidcTake`).
    public func takeParkedAuthorization(id: SessionID, flowHash: String, freshMemo: String, now: Int64,
                                        codeTTL: Int) throws(RedisError) -> ParkedAuthorization {
        let reply = try redis.evalTagged(SessionScripts.oidcTake, keys: [prefix + "s:" + id.hex, prefix + "c:" + freshMemo],
                                         args: [prefix, id.hex, flowHash, freshMemo, String(now), String(codeTTL)])
        func int(_ i: Int) -> Int64 { reply.string(i).flatMap { Int64($0) } ?? reply.integer(i) ?? 0 }
        switch reply.tag {
        case "none": return .none
        case "expired": return .expired(pending: reply.bytes(0) ?? [])
        case "elsewhere": return .elsewhere(pending: reply.bytes(0) ?? [])
        case "fresh" where reply.fields.count == 5:
            return .freshProof(account: reply.string(0) ?? "", code: reply.string(1) ?? "", codeExpiresAt: int(2),
                               requiredLevel: reply.string(4) == ProofLevel.active.rawValue ? .active : .posting, pending: reply.bytes(3) ?? [])
        case "ok" where reply.fields.count == 5:
            let method = reply.string(1) ?? "transfer"
            return .taken(account: reply.string(0) ?? "", method: method, authTime: int(2),
                          level: ProofLevel.stored(reply.string(3), method: method), pending: reply.bytes(4) ?? [])
        default: return .none
        }
    }

    /// Drops the authorization this browser parked in the session; its request (JSON), or nil.
    public func cancelParkedAuthorization(id: SessionID, flowHash: String) throws(RedisError) -> [UInt8]? {
        let reply = try redis.evalTagged(SessionScripts.oidcCancel, keys: [prefix + "s:" + id.hex], args: [prefix, id.hex, flowHash])
        switch reply.tag {
        case "none": return nil
        case "cancelled": if let pending = reply.bytes(0) { return pending }
        default: break
        }
        throw reply.unexpected
    }

    public func freshProofState(id: SessionID) throws(RedisError) -> FreshProofState {
        let reply = try redis.evalTagged(SessionScripts.oidcFreshState, keys: [prefix + "d:" + id.hex, prefix + "s:" + id.hex], args: [prefix])
        switch reply.tag {
        case "done" where reply.fields.count == 1: return .done(account: reply.string(0) ?? "")
        case "waiting" where reply.fields.count == 4:
            return .waiting(account: reply.string(0) ?? "", code: reply.string(1) ?? "", expiresIn: Int(reply.integer(2) ?? 0),
                            codeExpiresAt: reply.string(3).flatMap { Int64($0) } ?? 0)
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
        let reply = try redis.evalTagged(SessionScripts.oidcRedeem, keys: [prefix + "oc:" + hash, prefix + "ocu:" + hash],
                                         args: [prefix + "ot:", String(usedTTL)])
        switch reply.tag {
        case "ok": if let grant = reply.bytes(0) { return .grant(grant) }
        case "replayed": return .replayed
        case "unknown": return .unknown
        default: break
        }
        throw reply.unexpected
    }

    /// Keeps an access token's grant for `ttl` seconds, listed in the session whose login gave it
    /// (its logout or revocation ends the token), and remembers which token the code gave. False when
    /// that login has ended, or is now another account's, since the code was issued: no token then.
    /// A login keeps at most 32 live tokens; the oldest ends first.
    public func storeAccessToken(hash: String, grant: [UInt8], ttl: Int, codeHash: String, session: String, account: String) throws(RedisError) -> Bool {
        let reply = try redis.evalTagged(SessionScripts.oidcToken, keys: [prefix + "s:" + session, prefix + "ot:" + hash, prefix + "ocu:" + codeHash],
                                         args: [prefix, hash, String(decoding: grant, as: UTF8.self), String(ttl), account])
        switch reply.tag {
        case "stored": return true
        case "ended": return false
        default: throw reply.unexpected
        }
    }

    public func accessGrant(hash: String) throws(RedisError) -> [UInt8]? {
        if case .bulk(let grant) = try redis.command(["GET", prefix + "ot:" + hash]).checked() { return grant }
        return nil
    }
}
