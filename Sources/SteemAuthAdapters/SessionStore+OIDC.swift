import SteemAuthCore

/// Where an OpenID Connect authorization finds the visitor's session.
public enum AuthorizationSessionState: Equatable, Sendable {
    case denied                                           // a logged-out id: start a new session
    case bound(account: String, method: String, authTime: Int64)
    case unbound                                          // only looked (prompt=none)
    case pending                                          // kept with the session until it is bound
}

/// A bound session's pending authorization, taken (removed) by the page view that continues it.
public struct TakenAuthorization: Sendable {
    public var account: String
    public var method: String
    public var authTime: Int64
    public var pending: [UInt8]
}

public enum CodeRedemption: Equatable, Sendable {
    case grant([UInt8])
    case replayed        // used before: the access token issued for it is revoked
    case unknown         // never issued, or expired
}

/// The OpenID Connect provider's state in Redis. Codes and access tokens are stored under the
/// SHA-256 of their value (`oc:`, `ocu:`, `ot:`), so a copy of the database holds no usable token.
extension SessionStore {
    public func beginAuthorization(id: SessionID, freshMemo: String, now: Int64, unboundTTL: Int, codeTTL: Int,
                                   pending: [UInt8]?) throws(RedisError) -> AuthorizationSessionState {
        // The pending request is JSON from JSONEncoder: UTF-8 text.
        let reply = try redis.eval(SessionScripts.oidcBegin, args: [prefix, id.hex, freshMemo, String(now), String(unboundTTL), String(codeTTL),
                                                                     String(decoding: pending ?? [], as: UTF8.self)]).checked()
        let items = reply.array ?? []
        switch items.first?.string {
        case "denied": return .denied
        case "unbound": return .unbound
        case "pending": return .pending
        case "bound" where items.count == 4:
            return .bound(account: items[1].string ?? "", method: items[2].string ?? "transfer",
                          authTime: items[3].string.flatMap { Int64($0) } ?? now)
        default: throw RedisError(kind: .server, message: "unexpected oidc_begin reply \(reply)")
        }
    }

    public func takePendingAuthorization(id: SessionID) throws(RedisError) -> TakenAuthorization? {
        let items = try redis.eval(SessionScripts.oidcTake, args: [prefix, id.hex]).checked().array ?? []
        guard items.count == 4, case .bulk(let pending) = items[3] else { return nil }
        return TakenAuthorization(account: items[0].string ?? "", method: items[1].string ?? "transfer",
                                  authTime: items[2].string.flatMap { Int64($0) } ?? 0, pending: pending)
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

    /// Keeps an access token's grant for `ttl` seconds, and remembers which token the code gave.
    public func storeAccessToken(hash: String, grant: [UInt8], ttl: Int, codeHash: String) throws(RedisError) {
        let ex = [Array("EX".utf8), Array(String(ttl).utf8)]
        let replies = try redis.pipeline(binary: [
            [Array("SET".utf8), Array((prefix + "ot:" + hash).utf8), grant] + ex,
            [Array("SET".utf8), Array((prefix + "ocu:" + codeHash).utf8), Array(hash.utf8)] + ex + [Array("XX".utf8)],
        ])
        _ = try replies[0].checked()
    }

    public func accessGrant(hash: String) throws(RedisError) -> [UInt8]? {
        if case .bulk(let grant) = try redis.command(["GET", prefix + "ot:" + hash]).checked() { return grant }
        return nil
    }
}
