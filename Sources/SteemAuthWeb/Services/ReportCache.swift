import FastCGIKit
import FoundationEssentials
import SteemAuthAdapters
import SteemAuthCore

/// A logged-in visitor's report: from the cache when it is there, else computed from the chain
/// (`ReportService`) by one request at a time per account, and cached as JSON and as rendered HTML.
final class ReportCache: SiteRoom {
    let site: Site
    let service: ReportService

    init(site: Site, service: ReportService) { self.site = site; self.service = service }

    /// The report from the chain, cached as JSON (report.json) and as rendered HTML (the page).
    /// One request at a time computes an account's report: a reload, a second tab or a burst of
    /// requests while it is computed gets `.busy` (a page that retries) instead of holding another
    /// worker on the chain for the same work.
    func computeAndCache(account: String) -> Result<(report: StaleReport, html: String, segment: DeflateSegment), ReportService.Failure> {
        let started = monotonicMilliseconds()
        // The claim outlives the report's deadline a little: a worker killed mid-computation
        // leaves it to expire.
        let token = Hex.encode(SystemRandom.bytes(16))
        var holdsClaim = false
        do {
            switch try reportCache.claimReportComputation(account: account, token: token, milliseconds: Int(config.reportTimeout * 1000) + 5000) {
            case .claimed:
                holdsClaim = true
            case .heldByAnother:
                metrics?.count(.reportBusy)
                logger.info("report being computed by another request", metadata: ["account": "\(account)"])
                return .failure(.busy)
            case .recentlyFailed(let secondsLeft):
                logger.info("report failed moments ago; the nodes are not asked again yet",
                            metadata: ["account": "\(account)", "retry_in_s": "\(secondsLeft)"])
                return .failure(.recentlyFailed(secondsLeft: secondsLeft))
            case .cached(let json, let html, let compressedHTML):
                // Another request cached it after this one read the session.
                if let report = Self.decodedReport(json) {
                    let text = String(decoding: html, as: UTF8.self)
                    return .success((report, text, DeflateSegment(stored: compressedHTML) ?? GzipDeflate(level: 9).segment(text, final: false)))
                }
                logger.warning("cached report unreadable, computing it again", metadata: ["account": "\(account)"])
            }
        } catch {
            // The session was just read from Redis; if the claim cannot be made, compute unclaimed.
            logger.warning("report claim failed, computing without it", metadata: ["account": "\(account)", "error": "\(error)"])
        }
        defer {
            if holdsClaim {
                do { try reportCache.releaseReportComputation(account: account, token: token) }
                catch { logger.warning("report claim not released (it expires)", metadata: ["account": "\(account)", "error": "\(error)"]) }
            }
        }
        requestScope.afterResponse = .trimMemory    // the computation's freed heap goes back to the system after the response
        do {
            let report = try service.compute(account: account, deadline: monotonicMilliseconds() + Int64(config.reportTimeout * 1000))
            // It touched code and heap that pages never need again (the RPC client, the JSON of
            // thousands of accounts, the list's rendering): a fresh worker takes over after this
            // response. Not after a failure: a node outage must not turn every view into a fork.
            if config.recycleAfterReport { requestScope.afterResponse = .recycle }
            metrics?.count(.reportComputed)
            logger.info("report computed", metadata: ["account": "\(account)", "following": "\(report.followingCount)",
                                                      "stale": "\(report.stale.count)", "ms": "\(monotonicMilliseconds() - started)"])
            let html = templates.render("report_list", listValues(report))
            // Compressed once, as well as zlib can: every gzip view of this report reuses it.
            let segment = GzipDeflate(level: 9).segment(html, final: false)
            if let json = try? JSONEncoder().encode(report) {
                do { try reportCache.cacheReport(account: account, json: Array(json), html: html, compressedHTML: segment.stored, ttl: config.reportTTL) }
                catch { logger.warning("report not cached", metadata: ["error": "\(error)"]) }
            }
            return .success((report, html, segment))
        } catch {
            metrics?.count(.reportFailed)
            logger.error("report failed", metadata: ["account": "\(account)", "error": "\(error)"])
            // Remembered (before the claim is given back): for a while, views of this account say
            // so at once instead of asking the nodes again.
            do { try reportCache.rememberReportFailure(account: account) }
            catch { logger.warning("report failure not remembered", metadata: ["account": "\(account)", "error": "\(error)"]) }
            return .failure(error)
        }
    }

    /// The report from the JSON cached in the same round trip, else from the chain (and cached).
    func report(of account: String, cached: [UInt8]?) -> Result<StaleReport, ReportService.Failure> {
        if let cached, let report = Self.decodedReport(cached) { return .success(report) }
        return computeAndCache(account: account).map(\.report)
    }

    /// A report as cached (report.json's JSON); nil when it cannot be read.
    static func decodedReport(_ json: [UInt8]) -> StaleReport? { try? JSONDecoder().decode(StaleReport.self, from: Data(json)) }

    func listValues(_ report: StaleReport) -> [String: Any] {
        let frontend = config.frontend
        let link = { (name: String) in frontend + "/@" + name }
        let basis = report.basis ?? .lastPost
        var values: [String: Any] = [
            "account": report.account, "basis": basis.rawValue,
            "basisVerb": basis == .lastRootPost ? "posted a top-level post" : "posted",
            "basisNoun": basis == .lastRootPost ? "top-level post" : "post or comment",
            "staleDays": report.staleDays,
            "followingCount": report.followingCount, "staleCount": report.stale.count, "neverCount": report.neverPosted.count,
            "computedAt": ChainTime(report.computedAt)?.displayUTC ?? report.computedAt,
            "stale": report.stale.map { ["name": $0.name, "url": link($0.name), "days": $0.days, "lastPost": String($0.lastPost.prefix(10))] as [String: Any] },
            "never": report.neverPosted.map { ["name": $0, "url": link($0)] },
        ]
        if !report.stale.isEmpty { values["hasStale"] = true }
        if !report.neverPosted.isEmpty { values["hasNever"] = true }
        return values
    }
}
