import SteemAuthCore

/// The OpenID Connect provider's state: authorizations parked in the visitor's session until a proof
/// binds, one-time codes and access tokens. Implemented by `RedisAuthorizationStore`, and in tests by
/// `InMemoryAuthorizationStore` (sharing its sessions with `InMemorySessionStore`).
public protocol AuthorizationStore: AnyObject {
    /// Reads only (`prompt=none` has no side effects).
    func authorizationState(id: SessionID, now: Int64) throws(RedisError) -> AuthorizationSessionState

    /// Parks an authorization in the session until a proof binds (see `SessionScripts.oidcPark`).
    /// False when the id is dead (logged out): the caller starts a new session.
    func parkAuthorization(id: SessionID, pending: [UInt8], flowHash: String, freshProof: Bool, level: ProofLevel,
                           expiresAt: Int64, freshMemo: String, now: Int64, unboundTTL: Int, codeTTL: Int) throws(RedisError) -> Bool

    /// The page view of a bound session with a parked authorization: takes it (exactly once) when
    /// this browser started it and the login meets it (see `SessionScripts.oidcTake`).
    func takeParkedAuthorization(id: SessionID, flowHash: String, freshMemo: String, now: Int64,
                                 codeTTL: Int) throws(RedisError) -> ParkedAuthorization

    /// Drops the authorization this browser parked in the session; its request (JSON), or nil.
    func cancelParkedAuthorization(id: SessionID, flowHash: String) throws(RedisError) -> [UInt8]?

    /// Where the fresh proof an authorization asked of a logged-in session stands (reads only).
    func freshProofState(id: SessionID) throws(RedisError) -> FreshProofState

    /// Keeps a one-time code's grant (under the code's hash) for `ttl` seconds.
    func storeAuthorizationCode(hash: String, grant: [UInt8], ttl: Int) throws(RedisError)

    /// One-time: the first call gets the grant and consumes the code; `usedTTL` is how long a replay
    /// is still recognised (and the token issued for it revoked).
    func redeemAuthorizationCode(hash: String, usedTTL: Int) throws(RedisError) -> CodeRedemption

    /// Keeps an access token's grant for `ttl` seconds, listed in the session whose login gave it
    /// (its logout or revocation ends the token), and remembers which token the code gave. False when
    /// that login has ended, or is now another account's, since the code was issued: no token then.
    /// A login keeps at most 32 live tokens; the oldest ends first.
    func storeAccessToken(hash: String, grant: [UInt8], ttl: Int, codeHash: String, session: String, account: String) throws(RedisError) -> Bool

    /// The grant an access token (by its hash) stands for, while it lives.
    func accessGrant(hash: String) throws(RedisError) -> [UInt8]?
}

/// Where an OpenID Connect authorization finds the visitor's session.
public enum AuthorizationSessionState: Equatable, Sendable {
    case denied                                           // a logged-out id: start a new session
    case none                                             // no session under this id
    case unbound
    case bound(account: String, method: String, authTime: Int64, level: ProofLevel)
}

/// What the page view of a bound session does with an authorization parked in it.
public enum ParkedAuthorization: Sendable {
    case none
    case expired(pending: [UInt8])                        // dropped
    case elsewhere(pending: [UInt8])                      // another browser started it: left alone
    case freshProof(account: String, code: String, codeExpiresAt: Int64, requiredLevel: ProofLevel, pending: [UInt8])
    case taken(account: String, method: String, authTime: Int64, level: ProofLevel, pending: [UInt8])
}

/// Where the fresh proof an authorization asked of a logged-in session stands.
public enum FreshProofState: Equatable, Sendable {
    case noSession
    case done(account: String)
    case waiting(account: String, code: String, expiresIn: Int, codeExpiresAt: Int64)
}

public enum CodeRedemption: Equatable, Sendable {
    case grant([UInt8])
    case replayed        // used before: the access token issued for it is revoked
    case unknown         // never issued, or expired
}

