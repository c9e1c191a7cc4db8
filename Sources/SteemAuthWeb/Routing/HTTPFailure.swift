/// A request that cannot be answered as asked. Handlers throw it (typed throws: no box); the app
/// renders it once, in the endpoint's face (`WebApp.failureResponse`).
public struct HTTPFailure: Error, Sendable {
    public var status: Int
    /// What went wrong, in a few words: a page's heading, a JSON or plain-text error, an OAuth
    /// error's description.
    public var reason: String
    /// A page's explanation, and where its link leads.
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

    public init(_ status: Int, _ reason: String, message: String = "", retryLink: String = "/", retryAfterSeconds: Int? = nil,
                refreshSeconds: Int? = nil, headers: [(String, String)] = [], oauthError: String? = nil) {
        self.status = status; self.reason = reason; self.message = message; self.retryLink = retryLink
        self.retryAfterSeconds = retryAfterSeconds; self.refreshSeconds = refreshSeconds; self.headers = headers; self.oauthError = oauthError
    }

    /// The same failure, carrying these headers too (a rotated session's new cookie).
    func adding(_ extra: [(String, String)]) -> HTTPFailure {
        var copy = self
        copy.headers += extra
        return copy
    }

    static let notFound = HTTPFailure(404, "Not found", message: "There is nothing at this address.")
}
