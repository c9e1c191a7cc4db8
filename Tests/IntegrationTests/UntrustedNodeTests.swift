import Foundation
import Glibc
import SteemAuthAdapters
import SteemAuthCore
import XCTest

/// Nodes are not trusted: a gateway that limits batch sizes (as jussi on api.steemit.com does), replies
/// out of order, and a node that serves names the chain would never allow.
final class UntrustedNodeTests: XCTestCase {
    var cluster: Cluster!
    static let hostile = "evil\r\nSet-Cookie: pwn=1\r\nX-SteemAuth-Account: admin"

    override func tearDown() {
        if let cluster, (testRun?.failureCount ?? 0) > 0 {
            print("--- watcher log ---\n" + cluster.log("watcher.log").suffix(3000))
            print("--- pool log ---\n" + cluster.poolLog().suffix(3000))
        }
        cluster?.tearDown()
    }

    func head() throws -> Int64 {
        try XCTUnwrap(Int64(cluster.devchain(["produce"]).split(separator: " ").last!.trimmingCharacters(in: .whitespacesAndNewlines)))
    }

    /// A 300-block catch-up through a gateway that refuses batches over 50, started at 100 calls a
    /// batch: the watcher halves, binds the claim paid in the middle, and says so in /metrics.
    func testCatchUpThroughAGatewayThatLimitsBatches() throws {
        cluster = try Cluster(extraEnv: ["STEEMAUTH_RPC_BATCH": "100"])
        let node = try cluster.startAll(devchain: true, batchLimit: 50)[0]
        let store = cluster.store(), redis = cluster.redis()
        let (id, memo) = try cluster.newSession(store: store)
        try cluster.devchain(["generate", "--blocks", "150", "--transfers-per-block", "3"])
        try cluster.devchain(["transfer", "--from", "middle", "--to", "steemauth.demo", "--memo", memo, "--now"])
        try cluster.devchain(["generate", "--blocks", "150", "--transfers-per-block", "3"])
        let target = try head()
        // The first batches come back last first: replies are matched by id, not by position.
        try cluster.devchain(["fault", "--mode", "reorder", "--count", "4"])
        _ = try cluster.startWatcher(["--from-block", "1", "--batch-size", "100"])
        try waitUntil("caught up", seconds: 60) { (self.cluster.checkpoint(redis: redis) ?? 0) > target }
        XCTAssertEqual(try cluster.boundAccount(id, redis: redis).account, "middle")
        XCTAssertEqual(try redis.command(["HGET", "steemauth:w:steem:claims", "bound"]).integer, 1)
        let log = cluster.log("watcher.log")
        XCTAssertTrue(log.contains("refused a batch; halving"), "the refusal is logged")
        XCTAssertTrue(log.contains("JSONRPC batch size of 100 exceeds 50"))
        XCTAssertFalse(log.contains("every node failed"), "a batch refusal is not a node failure")
        let c = HTTPClient()
        try waitUntil("/metrics shows the batch size in use", seconds: 30) {
            try c.request(url: self.cluster.baseURL + "/metrics").text.contains("steemauth_rpc_batch_size{node=\"\(node)\"} 50")
        }
    }

    /// The report through a gateway's batch limit: 50 (jussi's default), and 4, which the report's
    /// own batches of get_accounts exceed.
    func testReportThroughAGatewayThatLimitsBatches() throws {
        for limit in [50, 4] {
            cluster = try Cluster(extraEnv: ["STEEMAUTH_REPORT_TIMEOUT": "13"])   // within nginx's 15 s
            try cluster.startAll(devchain: true, batchLimit: limit)
            try cluster.devchain(["seed", "--account", "alice", "--follows", "2500", "--stale", "300", "--never", "20"])
            let b = Browser(cluster.baseURL)
            let memo = try b.startLogin()
            XCTAssertEqual(try cluster.claim(memo: memo, account: "alice", block: 7, transactionID: String(repeating: "ab", count: 20),
                                                     blockTime: "2026-11-23T10:00:00", boundTTL: 3600, now: 1), .bound)
            XCTAssertEqual(try b.get("/steemauth").status, 200, "limit \(limit)")
            let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(b.get("/steemauth/report.json").body)) as? [String: Any])
            XCTAssertEqual(json["following_count"] as? Int, 2500, "limit \(limit)")
            XCTAssertEqual((json["stale"] as? [Any])?.count, 300, "limit \(limit)")
            XCTAssertEqual((json["never_posted"] as? [Any])?.count, 20, "limit \(limit)")
            XCTAssertEqual(cluster.poolLog().contains("refused a batch; halving"), limit < 10, "limit \(limit)")
            cluster.tearDown()
            cluster = nil
        }
    }

    /// A node that lies about who paid: a transfer from an account name the chain never allows
    /// (CR/LF and a header inside) binds nothing, leaves the code usable, and is logged on one line.
    func testAHostileSenderNameBindsNothingAndSplitsNoLogLine() throws {
        cluster = try Cluster()
        try cluster.startAll(devchain: true)
        let redis = cluster.redis()
        _ = try cluster.startWatcher(["--from-block", "1"])
        let b = Browser(cluster.baseURL)
        let memo = try b.startLogin()
        let node = cluster.env["STEEMAUTH_NODES"]!
        // Straight JSON-RPC: the devchain plays a lying node and pushes the name as given.
        let request: JSONValue = .object(["jsonrpc": .string("2.0"), "id": .int(1), "method": .string("devchain.push_transfer"),
                                          "params": .object(["from": .string(Self.hostile), "to": .string("steemauth.demo"),
                                                             "amount": .string("0.001 STEEM"), "memo": .string(memo), "now": .bool(true)])])
        let pushed = try HTTPClient().request("POST", url: node, headers: ["Content-Type: application/json"], body: Array(request.jsonText.utf8))
        let block = try XCTUnwrap((try? JSONDecoder().decode(JSONValue.self, from: Data(pushed.body)))?["result"]?["block_num"]?.intValue)
        try waitUntil("the watcher went past the hostile block", seconds: 30) { (self.cluster.checkpoint(redis: redis) ?? 0) > block }

        let (status, json) = try b.status()
        XCTAssertEqual(status, 200)
        XCTAssertEqual(json["bound"] as? Bool, false)
        XCTAssertEqual(try b.get("/steemauth/verify").status, 401)
        XCTAssertEqual(try b.get("/steemauth/report.json").status, 401)
        let page = try b.get("/steemauth")
        XCTAssertEqual(page.status, 200)
        XCTAssertFalse(page.text.contains("Set-Cookie") || page.text.contains("admin"))
        XCTAssertNil(page.header("X-SteemAuth-Account"))
        XCTAssertEqual(page.headers("Set-Cookie").filter { $0.contains("pwn") }, [])

        // The watcher logs a batch's rejections just after the checkpoint moves: wait for the line.
        try waitUntil("the rejection is logged", seconds: 30) { self.cluster.log("watcher.log").contains("reason=malformed_transfer") }
        let log = cluster.log("watcher.log")
        XCTAssertTrue(log.contains("reason=malformed_transfer"), log.suffix(800).description)
        XCTAssertTrue(log.contains(#"evil\r\nSet-Cookie: pwn=1\r\nX-SteemAuth-Account: admin"#), "logged, escaped, on one line")
        for line in (log + cluster.poolLog()).split(separator: "\n") {
            XCTAssertFalse(line.hasPrefix("Set-Cookie") || line.hasPrefix("X-SteemAuth-Account"), "a forged log line: \(line)")
        }
        let c = HTTPClient()
        try waitUntil("/metrics counts the malformed transfer", seconds: 30) {
            try c.request(url: self.cluster.baseURL + "/metrics").text.contains("steemauth_transfers_rejected_total{reason=\"malformed_transfer\"} 1")
        }

        // The code was not consumed: a real payment still logs the visitor in.
        try cluster.devchain(["transfer", "--from", "alice", "--to", "steemauth.demo", "--memo", memo, "--now"])
        try waitUntil("bound by the real payer", seconds: 30) { try b.status().1["account"] as? String == "alice" }
        XCTAssertEqual(try b.get("/steemauth/verify").header("X-SteemAuth-Account"), "alice")
    }

    /// Names a node returns from get_following and get_accounts are checked: invalid ones never reach
    /// the page, report.json, a link or a log line as they came.
    func testHostileNamesInTheFollowListAreDroppedFromTheReport() throws {
        cluster = try Cluster()
        try cluster.startAll(devchain: true)
        try cluster.devchain(["seed", "--account", "alice", "--follows", "10", "--stale", "2", "--never", "1"])
        let names: [JSONValue] = [.string(Self.hostile), .string("<script>alert(1)</script>"), .string("good.one"), .string("UPPER")]
        let request: JSONValue = .object(["jsonrpc": .string("2.0"), "id": .int(1), "method": .string("devchain.add_follows"),
                                          "params": .object(["account": .string("alice"), "names": .array(names)])])
        _ = try HTTPClient().request("POST", url: cluster.env["STEEMAUTH_NODES"]!, headers: ["Content-Type: application/json"],
                                     body: Array(request.jsonText.utf8))
        let b = Browser(cluster.baseURL)
        let memo = try b.startLogin()
        XCTAssertEqual(try cluster.claim(memo: memo, account: "alice", block: 7, transactionID: String(repeating: "cd", count: 20),
                                                 blockTime: "2026-11-23T10:00:00", boundTTL: 3600, now: 1), .bound)
        let page = try b.get("/steemauth")
        XCTAssertEqual(page.status, 200)
        for bad in ["Set-Cookie", "<script>alert", "&lt;script&gt;", "UPPER"] { XCTAssertFalse(page.text.contains(bad), bad) }
        XCTAssertTrue(page.text.contains("@good.one<"), "the valid never-posted follow is listed")
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(b.get("/steemauth/report.json").body)) as? [String: Any])
        XCTAssertEqual(json["following_count"] as? Int, 11)
        XCTAssertEqual(Set(try XCTUnwrap(json["never_posted"] as? [String])), ["good.one", "f00002-alice"])
        let log = cluster.poolLog()
        XCTAssertTrue(log.contains("invalid account names; dropped"))
        XCTAssertTrue(log.contains("count=3"))
        for line in log.split(separator: "\n") { XCTAssertFalse(line.hasPrefix("Set-Cookie") || line.hasPrefix("X-SteemAuth-Account"), String(line)) }
    }

    /// Safe by construction at the edges: even an account that reached Redis by another path (not the
    /// watcher) cannot split a header, break the status JSON or the page.
    func testAHostileAccountInRedisCannotSplitAHeader() throws {
        cluster = try Cluster()
        try cluster.startAll(devchain: true)
        let b = Browser(cluster.baseURL)
        let memo = try b.startLogin()
        XCTAssertEqual(try cluster.claim(memo: memo, account: Self.hostile, block: 7, transactionID: "x\r\ny",
                                                 blockTime: "t", boundTTL: 3600, now: 1), .bound)
        let (status, json) = try b.status()
        XCTAssertEqual(status, 200)
        XCTAssertEqual(json["account"] as? String, Self.hostile, "JSON carries it escaped, intact")
        let verify = try b.get("/steemauth/verify")
        XCTAssertEqual(verify.status, 200)
        XCTAssertEqual(verify.headers("X-SteemAuth-Account"), ["evilSet-Cookie: pwn=1X-SteemAuth-Account: admin"], "one header, unsplit")
        XCTAssertEqual(verify.headers("Set-Cookie").filter { $0.contains("pwn") }, [])
        let page = try b.get("/steemauth")
        XCTAssertEqual(page.headers("Set-Cookie").filter { $0.contains("pwn") }, [])
        XCTAssertLessThan(page.status, 500)
    }
}
