import SteemAuthCore

/// What the routes need of the session store, each call one round trip. Every rule (creation,
/// re-issue of an expired code, rotation after binding, the deny list) is the store's: a route
/// passes what it holds (the id, fresh values when asked for) and reads the outcome.
///
/// A view that would need a fresh id or code (a new session, an expired code, a rotation) and was
/// given none comes back with `needsFreshValues` having changed nothing: most requests draw no
/// random bytes. Implemented by `RedisSessionStore`, and in tests by `InMemorySessionStore`; the
/// contract suite (`SessionStoreContract`) holds both to the same behaviour.
public protocol SessionStore: AnyObject {
    /// The ask or report page: reads (and, where the rules say so, creates, re-issues or rotates) the
    /// session, and for a bound one its account's cached page. `bound`/`unboundCode`: what this worker
    /// last saw the session as (a hint: the store has the last word).
    func viewPage(id: SessionID, gzip: Bool, bound hint: BoundSessionHint?, unboundCode: String?, replacementID: SessionID?,
                  freshMemo: String?, now: Int64) throws(RedisError) -> SessionView

    /// The session for a status poll, verify or the report's JSON; never creates one. `unboundCode`: as in `viewPage`.
    func lookUp(id: SessionID, for purpose: SessionLookup, replacementID: SessionID?, freshMemo: String?, now: Int64,
                unboundCode: String?) throws(RedisError) -> SessionView

    /// Deletes a session and deny-lists its id, if there was one.
    @discardableResult
    func logout(id: SessionID, denyTTL: Int) throws(RedisError) -> LogoutOutcome

    /// Where a sign-in by signature starts (reads only).
    func signInState(id: SessionID) throws(RedisError) -> SignInState

    /// Counts an attempt that is about to reach the node; returns how many there have been, or nil
    /// when the session is gone or no longer waits for a proof (nothing is written then).
    func countSignInAttempt(id: SessionID) throws(RedisError) -> Int?

    /// Binds the session that owns `code` by a signature, through the same rule as a transfer:
    /// first proof wins, a bound session is never overwritten, the code is consumed.
    func bindBySignature(code: String, account: String, publicKey: String, level: ProofLevel, time: String,
                         boundTTL: Int, now: Int64) throws(RedisError) -> ClaimOutcome

    /// Waits up to `timeoutMs` for `minimum` replicas to hold what this connection wrote (a code
    /// shown must survive a failover).
    func awaitReplicas(minimum: Int, timeoutMs: Int) throws(RedisError) -> (wanted: Int, acknowledged: Int)
}

extension SessionStore {
    public func viewPage(id: SessionID, gzip: Bool, bound hint: BoundSessionHint?, replacementID: SessionID?,
                         freshMemo: String?, now: Int64) throws(RedisError) -> SessionView {
        try viewPage(id: id, gzip: gzip, bound: hint, unboundCode: nil, replacementID: replacementID, freshMemo: freshMemo, now: now)
    }

    public func lookUp(id: SessionID, for purpose: SessionLookup, replacementID: SessionID?, freshMemo: String?,
                       now: Int64) throws(RedisError) -> SessionView {
        try lookUp(id: id, for: purpose, replacementID: replacementID, freshMemo: freshMemo, now: now, unboundCode: nil)
    }
}

/// Where a sign-in by signature starts (one read, no writes).
public enum SignInState: Equatable, Sendable {
    case noSession
    case alreadyBound
    case codeExpired
    /// `requiredLevel`: an authorization waiting for this proof asked for an active-level one.
    case unbound(code: String, codeExpiresAt: Int64, attempts: Int, requiredLevel: ProofLevel)
}

public enum ClaimOutcome: String, Sendable {
    case bound
    case unknownOrExpiredCode = "unknown_or_expired_code"
    case sessionGone = "session_gone"
    case alreadyBound = "already_bound"
}

/// How long (seconds) an unbound session, a login code and a bound session live; a bound session's
/// lifetime is also how long a dead id stays deny-listed.
public struct SessionLifetimes: Sendable {
    public var unbound: Int, code: Int, deny: Int
    public init(unbound: Int, code: Int, deny: Int) { self.unbound = unbound; self.code = code; self.deny = deny }
    public init(_ config: AppConfig) { self.init(unbound: config.unboundTTL, code: config.codeTTL, deny: config.boundTTL) }
}

/// What a worker remembers of a session it served bound: the account and the proof, neither of which
/// changes while the session lives (a new binding is a new login, under a new id).
public struct BoundSessionHint: Sendable {
    public let account: String
    public let proof: BindingProof?
    public init(account: String, proof: BindingProof?) { self.account = account; self.proof = proof }
}


/// What a session is looked up for, besides a page: each reads only what its route shows, and only
/// a page creates a session (`view` of a page: see `SessionStore.viewPage`).
public enum SessionLookup: Sendable {
    /// The status poll: the state and, unbound, the code.
    case status
    /// nginx's auth_request: bound or not; never rotates an id.
    case verify
    /// report.json and the report's downloads: the bound account and its cached report's JSON.
    case report
}

/// What a logout found.
public enum LogoutOutcome: Equatable, Sendable {
    /// There was no session under that id: nothing was written.
    case noSession
    /// The session was deleted and its id deny-listed; the account it was bound to, if any.
    case ended(account: String?)
}
