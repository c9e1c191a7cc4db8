import FastCGIKit
import SteemAuthCore

/// The pool's own metrics, kept in counters shared by all workers; `/metrics` adds the watcher's
/// numbers from Redis and renders the Prometheus text format. Every name starts with `steemauth_`.
public struct PoolMetrics: Sendable {
    /// A route's raw value is its place among the request counters; `label` is its name in them.
    public enum Route: Int, CaseIterable, Sendable {
        case ping, home, page, status, logout, reportJSON, reportCSV, unfollow, verify, refresh, signIn, healthz, metrics, staticFile, oidc, other
        var label: String {
            switch self {
            case .ping: return "ping"
            case .home: return "home"
            case .page: return "page"
            case .status: return "status"
            case .logout: return "logout"
            case .reportJSON: return "report_json"
            case .reportCSV: return "report_csv"
            case .unfollow: return "unfollow"
            case .verify: return "verify"
            case .refresh: return "refresh"
            case .signIn: return "signin"
            case .healthz: return "healthz"
            case .metrics: return "metrics"
            case .staticFile: return "static"
            case .oidc: return "oidc"
            case .other: return "other"
            }
        }
    }
    static let codes = [200, 302, 303, 400, 401, 403, 404, 405, 409, 429, 500, 502, 503, 504]
    static let buckets: [Double] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

    public enum Event: Int, CaseIterable, Sendable {
        case workerStarted, workerDied, workerLeft, redisError, reportComputed, reportFailed, redisFailover, redisWaitTimeout
        case oidcCodeIssued, oidcTokenIssued, oidcCodeReplayed, oidcRefused, reportBusy, fcgiRefusedPeer
        /// Sign-ins where nodes answered differently about an account's keys (rendered with the
        /// watcher's disagreements as `steemauth_node_disagreements_total{what="authority"}`).
        case nodeDisagreement
        var name: String {
            switch self {
            case .workerStarted: return "steemauth_worker_starts_total"
            case .workerDied: return "steemauth_worker_deaths_total"
            case .workerLeft: return "steemauth_worker_exits_total"
            case .redisError: return "steemauth_redis_errors_total"
            case .reportComputed: return "steemauth_reports_computed_total"
            case .reportFailed: return "steemauth_reports_failed_total"
            case .redisFailover: return "steemauth_redis_failovers_total"
            case .redisWaitTimeout: return "steemauth_redis_wait_timeouts_total"
            case .oidcCodeIssued: return "steemauth_oidc_codes_issued_total"
            case .oidcTokenIssued: return "steemauth_oidc_tokens_issued_total"
            case .oidcCodeReplayed: return "steemauth_oidc_code_replays_total"
            case .oidcRefused: return "steemauth_oidc_refusals_total"
            case .reportBusy: return "steemauth_reports_busy_total"
            case .fcgiRefusedPeer: return "steemauth_fcgi_refused_peers_total"
            case .nodeDisagreement: return "steemauth_node_disagreements_total"
            }
        }
        var help: String {
            switch self {
            case .workerStarted: return "Workers forked by the master."
            case .workerDied: return "Workers that died without being asked (crashes, kills)."
            case .workerLeft: return "Workers that left when asked (reload, recycling, stop)."
            case .redisError: return "Requests that could not reach Redis."
            case .reportComputed: return "Reports computed from the chain (cache misses)."
            case .reportFailed: return "Reports that failed (node errors or the deadline)."
            case .redisFailover: return "Times a worker found a different Redis master than before (Sentinel failovers seen)."
            case .redisWaitTimeout: return "New sessions whose code no replica acknowledged in time (WAIT timeouts)."
            case .oidcCodeIssued: return "OpenID Connect authorization codes issued."
            case .oidcTokenIssued: return "OpenID Connect token responses (ID and access tokens) issued."
            case .oidcCodeReplayed: return "Authorization codes presented a second time (their access token is revoked)."
            case .oidcRefused: return "OpenID Connect token and userinfo requests refused (bad client, grant or token)."
            case .reportBusy: return "Report views told to retry: another request was computing the same account's report."
            case .fcgiRefusedPeer: return "FastCGI connections from a TCP peer not in STEEMAUTH_FCGI_ALLOW, closed unread."
            case .nodeDisagreement: return "Times nodes gave different answers where a quorum must agree, by what: authority (sign-in); block and chain (watcher: a claim-bearing block not confirmed, a block that does not chain)."
            }
        }
    }

    private static let codeSlots = codes.count + 1
    private static let requestSlots = Route.allCases.count * codeSlots
    private static let bucketBase = requestSlots
    private static let sumSlot = bucketBase + buckets.count + 1
    private static let countSlot = sumSlot + 1
    private static let eventBase = countSlot + 1
    public static let slotCount = eventBase + Event.allCases.count

    public let counters: SharedCounters

    public init(counters: SharedCounters) { self.counters = counters }

    /// Every request is recorded, so its slots come from switches: no lookup in the lists above
    /// (each use of a static array is a call into the runtime, and a cold line to read).
    public func record(route: Route, status: Int, microseconds: Int64) {
        counters.add(route.rawValue * Self.codeSlots + Self.codeSlot(status))
        counters.add(Self.bucketBase + Self.bucketSlot(microseconds))
        counters.add(Self.sumSlot, UInt64(max(0, microseconds)))
        counters.add(Self.countSlot)
    }

    /// `status`'s place in `codes`, or `codes.count` for any other.
    static func codeSlot(_ status: Int) -> Int {
        switch status {
        case 200: return 0
        case 302: return 1
        case 303: return 2
        case 400: return 3
        case 401: return 4
        case 403: return 5
        case 404: return 6
        case 405: return 7
        case 409: return 8
        case 429: return 9
        case 500: return 10
        case 502: return 11
        case 503: return 12
        case 504: return 13
        default: return 14
        }
    }

    /// The first of `buckets` (seconds) that `microseconds` is within, or `buckets.count`.
    static func bucketSlot(_ microseconds: Int64) -> Int {
        switch microseconds {
        case ...500: return 0
        case ...1_000: return 1
        case ...2_500: return 2
        case ...5_000: return 3
        case ...10_000: return 4
        case ...25_000: return 5
        case ...50_000: return 6
        case ...100_000: return 7
        case ...250_000: return 8
        case ...500_000: return 9
        case ...1_000_000: return 10
        case ...2_500_000: return 11
        case ...5_000_000: return 12
        case ...10_000_000: return 13
        default: return 14
        }
    }

    public func count(_ event: Event) { counters.add(Self.eventBase + event.rawValue) }

    /// The watcher's state and counters, as read from Redis at scrape time.
    public struct WatcherSnapshot: Sendable {
        public var state: [String: String] = [:]
        public var claims: [String: String] = [:]
        public var rejections: [String: String] = [:]
        public var rpc: [String: String] = [:]
        public init() {}
    }

    public func render(watcher: WatcherSnapshot?, redisMaster: String? = nil) -> String {
        var out = ""
        func header(_ name: String, _ type: String, _ help: String) { out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n" }
        header("steemauth_http_requests_total", "counter", "Requests answered by the pool, by route and status code.")
        for route in Route.allCases {
            for c in 0..<Self.codeSlots {
                let n = counters.load(route.rawValue * Self.codeSlots + c)
                if n == 0 { continue }
                let code = c < Self.codes.count ? String(Self.codes[c]) : "other"
                out += "steemauth_http_requests_total{route=\"\(route.label)\",code=\"\(code)\"} \(n)\n"
            }
        }
        header("steemauth_http_request_duration_seconds", "histogram", "Time the pool spent on a request.")
        var cumulative: UInt64 = 0
        for (i, le) in Self.buckets.enumerated() {
            cumulative += counters.load(Self.bucketBase + i)
            out += "steemauth_http_request_duration_seconds_bucket{le=\"\(le)\"} \(cumulative)\n"
        }
        cumulative += counters.load(Self.bucketBase + Self.buckets.count)
        out += "steemauth_http_request_duration_seconds_bucket{le=\"+Inf\"} \(cumulative)\n"
        out += "steemauth_http_request_duration_seconds_sum \(Double(counters.load(Self.sumSlot)) / 1_000_000)\n"
        out += "steemauth_http_request_duration_seconds_count \(counters.load(Self.countSlot))\n"
        for event in Event.allCases where event != .nodeDisagreement {
            header(event.name, "counter", event.help)
            out += "\(event.name) \(counters.load(Self.eventBase + event.rawValue))\n"
        }
        header(Event.nodeDisagreement.name, "counter", Event.nodeDisagreement.help)
        out += "steemauth_node_disagreements_total{what=\"authority\"} \(counters.load(Self.eventBase + Event.nodeDisagreement.rawValue))\n"
        for (key, n) in (watcher?.rpc ?? [:]).sorted(by: { $0.key < $1.key }) where key.hasPrefix("disagreements|") {
            out += "steemauth_node_disagreements_total{what=\"\(escape(String(key.dropFirst(14))))\"} \(number(n))\n"
        }
        if let redisMaster {
            header("steemauth_redis_master_info", "gauge", "The Redis master this worker talks to (found through Sentinel).")
            out += "steemauth_redis_master_info{address=\"\(escape(redisMaster))\"} 1\n"
        }
        guard let w = watcher else { return out }
        let gauges: [(String, String, String)] = [
            ("head", "steemauth_watcher_head_block", "Head block number the watcher last saw."),
            ("irreversible", "steemauth_watcher_irreversible_block", "Last irreversible block number the watcher last saw."),
            ("processed", "steemauth_watcher_processed_block", "Last block the watcher processed."),
            ("behind", "steemauth_watcher_lag_seconds", "Head block time minus the last processed block's time (chain clocks)."),
            ("updated", "steemauth_watcher_last_update_timestamp_seconds", "When the watcher last published (unix time)."),
        ]
        for (field, name, help) in gauges {
            header(name, "gauge", help)
            out += "\(name) \(w.state[field].flatMap { Int64($0) } ?? 0)\n"
        }
        header("steemauth_claims_total", "counter", "Login claims the watcher tried, by outcome.")
        for (outcome, n) in w.claims.sorted(by: { $0.key < $1.key }) { out += "steemauth_claims_total{outcome=\"\(escape(outcome))\"} \(number(n))\n" }
        header("steemauth_transfers_rejected_total", "counter", "Transfers to the service account that were not valid claims, by reason.")
        for (reason, n) in w.rejections.sorted(by: { $0.key < $1.key }) { out += "steemauth_transfers_rejected_total{reason=\"\(escape(reason))\"} \(number(n))\n" }
        header("steemauth_rpc_calls_total", "counter", "JSON-RPC requests the watcher sent, by node.")
        for (key, n) in w.rpc.sorted(by: { $0.key < $1.key }) where key.hasPrefix("calls|") {
            out += "steemauth_rpc_calls_total{node=\"\(escape(String(key.dropFirst(6))))\"} \(number(n))\n"
        }
        header("steemauth_rpc_failures_total", "counter", "JSON-RPC requests that failed, by node.")
        for (key, n) in w.rpc.sorted(by: { $0.key < $1.key }) where key.hasPrefix("failures|") {
            out += "steemauth_rpc_failures_total{node=\"\(escape(String(key.dropFirst(9))))\"} \(number(n))\n"
        }
        header("steemauth_watcher_wait_timeouts_total", "counter", "Batches with bindings no Redis replica acknowledged in time (applied again).")
        out += "steemauth_watcher_wait_timeouts_total \(number(w.rpc["wait_timeouts"] ?? "0"))\n"
        header("steemauth_rpc_batch_size", "gauge", "Calls per JSON-RPC batch the watcher sends each node now (halved when a node refuses a batch).")
        for (key, n) in w.rpc.sorted(by: { $0.key < $1.key }) where key.hasPrefix("batch|") {
            out += "steemauth_rpc_batch_size{node=\"\(escape(String(key.dropFirst(6))))\"} \(number(n))\n"
        }
        return out
    }

    /// A value read from Redis, written only as the number it must be.
    private func number(_ text: String) -> Int64 { Int64(text) ?? 0 }

    private func escape(_ s: String) -> String {
        s.replacing("\\", with: "\\\\").replacing("\"", with: "\\\"").replacing("\n", with: "\\n")
    }
}
