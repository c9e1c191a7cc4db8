/// A request that cannot be answered as asked. Handlers throw it (typed throws: no box); the app
/// renders it once, in the endpoint's face (`WebApp.failureResponse`).
public struct HTTPFailure: Error, Sendable {
    public var status: Int
    /// What went wrong, in a few words: a JSON or plain-text error, an OAuth error's description,
    /// and a page's heading unless it has its own.
    public var reason: String
    /// A page's heading, a page's explanation, and where its link leads.
    public var heading: String
    public var message: String
    public var retryLink: String
    /// Sent as Retry-After.
    public var retryAfterSeconds: Int?
    /// A page that reloads itself after this long (a wait with a known end).
    public var refreshSeconds: Int?
    /// Headers the answer carries all the same (a rotated session's Set-Cookie, WWW-Authenticate).
    public var headers: [(String, String)]
    /// The OAuth error code (`invalid_grant`) an OAuth JSON answer carries; `reason` is its description.
    public var oauthError: String?

    public init(_ status: Int, _ reason: String, heading: String? = nil, message: String = "", retryLink: String = "/",
                retryAfterSeconds: Int? = nil, refreshSeconds: Int? = nil, headers: [(String, String)] = [], oauthError: String? = nil) {
        self.status = status; self.reason = reason; self.heading = heading ?? reason; self.message = message; self.retryLink = retryLink
        self.retryAfterSeconds = retryAfterSeconds; self.refreshSeconds = refreshSeconds; self.headers = headers; self.oauthError = oauthError
    }

    /// The same failure, carrying these headers too (a rotated session's new cookie).
    func adding(_ extra: [(String, String)]) -> HTTPFailure {
        var copy = self
        copy.headers += extra
        return copy
    }

    static let notFound = HTTPFailure(404, "Not found", message: "There is nothing at this address.")
    /// A session route asked with no session (or one that ended).
    static let noSession = HTTPFailure(401, "no session")
    /// A logged-in route asked by a visitor who is not.
    static let notLoggedIn = HTTPFailure(401, "not logged in")
    /// A state-changing form sent from another site.
    static let crossOrigin = HTTPFailure(403, "Forbidden", message: "This form must be sent from this site.", retryLink: "/steemauth")
    /// The session store cannot be reached (`SiteRoom.storeDown` counts and logs it).
    static let storeDown = HTTPFailure(503, "temporarily unavailable", heading: "Temporarily unavailable",
                                       message: "The login service cannot reach its session store right now. Please try again in a few seconds.",
                                       retryLink: "/steemauth", retryAfterSeconds: 2)
}
