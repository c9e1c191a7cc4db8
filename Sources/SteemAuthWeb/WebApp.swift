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
    let metrics: PoolMetrics?
    /// Pages frozen on first use in this worker (a class, so `handle` need not copy the cache).
    final class FrozenPages { var pages: [String: FrozenPage] = [:] }
    let frozenPages = FrozenPages()

    public init(config: AppConfig, templates: SiteTemplates, logger: Logger, metrics: PoolMetrics? = nil) {
        self.metrics = metrics
        self.config = config
        self.templates = templates
        self.logger = logger
        signer = CookieSigner(currentKey: config.secret, previousKey: config.previousSecret, mac: Blake2b.cookieMAC)
        cookie = CookieAttributes(maxAgeSeconds: config.boundTTL, secure: config.secureCookies)
        store = SessionStore(redis: RedisConnection(endpoint: config.redis), prefix: config.redisPrefix, chain: config.chain)
        chainName = config.chain == .steem ? "Steem" : "Hive"
        reports = ReportService(config: config, logger: logger)
    }

    public mutating func handle(_ request: Request) -> Response {
        // Every log line of this request carries nginx's $request_id.
        logger[metadataKey: "request_id"] = request.requestID.map { .string($0) }
        guard let metrics else { return route(request).1 }
        let started = monotonicMicroseconds()
        let (name, response) = route(request)
        metrics.record(route: name, status: response.status, microseconds: monotonicMicroseconds() - started)
        return response
    }

    private func route(_ request: Request) -> (PoolMetrics.Route, Response) {
        let path = request.path
        switch path {
        case "/ping": return (.ping, only(["GET", "HEAD"], request) { Response(status: 200, contentType: "text/plain", body: "pong\n") })
        case "/": return (.home, only(["GET", "HEAD"], request) { home(request) })
        case "/steemauth": return (.page, only(["GET", "HEAD"], request) { page(request) })
        case "/steemauth/status": return (.status, only(["GET", "HEAD"], request) { status(request) })
        case "/steemauth/logout": return (.logout, only(["POST"], request) { logout(request) })
        case "/steemauth/report.json": return (.reportJSON, only(["GET", "HEAD"], request) { reportJSON(request) })
        case "/steemauth/verify": return (.verify, only(["GET", "HEAD"], request) { verify(request) })
        case "/steemauth/refresh": return (.refresh, only(["POST"], request) { refresh(request) })
        case "/healthz": return (.healthz, only(["GET", "HEAD"], request) { health() })
        case "/metrics": return (.metrics, only(["GET", "HEAD"], request) { metricsPage(request) })
        default:
            if path.hasPrefix("/steemauth/static/"), let file = templates.staticFile(String(path.dropFirst(18))) {
                return (.staticFile, only(["GET", "HEAD"], request) {
                    Response(status: 200, headers: [("Content-Type", file.contentType), ("Cache-Control", "public, max-age=3600"),
                                                    ("X-Content-Type-Options", "nosniff")], body: file.body)
                })
            }
            return (.other, htmlError(404, "Not found", "There is nothing at this address.", retry: "/"))
        }
    }

    /// Prometheus text: the pool's shared counters and the watcher's numbers from Redis.
    /// Loopback only by default (STEEMAUTH_METRICS_ALLOW); nginx restricts it further.
    private func metricsPage(_ request: Request) -> Response {
        guard config.metricsAllow.contains("any") || config.metricsAllow.contains(request.remoteAddress ?? "") else {
            return Response(status: 403, contentType: "text/plain", body: "forbidden\n")
        }
        guard let metrics else { return Response(status: 404, contentType: "text/plain", body: "metrics are off\n") }
        var snapshot: PoolMetrics.WatcherSnapshot? = nil
        if let maps = try? store.watcherCounters(), maps.count == 4 {
            snapshot = PoolMetrics.WatcherSnapshot()
            snapshot!.state = maps[0]; snapshot!.claims = maps[1]; snapshot!.rejections = maps[2]; snapshot!.rpc = maps[3]
        }
        return Response(status: 200, contentType: "text/plain; version=0.0.4", body: metrics.render(watcher: snapshot),
                        headers: [("Cache-Control", "no-store")])
    }

    // MARK: routes

    /// `GET /`: no Redis I/O at all; a new signed id when the visitor has none.
    private func home(_ request: Request) -> Response {
        var headers = sessionHeaders + [("Location", "/steemauth")]
        if signer.sessionID(cookieHeader: request.cookie) == nil {
            headers.append(("Set-Cookie", newCookie(request)))
        }
        return Response(status: 302, headers: headers)
    }

    private func page(_ request: Request) -> Response {
        guard let id = signer.sessionID(cookieHeader: request.cookie) else { return restartSession(request) }
        let view: SessionView, replacement: SessionID
        do { (view, replacement) = try lookUp(id, .page) } catch { return redisDown(error, html: true) }
        switch view.state {
        case .denied, .none:
            return restartSession(request)
        case .unbound(let memo, let expiresIn):
            return html(200, askPage(memo: memo, expiresIn: expiresIn, behind: view.behindSeconds))
        case .bound(let account, let proof):
            return reportPage(account: account, proof: proof, view: view, extra: [])
        case .rotated(let account, let proof):
            logger.info("session rotated after binding", metadata: ["account": "\(account)"])
            return reportPage(account: account, proof: proof, view: view, extra: [("Set-Cookie", setCookie(replacement, request))])
        }
    }

    private func reportPage(account: String, proof: BindingProof?, view: SessionView, extra: [(String, String)]) -> Response {
        let listHTML: String
        if let cached = view.cachedReport {
            listHTML = String(decoding: cached, as: UTF8.self)
        } else {
            switch computeAndCache(account: account) {
            case .success(let fresh): listHTML = fresh.html
            case .failure(let failure): return reportError(failure, extra: extra)
            }
        }
        let key = "report" + (proof == nil ? "" : "+proof") + (view.behindSeconds == nil ? "" : "+lag")
        let page = frozen(key) {
            var values: [String: Any] = ["chainName": chainName, "account": FrozenPage.marker(0), "listHTML": FrozenPage.marker(1)]
            if view.behindSeconds != nil { values["behind"] = FrozenPage.marker(2) }
            if proof != nil {
                values["proof"] = ["tx": FrozenPage.marker(3), "block": FrozenPage.marker(4), "time": FrozenPage.marker(5)] as [String: Any]
            }
            return FrozenPage(rendered: templates.render("report", values), raw: [1])
        }
        let body = page.fill([account, listHTML, view.behindSeconds.map { String(Int($0)) } ?? "",
                              proof?.transactionID ?? "", proof.map { String($0.block) } ?? "", proof?.time ?? ""])
        return html(200, body, extra: extra)
    }

    /// The ask page: frozen once per worker (per lag-shown variant), filled per request.
    private func askPage(memo: String, expiresIn: Int, behind: Double?) -> String {
        let page = frozen(behind == nil ? "ask" : "ask+lag") {
            var values = askValues(memo: FrozenPage.marker(0), expiresMinutes: FrozenPage.marker(1))
            if behind != nil { values["behind"] = FrozenPage.marker(2) }
            return FrozenPage(rendered: templates.render("ask", values))
        }
        return page.fill([memo, String(max(1, (expiresIn + 59) / 60)), behind.map { String(Int($0)) } ?? ""])
    }

    private func frozen(_ key: String, _ make: () -> FrozenPage) -> FrozenPage {
        if let page = frozenPages.pages[key] { return page }
        let page = make()
        frozenPages.pages[key] = page
        return page
    }

    /// The report from the chain, cached as JSON (report.json) and as rendered HTML (the page).
    private func computeAndCache(account: String) -> Result<(report: StaleReport, html: String), ReportService.Failure> {
        let started = monotonicMilliseconds()
        do {
            let report = try reports.compute(account: account)
            metrics?.count(.reportComputed)
            logger.info("report computed", metadata: ["account": "\(account)", "following": "\(report.followingCount)",
                                                      "stale": "\(report.stale.count)", "ms": "\(monotonicMilliseconds() - started)"])
            let html = templates.render("report_list", listValues(report))
            if let json = try? JSONEncoder().encode(report) {
                do { try store.cacheReport(account: account, json: Array(json), html: html, ttl: config.reportTTL) }
                catch { logger.warning("report not cached", metadata: ["error": "\(error)"]) }
            }
            return .success((report, html))
        } catch {
            metrics?.count(.reportFailed)
            logger.error("report failed", metadata: ["account": "\(account)", "error": "\(error)"])
            return .failure(error)
        }
    }

    private func reportError(_ failure: ReportService.Failure, extra: [(String, String)]) -> Response {
        switch failure {
        case .deadline:
            return htmlError(504, "The chain is slow", "Your report took too long to fetch from the chain. Please try again in a moment.",
                             retry: "/steemauth", extra: extra)
        case .nodes:
            return htmlError(502, "The chain cannot be reached", "None of the chain nodes answered. Please try again in a moment.",
                             retry: "/steemauth", extra: extra)
        }
    }

    private func reportJSON(_ request: Request) -> Response {
        guard let id = signer.sessionID(cookieHeader: request.cookie) else { return json(401, #"{"error":"not logged in"}"#) }
        let view: SessionView, replacement: SessionID
        do { (view, replacement) = try lookUp(id, .report) } catch { return redisDown(error, html: false) }
        let account: String, rotated: Bool
        switch view.state {
        case .bound(let a, _): account = a; rotated = false
        case .rotated(let a, _): account = a; rotated = true
        default: return json(401, #"{"error":"not logged in"}"#)
        }
        let extra = rotated ? [("Set-Cookie", setCookie(replacement, request))] : []
        let result: Result<StaleReport, ReportService.Failure>
        if let cached = view.cachedReport, let report = try? JSONDecoder().decode(StaleReport.self, from: Data(cached)) {
            result = .success(report)
        } else {
            result = computeAndCache(account: account).map(\.report)
        }
        switch result {
        case .success(let report):
            let body = (try? JSONEncoder().encode(ReportDocument(report: report, behindSeconds: view.behindSeconds))) ?? Data()
            return json(200, String(decoding: body, as: UTF8.self), extra: extra)
        case .failure(let failure):
            if case .deadline = failure { return json(504, #"{"error":"the report took too long"}"#, extra: extra) }
            return json(502, #"{"error":"no chain node answered"}"#, extra: extra)
        }
    }

    /// For nginx `auth_request`: 200 with the account for a bound session, else 401. Never rotates.
    private func verify(_ request: Request) -> Response {
        guard let id = signer.sessionID(cookieHeader: request.cookie) else { return Response(status: 401, headers: sessionHeaders) }
        do {
            let (view, _) = try lookUp(id, .verify)
            if case .bound(let account, _) = view.state {
                return Response(status: 200, headers: sessionHeaders + [("X-SteemAuth-Account", account)])
            }
            return Response(status: 401, headers: sessionHeaders)
        } catch {
            logger.error("redis unavailable", metadata: ["error": "\(error)"])
            return Response(status: 503, headers: sessionHeaders)
        }
    }

    /// Drops the cached report (at most once a minute per account) and goes back to the page.
    private func refresh(_ request: Request) -> Response {
        guard SameOrigin.allows(origin: request.origin, referer: request.referer, host: request.host, https: request.https,
                                serverPort: request.serverPort) else {
            return htmlError(403, "Forbidden", "This form must be sent from this site.", retry: "/steemauth")
        }
        if let id = signer.sessionID(cookieHeader: request.cookie) {
            do {
                let (view, _) = try lookUp(id, .verify)
                if case .bound(let account, _) = view.state, try store.requestRefresh(account: account) == false {
                    logger.info("refresh ignored: less than a minute since the last one", metadata: ["account": "\(account)"])
                }
            } catch { return redisDown(error, html: true) }
        }
        return Response(status: 303, headers: sessionHeaders + [("Location", "/steemauth")])
    }

    private func status(_ request: Request) -> Response {
        guard let id = signer.sessionID(cookieHeader: request.cookie) else { return json(401, #"{"error":"no session"}"#) }
        let view: SessionView, replacement: SessionID
        do { (view, replacement) = try lookUp(id, .status) } catch { return redisDown(error, html: false) }
        let behind = JSONText.optionalNumber(view.behindSeconds)
        switch view.state {
        case .denied, .none:
            return json(401, #"{"error":"no session"}"#)
        case .unbound(let memo, let expiresIn):
            return json(200, #"{"bound":false,"account":null,"memo":\#(JSONText.string(memo)),"expires_in":\#(expiresIn),"behind_seconds":\#(behind)}"#)
        case .bound(let account, _):
            return json(200, #"{"bound":true,"account":\#(JSONText.string(account)),"memo":null,"expires_in":null,"behind_seconds":\#(behind)}"#)
        case .rotated(let account, _):
            return json(200, #"{"bound":true,"account":\#(JSONText.string(account)),"memo":null,"expires_in":null,"behind_seconds":\#(behind)}"#,
                        extra: [("Set-Cookie", setCookie(replacement, request))])
        }
    }

    private func logout(_ request: Request) -> Response {
        guard SameOrigin.allows(origin: request.origin, referer: request.referer, host: request.host, https: request.https,
                                 serverPort: request.serverPort) else {
            logger.warning("logout refused: cross-origin", metadata: ["origin": "\(request.origin ?? "-")", "host": "\(request.host ?? "-")", "https": "\(request.https)"])
            return htmlError(403, "Forbidden", "This form must be sent from this site.", retry: "/steemauth")
        }
        if let id = signer.sessionID(cookieHeader: request.cookie) {
            do {
                let account = try store.logout(id: id, denyTTL: config.boundTTL)
                logger.info("logout", metadata: ["account": "\(account ?? "-")"])
            } catch { return redisDown(error, html: true) }
        }
        return Response(status: 303, headers: sessionHeaders + [("Location", "/"), ("Set-Cookie", newCookie(request))])
    }

    private func health() -> Response {
        do {
            if let problem = try store.healthProblem(now: unixSeconds(), maxLag: config.maxLag) {
                logger.warning("healthz: \(problem)")
                return Response(status: 503, contentType: "text/plain", body: problem + "\n", headers: [("Cache-Control", "no-store")])
            }
            return Response(status: 200, contentType: "text/plain", body: "ok\n", headers: [("Cache-Control", "no-store")])
        } catch {
            logger.warning("healthz: redis unavailable", metadata: ["error": "\(error)"])
            return Response(status: 503, contentType: "text/plain", body: "redis unavailable: \(error.kind)\n", headers: [("Cache-Control", "no-store")])
        }
    }

    // MARK: helpers

    /// One round trip. The id that replaces the current one if this request rotates it is drawn
    /// before the call, so the rotation stays one atomic script.
    private func lookUp(_ id: SessionID, _ mode: SessionStore.Mode) throws(RedisError) -> (SessionView, SessionID) {
        let replacement = SystemRandom.sessionID()
        return (try store.view(id: id, mode: mode, replacementID: replacement,
                              freshMemo: SystemRandom.loginCode(prefix: config.memoPrefix).memo, now: unixSeconds(),
                              unboundTTL: config.unboundTTL, codeTTL: config.codeTTL, denyTTL: config.boundTTL), replacement)
    }

    private func restartSession(_ request: Request) -> Response {
        if request.queryValue("c") == "1" {
            return html(200, templates.render("cookies", ["chainName": chainName]), extra: [("Set-Cookie", newCookie(request))])
        }
        return Response(status: 302, headers: sessionHeaders + [("Location", "/steemauth?c=1"), ("Set-Cookie", newCookie(request))])
    }

    private func newCookie(_ request: Request) -> String { setCookie(SystemRandom.sessionID(), request) }

    /// `Secure` when configured or when nginx says the visitor came over https.
    private func setCookie(_ id: SessionID, _ request: Request) -> String {
        var attributes = cookie
        attributes.secure = attributes.secure || request.https
        return attributes.setCookie(value: signer.value(for: id))
    }

    private func redisDown(_ error: RedisError, html wantsHTML: Bool) -> Response {
        metrics?.count(.redisError)
        logger.error("redis unavailable", metadata: ["error": "\(error)"])
        if !wantsHTML { return json(503, #"{"error":"temporarily unavailable"}"#, extra: [("Retry-After", "2")]) }
        return htmlError(503, "Temporarily unavailable", "The login service cannot reach its session store right now. Please try again in a few seconds.",
                         retry: "/steemauth", extra: [("Retry-After", "2")])
    }

    private func only(_ methods: [String], _ request: Request, _ body: () -> Response) -> Response {
        if methods.contains(request.method) { return body() }
        var r = htmlError(405, "Method not allowed", "This address does not accept \(request.method.prefix(16)) requests.", retry: "/")
        r.headers.append(("Allow", methods.joined(separator: ", ")))
        return r
    }

    private var sessionHeaders: [(String, String)] { [("Cache-Control", "no-store"), ("Vary", "Cookie")] }

    private static let securityHeaders: [(String, String)] = [
        ("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "same-origin"),
        ("X-Frame-Options", "DENY"),
    ]

    private func html(_ status: Int, _ body: String, extra: [(String, String)] = []) -> Response {
        Response(status: status, contentType: "text/html; charset=utf-8", body: body, headers: sessionHeaders + Self.securityHeaders + extra)
    }

    private func json(_ status: Int, _ body: String, extra: [(String, String)] = []) -> Response {
        Response(status: status, contentType: "application/json", body: body, headers: sessionHeaders + [("X-Content-Type-Options", "nosniff")] + extra)
    }

    private func htmlError(_ status: Int, _ heading: String, _ message: String, retry: String, extra: [(String, String)] = []) -> Response {
        html(status, templates.render("error", ["heading": heading, "message": message, "retry": retry, "chainName": chainName]), extra: extra)
    }

    /// `memo` goes into the signer link as is: login codes are `[a-z0-9-]`, URL-safe.
    private func askValues(memo: String, expiresMinutes: String) -> [String: Any] {
        let amountNumber = config.displayAmount.split(separator: " ")[0]
        let asset = config.assets.first ?? "STEEM"
        let signerBase = config.chain == .steem ? "https://steemlogin.com/sign/transfer" : "https://hivesigner.com/sign/transfer"
        let signerURL = "\(signerBase)?to=\(urlEncode(config.account))&amount=\(urlEncode("\(amountNumber) \(asset)"))&memo=\(memo)"
        return [
            "chainName": chainName, "account": config.account, "amount": config.displayAmount, "amountNumber": String(amountNumber),
            "asset": asset, "memo": memo, "expiresMinutes": expiresMinutes,
            "signerURL": signerURL, "signerName": config.chain == .steem ? "SteemLogin" : "HiveSigner",
            "keychainName": config.chain == .steem ? "Steem Keychain" : "Hive Keychain",
        ]
    }

    private func listValues(_ report: StaleReport) -> [String: Any] {
        let link = { (name: String) in config.frontend + "/@" + name }
        var values: [String: Any] = [
            "staleDays": report.staleDays,
            "followingCount": report.followingCount, "staleCount": report.stale.count, "neverCount": report.neverPosted.count,
            "computedAt": report.computedAt.replacing("T", with: " ").replacing("Z", with: " UTC"),
            "stale": report.stale.map { ["name": $0.name, "url": link($0.name), "days": $0.days, "lastPost": String($0.lastPost.prefix(10))] as [String: Any] },
            "never": report.neverPosted.map { ["name": $0, "url": link($0)] },
        ]
        if !report.stale.isEmpty { values["hasStale"] = true }
        if !report.neverPosted.isEmpty { values["hasNever"] = true }
        return values
    }
}

/// report.json: the cached report plus the live lag.
struct ReportDocument: Encodable {
    let report: StaleReport
    let behindSeconds: Double?
    enum Keys: String, CodingKey { case behindSeconds = "behind_seconds" }
    func encode(to encoder: any Encoder) throws {
        try report.encode(to: encoder)
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(behindSeconds, forKey: .behindSeconds)
    }
}

func urlEncode(_ s: String) -> String {
    var out = ""
    for b in s.utf8 {
        switch b {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
            out.unicodeScalars.append(UnicodeScalar(b))
        default:
            let hex = String(b, radix: 16, uppercase: true)
            out += "%" + (hex.count == 1 ? "0" + hex : hex)
        }
    }
    return out
}
