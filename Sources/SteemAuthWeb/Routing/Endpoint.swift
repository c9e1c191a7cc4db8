import SteemAuthCore

/// Every address the site answers, named once: its path, the methods it takes, how its failures
/// look (`FailureFace`), whether it answers only under the public host, and its metrics label.
/// The raw value of a case with a path is that path's place in `routedPaths`, so the worker's
/// interned path lookup yields the endpoint with no string compared.
public enum Endpoint: Int, CaseIterable, Sendable {
    case ping, home, page, status, logout, reportJSON, reportCSV, unfollow, favicon, verify, refresh, signIn, healthz, metrics
    case oidcDiscovery, oidcJWKS, oidcAuthorize, oidcToken, oidcUserinfo, oidcEndSession, oidcConsent, oidcFreshStatus, oidcCancel
    /// `/steemauth/static/<name>`: one of the pool's static files, found by its prefix.
    case staticFile
    /// Any other address.
    case notFound

    /// The exact path, for the endpoints found by one.
    public var path: String? {
        switch self {
        case .ping: return "/ping"
        case .home: return "/"
        case .page: return "/steemauth"
        case .status: return "/steemauth/status"
        case .logout: return "/steemauth/logout"
        case .reportJSON: return "/steemauth/report.json"
        case .reportCSV: return "/steemauth/report.csv"
        case .unfollow: return "/steemauth/unfollow"
        case .favicon: return "/favicon.ico"
        case .verify: return "/steemauth/verify"
        case .refresh: return "/steemauth/refresh"
        case .signIn: return "/steemauth/signin"
        case .healthz: return "/healthz"
        case .metrics: return "/metrics"
        case .oidcDiscovery: return OIDCEndpoints.discovery
        case .oidcJWKS: return OIDCEndpoints.jwks
        case .oidcAuthorize: return OIDCEndpoints.authorize
        case .oidcToken: return OIDCEndpoints.token
        case .oidcUserinfo: return OIDCEndpoints.userinfo
        case .oidcEndSession: return OIDCEndpoints.endSession
        case .oidcConsent: return OIDCEndpoints.consent
        case .oidcFreshStatus: return OIDCEndpoints.freshStatus
        case .oidcCancel: return OIDCEndpoints.cancel
        case .staticFile, .notFound: return nil
        }
    }

    /// The paths the worker interns, in raw-value order (every case with a path comes first).
    public static let routedPaths: [String] = allCases.compactMap(\.path)

    /// The prefix of the static files' addresses.
    static let staticPrefix = "/steemauth/static/"
    /// A static file's name in its address.
    static func staticName(_ path: String) -> String { String(path.dropFirst(staticPrefix.count)) }

    /// The endpoint of a request: its interned path's place, else a static file's prefix, else none.
    static func of(routedPathIndex: Int?, path: String) -> Endpoint {
        if let routedPathIndex, let endpoint = Endpoint(rawValue: routedPathIndex) { return endpoint }
        return path.hasPrefix(staticPrefix) ? .staticFile : .notFound
    }

    public var methods: AllowedMethods {
        switch self {
        case .logout, .refresh, .signIn, .oidcToken, .oidcConsent, .oidcCancel: return .postOnly
        case .oidcUserinfo, .oidcEndSession: return .getOrPost
        default: return .getOrHead
        }
    }

    /// Whether the endpoint is part of the OpenID Connect provider (a 404 when it is off).
    var isOIDC: Bool { (Endpoint.oidcDiscovery.rawValue...Endpoint.oidcCancel.rawValue).contains(rawValue) }

    /// The browser's own routes answer only under the public host (421: a relaying site picks the
    /// Host header it sends); liveness, metrics, verify (nginx's subrequest), static files and the
    /// OpenID Connect token, userinfo, discovery and key routes (server to server, or public) do not ask.
    var answersOnlyPublicHost: Bool {
        switch self {
        case .home, .page, .status, .logout, .reportJSON, .reportCSV, .unfollow, .refresh, .signIn,
             .oidcAuthorize, .oidcConsent, .oidcFreshStatus, .oidcCancel, .oidcEndSession: return true
        default: return false
        }
    }

    /// How the endpoint's own failures look (a 405, 404 or 421 before it is reached is always a page).
    var face: FailureFace {
        switch self {
        case .status, .reportJSON, .signIn, .oidcFreshStatus: return .json
        case .oidcToken, .oidcUserinfo: return .oauthJSON
        case .reportCSV, .healthz, .metrics: return .plainText
        case .verify: return .bareStatus
        default: return .page
        }
    }

    /// Its label among the request metrics.
    var metricsRoute: PoolMetrics.Route {
        switch self {
        case .ping: return .ping
        case .home: return .home
        case .page: return .page
        case .status: return .status
        case .logout: return .logout
        case .reportJSON: return .reportJSON
        case .reportCSV: return .reportCSV
        case .unfollow: return .unfollow
        case .favicon, .staticFile: return .staticFile
        case .verify: return .verify
        case .refresh: return .refresh
        case .signIn: return .signIn
        case .healthz: return .healthz
        case .metrics: return .metrics
        case .oidcDiscovery, .oidcJWKS, .oidcAuthorize, .oidcToken, .oidcUserinfo, .oidcEndSession, .oidcConsent,
             .oidcFreshStatus, .oidcCancel: return .oidc
        case .notFound: return .other
        }
    }
}
