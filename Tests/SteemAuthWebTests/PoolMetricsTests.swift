import FastCGIKit
@testable import SteemAuthWeb
import XCTest

/// The request counters' slots come from switches (every request is recorded): they must agree with
/// the lists `/metrics` renders from.
final class PoolMetricsTests: XCTestCase {
    func testEachStatusCodeHasItsOwnSlotAndAnyOtherTheLast() {
        for (i, code) in PoolMetrics.codes.enumerated() { XCTAssertEqual(PoolMetrics.codeSlot(code), i, "\(code)") }
        for other in [0, 100, 201, 204, 301, 418, 499, 501, 599, 999] { XCTAssertEqual(PoolMetrics.codeSlot(other), PoolMetrics.codes.count, "\(other)") }
    }

    func testADurationFallsInTheFirstBucketThatHoldsIt() {
        for (i, seconds) in PoolMetrics.buckets.enumerated() {
            let edge = Int64((seconds * 1_000_000).rounded())
            XCTAssertEqual(PoolMetrics.bucketSlot(edge), i, "\(seconds) s is within its own bucket")
            XCTAssertEqual(PoolMetrics.bucketSlot(edge + 1), i + 1, "just over \(seconds) s is in the next")
        }
        XCTAssertEqual(PoolMetrics.bucketSlot(-5), 0)
        XCTAssertEqual(PoolMetrics.bucketSlot(0), 0)
        XCTAssertEqual(PoolMetrics.bucketSlot(Int64.max), PoolMetrics.buckets.count)
    }

    func testRouteLabelsAreTheOnesDashboardsUse() {
        XCTAssertEqual(PoolMetrics.Route.allCases.map(\.label),
                       ["ping", "home", "page", "status", "logout", "report_json", "report_csv", "unfollow", "verify", "refresh", "signin",
                        "healthz", "metrics", "static", "oidc", "other"])
    }

    func testRecordedRequestsAreRenderedUnderTheirRouteCodeAndBucket() throws {
        let metrics = PoolMetrics(counters: try XCTUnwrap(SharedCounters(slots: PoolMetrics.slotCount)))
        metrics.record(route: .reportCSV, status: 200, microseconds: 700)
        metrics.record(route: .reportCSV, status: 418, microseconds: 30_000)
        metrics.record(route: .staticFile, status: 404, microseconds: 20_000_000)
        let text = metrics.render(watcher: nil)
        for line in [#"steemauth_http_requests_total{route="report_csv",code="200"} 1"#, #"steemauth_http_requests_total{route="report_csv",code="other"} 1"#,
                     #"steemauth_http_requests_total{route="static",code="404"} 1"#,
                     #"steemauth_http_request_duration_seconds_bucket{le="0.0005"} 0"#, #"steemauth_http_request_duration_seconds_bucket{le="0.001"} 1"#,
                     #"steemauth_http_request_duration_seconds_bucket{le="0.05"} 2"#, #"steemauth_http_request_duration_seconds_bucket{le="10.0"} 2"#,
                     #"steemauth_http_request_duration_seconds_bucket{le="+Inf"} 3"#, "steemauth_http_request_duration_seconds_count 3",
                     "steemauth_http_request_duration_seconds_sum 20.0307"] {
            XCTAssertTrue(text.contains(line + "\n"), line)
        }
    }
}
