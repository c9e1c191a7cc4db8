import Foundation
import SteemAuthAdapters
import SteemAuthCore
import XCTest

/// `steemauth-devchain serve --latency-ms N`: a node across a continent. Only lower bounds are
/// asserted (each answer comes at least N ms late on any machine); the rest is behaviour.
final class DevChainLatencyTests: XCTestCase {
    var cluster: Cluster!
    override func tearDown() { cluster?.tearDown() }

    func testEveryAnswerComesLateAndTheReportStillComes() throws {
        cluster = try Cluster()
        try cluster.startRedis()
        let node = try cluster.startDevchain(latencyMs: 150)[0]
        try cluster.startPool(); try cluster.startNginx()
        let body = Array(#"{"jsonrpc":"2.0","id":1,"method":"condenser_api.get_dynamic_global_properties","params":[]}"#.utf8)
        for _ in 0..<3 {
            let started = Date()
            let r = try HTTPClient().request("POST", url: node, headers: ["Content-Type: application/json"], body: body)
            XCTAssertEqual(r.status, 200)
            XCTAssertGreaterThanOrEqual(Date().timeIntervalSince(started), 0.15, "answered no sooner than the latency")
            XCTAssertTrue(r.text.contains("head_block_number"))
        }
        try cluster.devchain(["seed", "--account", "bob", "--follows", "30", "--stale", "3", "--never", "1"])
        let b = try cluster.loggedIn(as: "bob")
        let page = try b.get("/steemauth")
        XCTAssertEqual(page.status, 200, page.text)
        XCTAssertTrue(page.text.contains("@bob"))
    }
}
