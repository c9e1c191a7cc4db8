import SteemAuthCore

/// What a session request learned from its one Redis round trip.
public struct SessionView: Equatable, Sendable {
    public enum State: Equatable, Sendable {
        case denied                             // logged out or rotated away: the id is dead
        case none                               // no live session (status/verify never create one)
        case unbound(memo: String, expiresIn: Int)
        case bound(account: String, proof: BindingProof?)
        case rotated(account: String, proof: BindingProof?)   // bound, and the id was just replaced
    }
    public var state: State
    public var behindSeconds: Double?
    /// The bound account's cached report, fetched in the same round trip: its rendered HTML in
    /// page mode, its JSON in report mode.
    public var cachedReport: [UInt8]? = nil
    /// Page mode without gzip: the cached page's HTML as Redis sent it, to be written out as is.
    public var cachedPage: (any StoredPageBytes)? = nil
    /// `cachedReport` is the stored deflate segment of the report's HTML (see DeflateSegment.stored).
    public var cachedReportIsDeflate = false
    /// When the unbound session's current code expires (unix seconds): part of the sign-in challenge.
    public var codeExpiresAt: Int64? = nil
    /// This request created the session and its code (the first view of the ask page).
    public var createdSession = false
    /// Nothing was read or changed: the script needs a fresh id or code (`view` was called without).
    public var needsFreshValues = false
    /// Page mode: the OpenID Connect authorization waiting for this session's proof (its JSON).
    public var oidcPending: [UInt8]? = nil

    public init(state: State, behindSeconds: Double?, cachedReport: [UInt8]? = nil) {
        self.state = state
        self.behindSeconds = behindSeconds
        self.cachedReport = cachedReport
    }
}

/// What proved a binding (the audit trail shown on the report page): a transfer's transaction, or a
/// wallet signature by a key of the account.
public struct BindingProof: Equatable, Sendable {
    public enum Method: String, Sendable { case transfer, signature }
    public var block: Int64
    public var transactionID: String
    public var time: String
    public var method: Method = .transfer
    public var publicKey: String = ""

    public init(block: Int64, transactionID: String, time: String, method: Method = .transfer, publicKey: String = "") {
        self.block = block
        self.transactionID = transactionID
        self.time = time
        self.method = method
        self.publicKey = publicKey
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


/// The bytes of a cached page as the store holds them, written to the client without a copy (for
/// Redis, hiredis's own reply buffer). A class: a view carries one reference, not a copy of the page.
public protocol StoredPageBytes: AnyObject, Sendable {
    var count: Int { get }
    func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R
}

extension RedisBulkReply: StoredPageBytes {}

extension SessionView {
    /// Equal views hold equal pages (byte for byte, wherever each is kept).
    public static func == (a: SessionView, b: SessionView) -> Bool {
        let samePage: Bool
        switch (a.cachedPage, b.cachedPage) {
        case (nil, nil): samePage = true
        case (let x?, let y?): samePage = x.withUnsafeBytes { xb in y.withUnsafeBytes { yb in xb.elementsEqual(yb) } }
        default: samePage = false
        }
        return samePage && a.state == b.state && a.behindSeconds == b.behindSeconds && a.cachedReport == b.cachedReport
            && a.cachedReportIsDeflate == b.cachedReportIsDeflate && a.codeExpiresAt == b.codeExpiresAt
            && a.createdSession == b.createdSession && a.needsFreshValues == b.needsFreshValues && a.oidcPending == b.oidcPending
    }
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
