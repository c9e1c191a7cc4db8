import SteemAuthCore

/// The report cache in Redis (`P r:`, `rh:`, `rz:` the report's JSON, HTML and compressed HTML;
/// `rc:` the computation's claim, `rf:` a remembered failure, `rr:` a recent refresh).
public final class RedisReportCacheStore: ReportCacheStore {
    private let redis: RedisConnection
    public let prefix: String

    public init(redis: RedisConnection, prefix: String) {
        self.redis = redis
        self.prefix = prefix
    }

    /// Caches a freshly computed report for `ttl` seconds (0 = no caching): its JSON for
    /// report.json, its rendered HTML for the page, and that HTML compressed once (a stored deflate
    /// segment) for clients that take gzip — so a cached page view renders and compresses almost nothing.
    public func cacheReport(account: String, json: [UInt8], html: String, compressedHTML: [UInt8], ttl: Int) throws(RedisError) {
        guard ttl > 0 else { return }
        let expiry: [[UInt8]] = [Array("EX".utf8), Array(String(ttl).utf8)]
        let replies = try redis.pipeline(binary: [
            [Array("SET".utf8), Array((prefix + "r:" + account).utf8), json] + expiry,
            [Array("SET".utf8), Array((prefix + "rh:" + account).utf8), Array(html.utf8)] + expiry,
            [Array("SET".utf8), Array((prefix + "rz:" + account).utf8), compressedHTML] + expiry,
        ])
        for r in replies { _ = try r.checked() }
    }

    /// Remembers that `account`'s report failed, for `rememberFailureSeconds`.
    public func rememberReportFailure(account: String) throws(RedisError) {
        _ = try redis.command(["SET", prefix + "rf:" + account, "1", "EX", String(ReportClaim.rememberFailureSeconds)]).checked()
    }

    /// Claims the computation of `account`'s report for `milliseconds`, so that one request at a
    /// time (of every worker and web host) fetches it from the chain. In the same round trip, a report
    /// cached since the session was read is returned instead of a claim.
    public func claimReportComputation(account: String, token: String, milliseconds: Int) throws(RedisError) -> ReportClaim {
        let reply = try redis.eval(SessionScripts.claimReport, args: [prefix, account, token, String(milliseconds)]).checked()
        if let parts = reply.array {
            guard parts.count == 3, case .bulk(let json) = parts[0], case .bulk(let html) = parts[1], case .bulk(let compressed) = parts[2] else {
                throw RedisError(kind: .server, message: "claimReport: unexpected reply")
            }
            return .cached(json: json, html: html, compressedHTML: compressed)
        }
        if let left = reply.integer, left < 0 { return .recentlyFailed(secondsLeft: Int((-left + 999) / 1000)) }
        return reply.integer == 1 ? .claimed : .heldByAnother
    }

    /// Gives the claim back, unless it expired and another request holds it now.
    public func releaseReportComputation(account: String, token: String) throws(RedisError) {
        _ = try redis.eval(SessionScripts.releaseReportClaim, args: [prefix, account, token]).checked()
    }

    /// Drops the cached report so the next view recomputes it; false when refreshed within the last minute.
    public func requestRefresh(account: String) throws(RedisError) -> Bool {
        try redis.eval(SessionScripts.refresh, args: [prefix, account]).integer == 1
    }
}
