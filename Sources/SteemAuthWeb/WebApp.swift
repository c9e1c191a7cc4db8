import FastCGIKit
import Logging
import SteemAuthAdapters
import SteemAuthCore

/// One worker's application: finds a request's endpoint in the route table (`Endpoint`), checks its
/// method and host, hands it to the room that answers it, renders a failure in the endpoint's face
/// and records the request's metrics. The rooms and the `Site` they share are made once per worker.
public struct WebApp: RequestHandler {
    let site: Site
    let pages: Pages
    let login: LoginRoutes
    let signIn: SignInRoutes
    let report: ReportRoutes
    let oidc: OIDCRoutes?
    let ops: OpsRoutes

    /// `frozen`: the pages the pool's master froze before it forked (see `frozenPageSet`); without
    /// them each page is frozen on its first view. `stores`: where sessions, reports and grants are
    /// kept (by default the worker's own Redis connection). `clock`: what time it is for the routes.
    public init(config: AppConfig, templates: SiteTemplates, logger: Logger, metrics: PoolMetrics? = nil, oidc provider: OIDCProvider? = nil,
                frozen: FrozenPageSet? = nil, stores: WebStores? = nil, clock: any TimeSource = SystemClock()) {
        let site = Site(config: config, templates: templates, logger: logger, metrics: metrics, frozen: frozen, stores: stores, clock: clock)
        let pages = Pages(site: site)
        let report = ReportRoutes(site: site, pages: pages, reports: ReportCache(site: site, service: ReportService(config: config, logger: site.logger)))
        let oidc = provider.map { OIDCRoutes(site: site, pages: pages, provider: $0) }
        self.site = site; self.pages = pages; self.report = report; self.oidc = oidc
        login = LoginRoutes(site: site, pages: pages, report: report, oidc: oidc)
        signIn = SignInRoutes(site: site, accountKeys: AccountKeysService(config: config, logger: site.logger))
        ops = OpsRoutes(site: site)
    }

    /// The paths the worker interns: the route table's, so a request's `routedPathIndex` is its
    /// endpoint's raw value.
    public var routedPaths: [String] { Endpoint.routedPaths }

    public var afterResponse: AfterResponse { site.requestScope.afterResponse }

    /// A FastCGI peer not in STEEMAUTH_FCGI_ALLOW was closed unread (the worker logged it).
    public mutating func refusedPeer(_ address: String) { site.metrics?.count(.fcgiRefusedPeer) }

    /// Every frozen page, made at once by the pool's master before it forks (see `Pages.frozenPageSet`).
    public func frozenPageSet() -> FrozenPageSet { pages.frozenPageSet() }

    public mutating func handle(_ request: Request) -> Response {
        site.requestScope.requestID = request.logID
        site.requestScope.afterResponse = .none
        let endpoint = resolve(request)
        guard let metrics = site.metrics else { return respond(endpoint, request) }
        let started = monotonicMicroseconds()
        let response = respond(endpoint, request)
        metrics.record(route: endpoint.metricsRoute, status: response.status, microseconds: monotonicMicroseconds() - started)
        return response
    }

    /// The endpoint that answers the request: none for the OpenID Connect routes while the provider
    /// is off, or for a static file not in the allow-list.
    func resolve(_ request: Request) -> Endpoint {
        let endpoint = Endpoint.of(routedPathIndex: request.routedPathIndex, path: request.path)
        if endpoint == .staticFile { return site.templates.staticFile(Endpoint.staticName(request.path)) != nil ? .staticFile : .notFound }
        if oidc == nil && endpoint.isOIDC { return .notFound }
        return endpoint
    }

    /// The endpoint's answer, or its failure rendered: a refusal before the endpoint is reached (an
    /// unknown address, a method it does not take, another host) is a page, whatever its face.
    func respond(_ endpoint: Endpoint, _ request: Request) -> Response {
        do throws(HTTPFailure) { try admit(endpoint, request) } catch { return site.failureResponse(error, face: .page) }
        do throws(HTTPFailure) { return try dispatch(endpoint, request) } catch { return site.failureResponse(error, face: endpoint.face) }
    }

    func admit(_ endpoint: Endpoint, _ request: Request) throws(HTTPFailure) {
        if endpoint == .notFound { throw .notFound }
        guard endpoint.methods.allow(request.method) else {
            throw HTTPFailure(405, "Method not allowed", message: "This address does not accept \(request.method.prefix(16)) requests.",
                              headers: [("Allow", endpoint.methods.allowHeader)])
        }
        if endpoint.answersOnlyPublicHost && !request.hostIs(site.publicHostBytes) {
            // Every page, link and cookie of ours belongs to the public origin. Only host names are
            // compared: nginx's `$host` has no port, and a proxy may map 443 elsewhere.
            site.logger.notice("request refused: another host", metadata: ["path": "\(request.path)", "host": "\(LogText.escape(request.host ?? "-"))"])
            throw HTTPFailure(421, "Misdirected request", message: "This login service answers at \(site.publicOrigin).",
                              retryLink: site.publicOrigin.description + "/")
        }
    }

    func dispatch(_ endpoint: Endpoint, _ request: Request) throws(HTTPFailure) -> Response {
        switch endpoint {
        case .ping: return ops.pong
        case .home: return login.home(request)
        case .page: return try login.page(request)
        case .status: return try login.status(request)
        case .logout: return try login.logout(request)
        case .reportJSON: return try report.reportJSON(request)
        case .reportCSV: return try report.reportCSV(request)
        case .unfollow: return try report.unfollow(request)
        case .verify: return try report.verify(request)
        case .refresh: return try report.refresh(request)
        case .signIn: return try signIn.signIn(request)
        case .favicon: return try ops.staticFile("favicon.svg")
        case .staticFile: return try ops.staticFile(Endpoint.staticName(request.path))
        case .healthz: return ops.health(request)
        case .metrics: return ops.metricsPage(request)
        case .oidcDiscovery, .oidcJWKS, .oidcAuthorize, .oidcToken, .oidcUserinfo, .oidcEndSession, .oidcConsent, .oidcFreshStatus, .oidcCancel:
            guard let oidc else { throw .notFound }
            return try oidc.route(endpoint, request)
        case .notFound: throw .notFound
        }
    }
}
