import SteemAuthAdapters

/// `ReportCacheStore` in memory, on the keys `RedisReportCacheStore` uses (the session fake's page
/// view finds the pages it caches).
public final class InMemoryReportCacheStore: ReportCacheStore {
    public let keyspace: InMemoryKeyspace
    public let prefix: String

    public init(keyspace: InMemoryKeyspace, prefix: String = "steemauth:") {
        self.keyspace = keyspace
        self.prefix = prefix
    }

    public func cacheReport(account: String, json: [UInt8], html: String, compressedHTML: [UInt8], ttl: Int) throws(RedisError) {
        try keyspace.reachable()
        guard ttl > 0 else { return }
        let ms = Int64(ttl) * 1000
        keyspace.set(prefix + "r:" + account, json, milliseconds: ms)
        keyspace.set(prefix + "rh:" + account, Array(html.utf8), milliseconds: ms)
        keyspace.set(prefix + "rz:" + account, compressedHTML, milliseconds: ms)
    }

    public func rememberReportFailure(account: String) throws(RedisError) {
        try keyspace.reachable()
        keyspace.set(prefix + "rf:" + account, "1", seconds: ReportClaim.rememberFailureSeconds)
    }

    /// `SessionScripts.claimReport`.
    public func claimReportComputation(account: String, token: String, milliseconds: Int) throws(RedisError) -> ReportClaim {
        try keyspace.reachable()
        if let json = keyspace.get(prefix + "r:" + account), let html = keyspace.get(prefix + "rh:" + account),
           let compressed = keyspace.get(prefix + "rz:" + account) {
            return .cached(json: json, html: html, compressedHTML: compressed)
        }
        let failed = keyspace.pttl(prefix + "rf:" + account)
        if failed > 0 { return .recentlyFailed(secondsLeft: Int((failed + 999) / 1000)) }
        return keyspace.set(prefix + "rc:" + account, Array(token.utf8), milliseconds: Int64(milliseconds), .ifAbsent) ? .claimed : .heldByAnother
    }

    public func releaseReportComputation(account: String, token: String) throws(RedisError) {
        try keyspace.reachable()
        if keyspace.getString(prefix + "rc:" + account) == token { keyspace.del(prefix + "rc:" + account) }
    }

    /// `SessionScripts.refresh`.
    public func requestRefresh(account: String) throws(RedisError) -> Bool {
        try keyspace.reachable()
        guard keyspace.set(prefix + "rr:" + account, "1", seconds: ReportClaim.refreshIntervalSeconds, .ifAbsent) else { return false }
        keyspace.del(prefix + "r:" + account, prefix + "rh:" + account, prefix + "rz:" + account)
        return true
    }
}
