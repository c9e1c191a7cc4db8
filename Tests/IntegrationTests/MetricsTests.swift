import Foundation
import Glibc
import SteemAuthAdapters
import SteemAuthCore
import XCTest

/// `/metrics` scraped through nginx: pool-wide counters that survive a worker's death, and the
/// watcher's numbers from Redis.
final class MetricsTests: XCTestCase {
    var cluster: Cluster!
    override func tearDown() {
        if let cluster, (testRun?.failureCount ?? 0) > 0 { print(cluster.poolLog().suffix(2000)) }
        cluster?.tearDown()
    }

    func value(_ text: String, _ series: String) -> Double? {
        for line in text.split(separator: "\n") where line.hasPrefix(series + " ") {
            return Double(line.split(separator: " ").last!)
        }
        return nil
    }

    func testScrapeCountsRequestsWorkersClaimsAndRPC() throws {
        cluster = try Cluster()
        try cluster.startAll(devchain: true)
        _ = try cluster.startWatcher(["--from-block", "1"])
        let b = Browser(cluster.baseURL)
        let memo = try b.startLogin()
        for _ in 0..<5 { XCTAssertEqual(try b.get("/steemauth/status").status, 200) }
        try cluster.devchain(["transfer", "--from", "alice", "--to", "steemauth.demo", "--memo", "not a code", "--now"])
        try cluster.devchain(["transfer", "--from", "alice", "--to", "steemauth.demo", "--memo", memo, "--now"])
        try waitUntil("bound", seconds: 30) { try b.status().1["bound"] as? Bool == true }
        let c = HTTPClient()
        var scrape = try c.request(url: cluster.baseURL + "/metrics")
        XCTAssertEqual(scrape.status, 200)
        XCTAssertTrue(scrape.header("Content-Type")?.hasPrefix("text/plain") == true)
        let text = scrape.text
        let statusCount = try XCTUnwrap(value(text, #"steemauth_http_requests_total{route="status",code="200"}"#))
        XCTAssertGreaterThanOrEqual(statusCount, 6)
        XCTAssertEqual(value(text, #"steemauth_http_requests_total{route="home",code="302"}"#), 1)
        XCTAssertEqual(value(text, #"steemauth_claims_total{outcome="bound"}"#), 1)
        XCTAssertEqual(value(text, #"steemauth_transfers_rejected_total{reason="not_a_login_code"}"#), 1)
        XCTAssertGreaterThan(value(text, #"steemauth_watcher_processed_block"#) ?? 0, 0)
        XCTAssertNotNil(value(text, "steemauth_watcher_lag_seconds"))
        XCTAssertGreaterThan(value(text, "steemauth_http_request_duration_seconds_count") ?? 0, 7)
        XCTAssertEqual(value(text, "steemauth_worker_starts_total"), 2)
        XCTAssertTrue(text.contains("steemauth_rpc_calls_total{node=\"\(cluster.env["STEEMAUTH_NODES"]!)\"}"), text)
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            XCTAssertTrue(line.hasPrefix("steemauth_"), "every name starts with steemauth_: \(line)")
        }
        // Counters are pool-wide and survive a worker's death.
        let victim = cluster.workerPIDs()[0]
        kill(victim, SIGKILL)
        try waitUntil("replaced", seconds: 30) { self.cluster.workerPIDs().count == 2 && !self.cluster.workerPIDs().contains(victim) }
        try waitUntil("the death is counted", seconds: 30) {
            self.value(try c.request(url: self.cluster.baseURL + "/metrics").text, "steemauth_worker_deaths_total") == 1
        }
        XCTAssertEqual(try b.get("/steemauth/status").status, 200)
        scrape = try c.request(url: cluster.baseURL + "/metrics")
        XCTAssertEqual(value(scrape.text, #"steemauth_http_requests_total{route="status",code="200"}"#), statusCount + 1)
        XCTAssertEqual(value(scrape.text, "steemauth_worker_deaths_total"), 1)
        try waitUntil("the replacement is counted", seconds: 30) {
            self.value(try c.request(url: self.cluster.baseURL + "/metrics").text, "steemauth_worker_starts_total") == 3
        }
        XCTAssertFalse(scrape.text.contains(cluster.secret), "no secret in metrics")
    }

    func testMetricsRefuseAddressesNotAllowed() throws {
        cluster = try Cluster(extraEnv: ["STEEMAUTH_METRICS_ALLOW": "10.1.2.3"])
        try cluster.startAll()
        XCTAssertEqual(try HTTPClient().request(url: cluster.baseURL + "/metrics").status, 403)
    }
}
