import FoundationEssentials
import FastCGIKit
import Logging
import SteemAuthAdapters
import SteemAuthCore

/// One worker's application: routes a request to its page. Holds the worker's own Redis connection
/// (opened after fork, never shared).
public struct WebApp: RequestHandler {
    let config: AppConfig
    let templates: SiteTemplates
    let signer: CookieSigner
    let cookie: CookieAttributes
    let store: SessionStore
    var logger: Logger
    let chainName: String
    let reports: ReportService
    let accountKeys: AccountKeysService
    /// This worker's compressor for the small per-request parts of a gzip page (one stream, reset per use).
    let deflate = GzipDeflate(level: 1, small: true)
    let metrics: PoolMetrics?
    /// The one origin visitors use (STEEMAUTH_PUBLIC_ORIGIN): what the signature challenge names and
    /// what a browser POST's Origin must be. Never taken from the request.
    let publicOrigin: PublicOrigin
    let publicHostBytes: [UInt8]
    /// The OpenID Connect provider, when STEEMAUTH_OIDC_ISSUER is set.
    let oidc: OIDCProvider?
    /// The empty final block that ends every gzip page (its per-request values go in as stored
    /// blocks, `GzipMemberWriter.appendUncompressed`: a few bytes each, no compression work).
    let finalDeflateBlock = GzipDeflate(level: 0, small: true).segment("", final: true)
    let frozenPages = FrozenPages()
    /// The liveness answer. This and the fixed headers below are the worker's own, made when it
    /// starts: a static's every use is a call into the runtime (swift_once), on every request.
    let pong = Response.fixed(status: 200, prepared: PreparedHeaders([("Content-Type", "text/plain")]), body: Array("pong\n".utf8))
    /// The front door's redirect, made once (a new visitor's adds a Set-Cookie to its headers).
    let homeRedirect = Response.fixed(status: 302, prepared: PreparedHeaders(Self.sessionHeaders + [("Location", "/steemauth")]), body: [])
    /// The request being handled, for its log lines' id (looked up only when a line is written), and
    /// what the worker should do once its response is written (trim the heap, or recycle).
    final class RequestScope: @unchecked Sendable {    // one worker process, one thread
        var requestID = RequestLogID.none
        var afterResponse = AfterResponse.none
    }
    let requestScope = RequestScope()

    public var afterResponse: AfterResponse { requestScope.afterResponse }

    /// `frozen`: the pages the pool's master froze before it forked (see `frozenPageSet`); without
    /// them each page is frozen on its first view.
    public init(config: AppConfig, templates: SiteTemplates, logger: Logger, metrics: PoolMetrics? = nil, oidc: OIDCProvider? = nil,
                frozen: FrozenPageSet? = nil) {
        if let frozen {
            frozenPages.pages = frozen.pages
            frozenPages.compressedChunks = frozen.compressedChunks
        }
        self.metrics = metrics
        self.oidc = oidc
        publicOrigin = config.publicOrigin ?? .unconfigured
        publicHostBytes = Array(publicOrigin.host.utf8)
        securityHeaders = Self.securityHeaders(for: publicOrigin)
        pageHeaders = PreparedHeaders(
            [("Content-Type", "text/html; charset=utf-8"), ("Cache-Control", "no-store"), ("Vary", "Accept-Encoding, Cookie")] + securityHeaders)
        gzipPageHeaders = PreparedHeaders(
            [("Content-Type", "text/html; charset=utf-8"), ("Content-Encoding", "gzip"), ("Cache-Control", "no-store"),
             ("Vary", "Accept-Encoding, Cookie")] + securityHeaders)
        self.config = config
        self.templates = templates
        var logger = logger
        // Every log line of a request carries nginx's $request_id, looked up only when a line is written.
        logger.handler.metadataProvider = Logger.MetadataProvider { [requestScope] in
            requestScope.requestID.requestID.map { ["request_id": .string($0.description)] } ?? [:]
        }
        self.logger = logger
        signer = CookieSigner(currentKey: config.secret, previousKey: config.previousSecret, mac: Blake2b.cookieMAC)
        cookie = CookieAttributes(maxAgeSeconds: config.boundTTL)
        let redis = RedisConnection(endpoint: config.redis, sentinelPassword: config.redisSentinelPassword, sentinelUser: config.redisSentinelUser)
        redis.onFailover = { [logger, metrics] address in
            metrics?.count(.redisFailover)
            logger.warning("redis: the master moved (failover)", metadata: ["master": "\(address)"])
        }
        store = SessionStore(redis: redis, prefix: config.redisPrefix, chain: config.chain, lifetimes: SessionLifetimes(config))
        chainName = config.chain == .steem ? "Steem" : "Hive"
        reports = ReportService(config: config, logger: logger)
        accountKeys = AccountKeysService(config: config, logger: logger)
    }

    public mutating func handle(_ request: Request) -> Response {
        requestScope.requestID = request.logID
        requestScope.afterResponse = .none
        guard let metrics else { return route(request).1 }
        let started = monotonicMicroseconds()
        let (name, response) = route(request)
        metrics.record(route: name, status: response.status, microseconds: monotonicMicroseconds() - started)
        return response
    }

    func route(_ request: Request) -> (PoolMetrics.Route, Response) {
        let path = request.path
        switch path {
        case "/ping": return (.ping, only(.getOrHead, request) { pong })
        case "/": return (.home, only(.getOrHead, request) { misdirected(request) ?? home(request) })
        case "/steemauth": return (.page, only(.getOrHead, request) { misdirected(request) ?? page(request) })
        case "/steemauth/status": return (.status, only(.getOrHead, request) { misdirected(request) ?? status(request) })
        case "/steemauth/logout": return (.logout, only(.postOnly, request) { misdirected(request) ?? logout(request) })
        case "/steemauth/report.json": return (.reportJSON, only(.getOrHead, request) { misdirected(request) ?? reportJSON(request) })
        case "/steemauth/report.csv": return (.reportCSV, only(.getOrHead, request) { misdirected(request) ?? reportCSV(request) })
        case "/steemauth/unfollow": return (.unfollow, only(.getOrHead, request) { misdirected(request) ?? unfollow(request) })
        case "/favicon.ico": return (.staticFile, only(.getOrHead, request) { staticResponse("favicon.svg") })
        case "/steemauth/verify": return (.verify, only(.getOrHead, request) { verify(request) })
        case "/steemauth/refresh": return (.refresh, only(.postOnly, request) { misdirected(request) ?? refresh(request) })
        case "/steemauth/signin": return (.signIn, only(.postOnly, request) { misdirected(request) ?? signIn(request) })
        case "/healthz": return (.healthz, only(.getOrHead, request) { health(request) })
        case "/metrics": return (.metrics, only(.getOrHead, request) { metricsPage(request) })
        default:
            if let answered = oidcRoute(request) { return answered }
            if path.hasPrefix("/steemauth/static/"), templates.staticFile(String(path.dropFirst(18))) != nil {
                return (.staticFile, only(.getOrHead, request) { staticResponse(String(path.dropFirst(18))) })
            }
            return (.other, htmlError(404, "Not found", "There is nothing at this address.", retry: "/"))
        }
    }

    /// 421 for a page, status or form route asked for under another host name (a relaying site picks
    /// the Host header it sends): every page, link and cookie of ours belongs to the public origin.
    /// Only host names are compared: nginx's `$host` has no port, and a proxy may map 443 elsewhere.
    func misdirected(_ request: Request) -> Response? {
        if request.hostIs(publicHostBytes) { return nil }
        logger.notice("request refused: another host", metadata: ["path": "\(request.path)", "host": "\(LogText.escape(request.host ?? "-"))"])
        return htmlError(421, "Misdirected request", "This login service answers at \(publicOrigin).", retry: publicOrigin.description + "/")
    }

    /// One of the pool's own static files (an allow-list read at start-up), or a 404 page.
    func staticResponse(_ name: String) -> Response {
        guard let file = templates.staticFile(name) else { return htmlError(404, "Not found", "There is nothing at this address.", retry: "/") }
        return Response(status: 200, headers: [("Content-Type", file.contentType), ("Cache-Control", "public, max-age=3600"),
                                               ("X-Content-Type-Options", "nosniff")], body: file.body)
    }

    /// Whether the client may read /metrics (and /healthz's reasons): STEEMAUTH_METRICS_ALLOW.
    func isMetricsClient(_ request: Request) -> Bool {
        config.metricsAllow.contains("any") || config.metricsAllow.contains(request.remoteAddress ?? "")
    }

    /// Prometheus text: the pool's shared counters and the watcher's numbers from Redis.
    /// Loopback only by default (STEEMAUTH_METRICS_ALLOW); nginx restricts it further.
    func metricsPage(_ request: Request) -> Response {
        guard isMetricsClient(request) else {
            return Response(status: 403, contentType: "text/plain", body: "forbidden\n")
        }
        guard let metrics else { return Response(status: 404, contentType: "text/plain", body: "metrics are off\n") }
        var snapshot: PoolMetrics.WatcherSnapshot? = nil
        if let maps = try? store.watcherCounters(), maps.count == 4 {
            snapshot = PoolMetrics.WatcherSnapshot()
            snapshot!.state = maps[0]; snapshot!.claims = maps[1]; snapshot!.rejections = maps[2]; snapshot!.rpc = maps[3]
        }
        return Response(status: 200, contentType: "text/plain; version=0.0.4", body: metrics.render(watcher: snapshot, redisMaster: store.redis.masterAddress),
                        headers: [("Cache-Control", "no-store")])
    }

    // MARK: routes

    /// `GET /`: no Redis I/O at all; a new signed id when the visitor has none.
    func home(_ request: Request) -> Response {
        if signer.sessionID(cookieHeader: request.cookie) != nil { return homeRedirect }
        return Response(status: 302, prepared: homeRedirect.prepared, setCookie: newCookie(), body: [])
    }

    func page(_ request: Request) -> Response {
        guard let id = signer.sessionID(cookieHeader: request.cookie) else { return restartSession(request) }
        let view: SessionView, replacement: SessionID
        let hint = frozenPages.sessions[id]
        do {
            (view, replacement) = try withFreshValuesIfAsked(id) { replacementID, freshMemo throws(RedisError) in
                try store.viewPage(id: id, gzip: request.acceptsGzip, bound: hint?.bound, unboundCode: hint?.unboundCode,
                                   replacementID: replacementID, freshMemo: freshMemo, now: unixSeconds())
            }
        } catch { return redisDown(error, html: true) }
        remember(view.state, id: id, replacement: replacement, hint: hint, proofRead: true)
        switch view.state {
        case .denied, .none:
            return restartSession(request)
        case .unbound(let memo, let expiresIn):
            if view.createdSession { waitForReplica() }
            return askPage(memo: memo, expiresIn: expiresIn, behind: view.behindSeconds, forApp: waitingClientName(view.oidcPending),
                           gzip: request.acceptsGzip)
        case .bound(let account, let proof):
            if view.oidcPending != nil, let onward = continueAuthorization(request, sessionID: id, extra: []) { return onward }
            return reportPage(account: account, proof: proof, view: view, gzip: request.acceptsGzip, extra: [])
        case .rotated(let account, let proof):
            logger.info("session rotated after binding", metadata: ["account": "\(account)"])
            let extra = [("Set-Cookie", setCookie(replacement))]
            if view.oidcPending != nil, let onward = continueAuthorization(request, sessionID: replacement, extra: extra) { return onward }
            return reportPage(account: account, proof: proof, view: view, gzip: request.acceptsGzip, extra: extra)
        }
    }

    func status(_ request: Request) -> Response {
        guard let id = signer.sessionID(cookieHeader: request.cookie) else { return json(401, #"{"error":"no session"}"#) }
        let view: SessionView, replacement: SessionID
        let hint = frozenPages.sessions[id]
        do { (view, replacement) = try lookUp(id, .status, unboundCode: hint?.unboundCode) } catch { return redisDown(error, html: false) }
        remember(view.state, id: id, replacement: replacement, hint: hint, proofRead: false)
        let behind = JSONText.optionalNumber(view.behindSeconds)
        switch view.state {
        case .denied, .none:
            return json(401, #"{"error":"no session"}"#)
        case .unbound(let memo, let expiresIn):
            // Written as bytes: every unbound visitor polls this route.
            var body = [UInt8](); body.reserveCapacity(320)
            body.appendLiteral(#"{"bound":false,"account":null,"memo":"#); body.appendJSONString(memo)
            body.appendLiteral(#","expires_in":"#); body.appendDecimal(Int64(expiresIn))
            body.appendLiteral(#","behind_seconds":"#); body.appendUTF8(behind)
            // The exact text a wallet signs to log in by signature (it changes whenever the code does).
            body.appendLiteral(#","challenge":"#)
            SignInChallenge.appendJSONString(host: publicOrigin.host, code: memo,
                                             expiresAt: view.codeExpiresAt ?? unixSeconds() + Int64(expiresIn), to: &body)
            body.append(UInt8(ascii: "}"))
            return json(200, bytes: body)
        case .bound(let account, _):
            return json(200, #"{"bound":true,"account":\#(JSONText.string(account)),"memo":null,"expires_in":null,"behind_seconds":\#(behind)}"#)
        case .rotated(let account, _):
            return json(200, #"{"bound":true,"account":\#(JSONText.string(account)),"memo":null,"expires_in":null,"behind_seconds":\#(behind)}"#,
                        extra: [("Set-Cookie", setCookie(replacement))])
        }
    }

    /// A code shown to a visitor must survive a failover: wait for a replica to have it (Sentinel).
    /// On a timeout the page still shows the code; the log and /metrics say so.
    func waitForReplica() {
        guard config.redisMinReplicas > 0 else { return }
        do {
            let (wanted, acked) = try store.redis.waitForReplicas(minimum: config.redisMinReplicas, timeoutMs: 500)
            if acked < wanted {
                metrics?.count(.redisWaitTimeout)
                logger.warning("redis: a new code is not on a replica yet", metadata: ["wanted": "\(wanted)", "acknowledged": "\(acked)"])
            }
        } catch { noteRedisDown(error) }
    }

    func logout(_ request: Request) -> Response {
        if let refused = refuseCrossOrigin(request) { return refused }
        if let id = signer.sessionID(cookieHeader: request.cookie) {
            do {
                if case .ended(let account) = try store.logout(id: id, denyTTL: config.boundTTL) {
                    logger.info("logout", metadata: ["account": "\(account ?? "-")"])
                }
            } catch { return redisDown(error, html: true) }
        }
        return Response(status: 303, headers: sessionHeaders + [("Location", "/"), ("Set-Cookie", newCookie())])
    }

    /// `ok` or `unavailable`. The reason (the watcher's lag, a replica count) only for the addresses
    /// allowed /metrics: it tells an outsider when logins are slow.
    func health(_ request: Request) -> Response {
        let detailed = isMetricsClient(request)
        func answer(_ status: Int, _ brief: String, _ detail: String) -> Response {
            Response(status: status, contentType: "text/plain", body: (detailed ? detail : brief) + "\n", headers: [("Cache-Control", "no-store")])
        }
        do {
            if let problem = try store.healthProblem(now: unixSeconds(), maxLag: config.maxLag) {
                logger.warning("healthz: \(problem)")
                return answer(503, "unavailable", problem)
            }
            // A master with fewer replicas than configured keeps serving; health says durability is degraded.
            if config.redisMinReplicas > 0, let connected = try? store.redis.connectedReplicaCount() {
                if connected < config.redisMinReplicas {
                    logger.warning("healthz: redis durability degraded", metadata: ["replicas": "\(connected)", "wanted": "\(config.redisMinReplicas)"])
                    return answer(200, "ok", "ok, durability degraded: \(connected) of \(config.redisMinReplicas) replicas connected")
                }
            }
            return answer(200, "ok", "ok")
        } catch {
            logger.warning("healthz: redis unavailable", metadata: ["error": "\(error)"])
            return answer(503, "unavailable", "redis unavailable: \(error.kind)")
        }
    }

    // MARK: helpers

    /// CSRF defence for the state-changing forms: a 403 page unless Origin (else Referer) is this site.
    func refuseCrossOrigin(_ request: Request) -> Response? {
        isSameOrigin(request) ? nil : htmlError(403, "Forbidden", "This form must be sent from this site.", retry: "/steemauth")
    }

    /// Whether a state-changing request comes from this site: its Origin (else its Referer's origin)
    /// is the configured public origin, whatever Host or scheme the request reached nginx with (a
    /// TLS-terminating proxy, a port mapping). A refusal is logged.
    func isSameOrigin(_ request: Request) -> Bool {
        if publicOrigin.isSameOrigin(origin: request.origin, referer: request.referer) { return true }
        logger.warning("request refused: cross-origin", metadata: ["path": "\(request.path)", "origin": "\(request.origin ?? "-")",
                                                                 "host": "\(request.host ?? "-")"])
        return false
    }

    /// One round trip, without random bytes; a second, with a fresh id and code drawn first, only when
    /// the script needs one (a rotation after binding, an expired code): each stays one atomic script.
    /// The returned id is the replacement, meaningful only when the state is `.rotated`.
    /// `unboundCode`: the code this worker last saw the session unbound with (see `SessionHint`).
    func lookUp(_ id: SessionID, _ mode: SessionStore.Mode, unboundCode: String? = nil) throws(RedisError) -> (SessionView, SessionID) {
        try withFreshValuesIfAsked(id) { replacementID, freshMemo throws(RedisError) in
            try store.view(id: id, mode: mode, replacementID: replacementID, freshMemo: freshMemo, now: unixSeconds(), unboundCode: unboundCode)
        }
    }

    /// Runs a session script without fresh values, then, only if it asks (`needsFreshValues`), again
    /// with a new id and login code drawn from the system's random source (a new session, an expired
    /// code, a rotation); returns the view and the id the session now has.
    func withFreshValuesIfAsked(_ id: SessionID, _ view: (SessionID?, String?) throws(RedisError) -> SessionView)
        throws(RedisError) -> (SessionView, SessionID) {
        let first = try view(nil, nil)
        guard first.needsFreshValues else { return (first, id) }
        let (replacement, freshCode) = SystemRandom.sessionIDAndLoginCode(prefix: config.memoPrefix)
        return (try view(replacement, freshCode.memo), replacement)
    }

    func restartSession(_ request: Request) -> Response {
        if request.queryValue("c") == "1" {
            return html(200, templates.render("cookies", ["chainName": chainName]), extra: [("Set-Cookie", newCookie())])
        }
        return Response(status: 302, headers: sessionHeaders + [("Location", "/steemauth?c=1"), ("Set-Cookie", newCookie())])
    }

    /// A new visitor's cookie: a fresh random id, signed.
    func newCookie() -> String { setCookie(SystemRandom.sessionID()) }

    func setCookie(_ id: SessionID) -> String { cookie.setCookie(for: id, signedBy: signer) }

    func noteRedisDown(_ error: RedisError) {
        metrics?.count(.redisError)
        logger.error("redis unavailable", metadata: ["error": "\(error)"])
    }

    func redisDown(_ error: RedisError, html wantsHTML: Bool) -> Response {
        noteRedisDown(error)
        if !wantsHTML { return json(503, #"{"error":"temporarily unavailable"}"#, extra: [("Retry-After", "2")]) }
        return htmlError(503, "Temporarily unavailable", "The login service cannot reach its session store right now. Please try again in a few seconds.",
                         retry: "/steemauth", extra: [("Retry-After", "2")])
    }

    @inline(__always)   // inlined, the body closure does not copy the whole app per request
    func only(_ methods: AllowedMethods, _ request: Request, _ body: () -> Response) -> Response {
        if methods.allow(request.method) { return body() }
        var r = htmlError(405, "Method not allowed", "This address does not accept \(request.method.prefix(16)) requests.", retry: "/")
        r.headers.append(("Allow", methods.allowHeader))
        return r
    }

    /// The methods a route answers (`only`): a switch, not a list, since every request's routing asks.
    enum AllowedMethods {
        case getOrHead, postOnly, getOrPost
        func allow(_ method: String) -> Bool {
            switch self {
            case .getOrHead: return method == "GET" || method == "HEAD"
            case .postOnly: return method == "POST"
            case .getOrPost: return method == "GET" || method == "POST"
            }
        }
        var allowHeader: String {
            switch self {
            case .getOrHead: return "GET, HEAD"
            case .postOnly: return "POST"
            case .getOrPost: return "GET, POST"
            }
        }
    }

    /// The paths `route` answers by name, interned by the worker (the OpenID Connect endpoints too:
    /// they are only routed when the provider is on, and a path interned for nothing costs nothing).
    public var routedPaths: [String] {
        ["/ping", "/", "/steemauth", "/steemauth/status", "/steemauth/logout", "/steemauth/report.json", "/steemauth/report.csv",
         "/steemauth/unfollow", "/favicon.ico", "/steemauth/verify", "/steemauth/refresh", "/steemauth/signin", "/healthz", "/metrics",
         OIDCEndpoints.discovery, OIDCEndpoints.jwks, OIDCEndpoints.authorize, OIDCEndpoints.token, OIDCEndpoints.userinfo, OIDCEndpoints.endSession,
         OIDCEndpoints.consent, OIDCEndpoints.freshStatus, OIDCEndpoints.cancel]
    }

    var sessionHeaders: [(String, String)] { Self.sessionHeaders }
    static let sessionHeaders: [(String, String)] = [("Cache-Control", "no-store"), ("Vary", "Cookie")]
    /// verify's answers, asked for on every request to a protected app: the refusal made once, and
    /// the fixed headers of an account's answer prepared once.
    let verifyRefused = Response.fixed(status: 401, prepared: PreparedHeaders(Self.sessionHeaders), body: [])
    let verifyHeaders = PreparedHeaders(Self.sessionHeaders)
    /// A JSON answer's headers, made once (the status route's every poll uses them).
    let jsonHeaders = PreparedHeaders([("Content-Type", "application/json")] + Self.sessionHeaders + [("X-Content-Type-Options", "nosniff")])

    static let securityHeaders: [(String, String)] = [
        ("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "same-origin"),
        ("X-Frame-Options", "DENY"),
    ]
    /// Behind an https public origin pages also carry HSTS: a browser that saw one never again
    /// tries the site over plain http, where a network attacker could answer.
    static func securityHeaders(for origin: PublicOrigin) -> [(String, String)] {
        securityHeaders + (origin.isHTTPS ? [("Strict-Transport-Security", "max-age=31536000")] : [])
    }
    let securityHeaders: [(String, String)]

    /// An HTML page's headers when its body depends on Accept-Encoding (the report and ask pages),
    /// made once per worker.
    let pageHeaders: PreparedHeaders
    let gzipPageHeaders: PreparedHeaders

    /// An HTML page whose form leads on to another site's address (an app's redirect URI): its CSP
    /// allows that origin in `form-action` as well as this site.
    func html(_ status: Int, _ body: String, extra: [(String, String)] = [], formLeadsTo targets: [String] = []) -> Response {
        let sources = FormActionSources.sources(for: targets)
        let headers = sources.isEmpty ? securityHeaders : securityHeaders.map { name, value -> (String, String) in
            guard name == "Content-Security-Policy" else { return (name, value) }
            return (name, value.replacingOccurrences(of: "form-action 'self'", with: "form-action 'self' " + sources.joined(separator: " ")))
        }
        return Response(status: status, contentType: "text/html; charset=utf-8", body: body, headers: sessionHeaders + headers + extra)
    }

    func json(_ status: Int, _ body: String, extra: [(String, String)] = []) -> Response {
        json(status, bytes: Array(body.utf8), extra: extra)
    }

    func json(_ status: Int, bytes body: [UInt8], extra: [(String, String)] = []) -> Response {
        Response(status: status, prepared: jsonHeaders, headers: extra, body: body)
    }

    /// `refreshSeconds`: the page reloads itself after that long (a wait with a known end).
    func htmlError(_ status: Int, _ heading: String, _ message: String, retry: String, extra: [(String, String)] = [],
                   refreshSeconds: Int? = nil) -> Response {
        var values = ["heading": heading, "message": message, "retry": retry, "chainName": chainName]
        if let refreshSeconds { values["refreshSeconds"] = String(refreshSeconds) }
        return html(status, templates.render("error", values), extra: extra)
    }

}
