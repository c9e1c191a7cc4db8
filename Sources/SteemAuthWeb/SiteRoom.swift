import FastCGIKit
import FoundationEssentials
import Logging
import SteemAuthAdapters
import SteemAuthCore

/// A room of the site: a final class made once per worker, holding the shared `Site`. What every
/// room reads of the site, and the helpers they share (answers' shapes, cookies, the same-origin
/// rule, session look-ups, the one rendering of a failure), are here.
protocol SiteRoom: AnyObject {
    var site: Site { get }
}

extension Site: SiteRoom {
    var site: Site { self }
}

extension SiteRoom {
    var config: AppConfig { site.config }
    var templates: SiteTemplates { site.templates }
    var signer: CookieSigner { site.signer }
    var store: any SessionStore { site.store }
    var reportCache: any ReportCacheStore { site.reportCache }
    var authorizations: any AuthorizationStore { site.authorizations }
    var healthStore: any HealthStore { site.healthStore }
    var logger: Logger { site.logger }
    var clock: any TimeSource { site.clock }
    var chainName: String { site.chainName }
    var metrics: PoolMetrics? { site.metrics }
    var publicOrigin: PublicOrigin { site.publicOrigin }
    var requestScope: Site.RequestScope { site.requestScope }
    var frozenPages: FrozenPages { site.frozenPages }
    var jsonHeaders: PreparedHeaders { site.jsonHeaders }
    var sessionHeaders: [(String, String)] { Site.sessionHeaders }

    // MARK: answers

    /// An HTML page whose form leads on to another site's address (an app's redirect URI): its CSP
    /// allows that origin in `form-action` as well as this site.
    func html(_ status: Int, _ body: String, extra: [(String, String)] = [], formLeadsTo targets: [String] = []) -> Response {
        let sources = FormActionSources.sources(for: targets)
        let headers = sources.isEmpty ? site.securityHeaders : site.securityHeaders.map { name, value -> (String, String) in
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

    /// Token and userinfo answers are never cached (RFC 6749 §5.1).
    func oidcJSON(_ status: Int, _ body: String, extra: [(String, String)] = []) -> Response {
        Response(status: status, contentType: "application/json", body: body,
                 headers: [("Cache-Control", "no-store"), ("Pragma", "no-cache"), ("X-Content-Type-Options", "nosniff")] + extra)
    }

    /// The failure as `face` shows it: the one place a failure becomes a response.
    func failureResponse(_ failure: HTTPFailure, face: FailureFace) -> Response {
        logger.debug("request failed", metadata: ["status": "\(failure.status)", "reason": "\(failure.reason)"])
        var extra = failure.headers
        if let seconds = failure.retryAfterSeconds, face != .bareStatus { extra.append(("Retry-After", String(seconds))) }
        switch face {
        case .page:
            var values = ["heading": failure.heading, "message": failure.message, "retry": failure.retryLink, "chainName": chainName]
            if let refreshSeconds = failure.refreshSeconds { values["refreshSeconds"] = String(refreshSeconds) }
            return html(failure.status, templates.render("error", values), extra: extra)
        case .oauthJSON where failure.oauthError != nil:
            return oidcJSON(failure.status, #"{"error":\#(JSONText.string(failure.oauthError!)),"error_description":\#(JSONText.string(failure.reason))}"#,
                            extra: extra)
        case .json, .oauthJSON:
            return json(failure.status, #"{"error":\#(JSONText.string(failure.reason))}"#, extra: extra)
        case .plainText:
            return Response(status: failure.status, contentType: "text/plain; charset=utf-8", body: failure.reason + "\n", headers: sessionHeaders + extra)
        case .bareStatus:
            // verify's refusal, on every request a logged-out visitor makes to a protected app: made once.
            if failure.status == 401 && extra.isEmpty { return site.verifyRefused }
            return Response(status: failure.status, headers: sessionHeaders + extra)
        }
    }

    // MARK: cookies and the same-origin rule

    /// A new visitor's cookie: a fresh random id, signed.
    func newCookie() -> String { setCookie(SystemRandom.sessionID()) }

    func setCookie(_ id: SessionID) -> String { site.cookie.setCookie(for: id, signedBy: signer) }

    /// CSRF defence for the state-changing forms: a 403 unless Origin (else Referer) is this site.
    func refuseCrossOrigin(_ request: Request) throws(HTTPFailure) {
        if !isSameOrigin(request) { throw .crossOrigin }
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

    // MARK: the session store

    func noteRedisDown(_ error: RedisError) {
        metrics?.count(.redisError)
        logger.error("redis unavailable", metadata: ["error": "\(error)"])
    }

    /// The session store cannot be reached: counted and logged, and a 503 to retry in 2 s.
    func storeDown(_ error: RedisError) -> HTTPFailure {
        noteRedisDown(error)
        return .storeDown
    }

    /// One round trip, without random bytes; a second, with a fresh id and code drawn first, only when
    /// the script needs one (a rotation after binding, an expired code): each stays one atomic script.
    /// The returned id is the replacement, meaningful only when the state is `.rotated`.
    /// `unboundCode`: the code this worker last saw the session unbound with (see `SessionHint`).
    func lookUp(_ id: SessionID, _ purpose: SessionLookup, unboundCode: String? = nil) throws(RedisError) -> (SessionView, SessionID) {
        try withFreshValuesIfAsked(id) { replacementID, freshMemo throws(RedisError) in
            try store.lookUp(id: id, for: purpose, replacementID: replacementID, freshMemo: freshMemo, now: clock.unixSeconds, unboundCode: unboundCode)
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

    /// A code shown to a visitor must survive a failover: wait for a replica to have it (Sentinel).
    /// On a timeout the page still shows the code; the log and /metrics say so.
    func waitForReplica() {
        guard config.redisMinReplicas > 0 else { return }
        do {
            let (wanted, acked) = try store.awaitReplicas(minimum: config.redisMinReplicas, timeoutMs: 500)
            if acked < wanted {
                metrics?.count(.redisWaitTimeout)
                logger.warning("redis: a new code is not on a replica yet", metadata: ["wanted": "\(wanted)", "acknowledged": "\(acked)"])
            }
        } catch { noteRedisDown(error) }
    }
}
