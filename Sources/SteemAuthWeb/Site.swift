import FastCGIKit
import Logging
import SteemAuthAdapters
import SteemAuthCore

/// What every room of one worker shares: the config, the templates, the cookie signer, the worker's
/// own session store connection (opened after fork, never shared), the logger, the metrics and the
/// headers prepared once. Made once per worker.
final class Site {
    let config: AppConfig
    let templates: SiteTemplates
    let signer: CookieSigner
    let cookie: CookieAttributes
    let store: any SessionStore
    let reportCache: any ReportCacheStore
    let authorizations: any AuthorizationStore
    let healthStore: any HealthStore
    let logger: Logger
    /// What time it is, for every route (a test's own clock in tests).
    let clock: any TimeSource
    let chainName: String
    let metrics: PoolMetrics?
    /// The one origin visitors use (STEEMAUTH_PUBLIC_ORIGIN): what the signature challenge names and
    /// what a browser POST's Origin must be. Never taken from the request.
    let publicOrigin: PublicOrigin
    let publicHostBytes: [UInt8]
    /// The request being handled, for its log lines' id (looked up only when a line is written), and
    /// whether it did work large enough that this worker should hand its place to a fresh one.
    let requestScope = RequestScope()
    /// The pages this worker fills in, its hints and its reused buffers.
    let frozenPages = FrozenPages()

    /// A JSON answer's headers, made once (the status route's every poll uses them).
    /// verify's answers, asked for on every request to a protected app: the refusal made once, and
    /// the fixed headers of an account's answer prepared once.
    let verifyRefused = Response.fixed(status: 401, prepared: PreparedHeaders(Site.sessionHeaders), body: [])
    let verifyHeaders = PreparedHeaders(Site.sessionHeaders)
    let jsonHeaders = PreparedHeaders([("Content-Type", "application/json")] + Site.sessionHeaders + [("X-Content-Type-Options", "nosniff")])
    /// An HTML page's headers when its body depends on Accept-Encoding (the report and ask pages).
    let pageHeaders: PreparedHeaders
    let gzipPageHeaders: PreparedHeaders
    let securityHeaders: [(String, String)]

    static let sessionHeaders: [(String, String)] = [("Cache-Control", "no-store"), ("Vary", "Cookie")]
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

    /// The request being handled: its log lines' id, and what the worker should do once its
    /// response is written (trim the heap, or recycle).
    final class RequestScope: @unchecked Sendable {    // one worker process, one thread
        var requestID = RequestLogID.none
        var afterResponse = AfterResponse.none
    }

    /// `stores`: where sessions, reports and grants are kept (by default the worker's own Redis connection).
    init(config: AppConfig, templates: SiteTemplates, logger: Logger, metrics: PoolMetrics?, frozen: FrozenPageSet?, stores: WebStores?,
         clock: any TimeSource) {
        self.clock = clock
        if let frozen {
            frozenPages.pages = frozen.pages
            frozenPages.compressedChunks = frozen.compressedChunks
        }
        self.config = config
        self.templates = templates
        self.metrics = metrics
        publicOrigin = config.publicOrigin ?? .unconfigured
        publicHostBytes = Array(publicOrigin.host.utf8)
        securityHeaders = Self.securityHeaders(for: publicOrigin)
        pageHeaders = PreparedHeaders(
            [("Content-Type", "text/html; charset=utf-8"), ("Cache-Control", "no-store"), ("Vary", "Accept-Encoding, Cookie")] + securityHeaders)
        gzipPageHeaders = PreparedHeaders(
            [("Content-Type", "text/html; charset=utf-8"), ("Content-Encoding", "gzip"), ("Cache-Control", "no-store"),
             ("Vary", "Accept-Encoding, Cookie")] + securityHeaders)
        var logger = logger
        // Every log line of a request carries nginx's $request_id, looked up only when a line is written.
        logger.handler.metadataProvider = Logger.MetadataProvider { [requestScope] in
            requestScope.requestID.requestID.map { ["request_id": .string($0.description)] } ?? [:]
        }
        self.logger = logger
        signer = CookieSigner(currentKey: config.secret, previousKey: config.previousSecret, mac: Blake2b.cookieMAC)
        cookie = CookieAttributes(maxAgeSeconds: config.boundTTL)
        let stores = stores ?? WebStores.redis(config: config, logger: logger, metrics: metrics)
        store = stores.sessions
        reportCache = stores.reportCache
        authorizations = stores.authorizations
        healthStore = stores.health
        chainName = config.chain == .steem ? "Steem" : "Hive"
    }
}
