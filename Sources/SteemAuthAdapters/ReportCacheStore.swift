/// Where a computed report is claimed, cached and refreshed, shared by every worker and web host.
/// Implemented by `RedisReportCacheStore`, and in tests by `InMemoryReportCacheStore`.
public protocol ReportCacheStore: AnyObject {
    /// Caches a freshly computed report for `ttl` seconds (0 = no caching): its JSON for
    /// report.json, its rendered HTML for the page, and that HTML compressed once (a stored deflate
    /// segment) for clients that take gzip.
    func cacheReport(account: String, json: [UInt8], html: String, compressedHTML: [UInt8], ttl: Int) throws(RedisError)

    /// Remembers that `account`'s report failed, for `ReportClaim.rememberFailureSeconds`.
    func rememberReportFailure(account: String) throws(RedisError)

    /// Claims the computation of `account`'s report for `milliseconds`, so that one request at a
    /// time fetches it from the chain; a report cached meanwhile is returned instead of a claim.
    func claimReportComputation(account: String, token: String, milliseconds: Int) throws(RedisError) -> ReportClaim

    /// Gives the claim back, unless it expired and another request holds it now.
    func releaseReportComputation(account: String, token: String) throws(RedisError)

    /// Drops the cached report so the next view recomputes it; false when refreshed within the last minute.
    func requestRefresh(account: String) throws(RedisError) -> Bool
}

public enum ReportClaim: Equatable, Sendable {
    /// This request computes the report.
    case claimed
    /// Another request is computing it.
    case heldByAnother
    /// Another request cached it after this one read the session: no computation needed.
    case cached(json: [UInt8], html: [UInt8], compressedHTML: [UInt8])
    /// A computation failed within the last `rememberFailureSeconds`: not asked again until then.
    case recentlyFailed(secondsLeft: Int)

    /// How long a failed report is remembered per account (the nodes are not asked again meanwhile).
    public static let rememberFailureSeconds = 30
    /// How long a refresh blocks the next one for the same account.
    public static let refreshIntervalSeconds = 60
}
