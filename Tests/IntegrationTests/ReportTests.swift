import Foundation
import Glibc
import SteemAuthAdapters
import SteemAuthCore
import XCTest

/// The stale-follows report through nginx + pool + Redis + devchain.
final class ReportTests: XCTestCase {
    var cluster: Cluster!
    var node = ""

    override func setUpWithError() throws {
        cluster = try Cluster(extraEnv: ["STEEMAUTH_RPC_TIMEOUT": "2", "STEEMAUTH_REPORT_TIMEOUT": "3"])
        node = try cluster.startAll(devchain: true)[0]
    }
    override func tearDown() {
        if let cluster, (testRun?.failureCount ?? 0) > 0 { print("--- pool log ---\n" + cluster.poolLog().suffix(3000)) }
        cluster?.tearDown()
    }

    func rpcCalls() throws -> [String: Int] { try cluster.rpcCalls(node) }
    func loggedIn(as account: String) throws -> Browser { try cluster.loggedIn(as: account) }

    func testReportFor2500FollowsIsRightAndThenServedFromCache() throws {
        try cluster.devchain(["seed", "--account", "alice", "--follows", "2500", "--stale", "300", "--never", "20"])
        let b = try loggedIn(as: "alice")
        let before = try rpcCalls()
        let page = try b.get("/steemauth")
        XCTAssertEqual(page.status, 200)
        let calls = try rpcCalls()
        XCTAssertEqual((calls["get_following"] ?? 0) - (before["get_following"] ?? 0), 3, "2,500 follows = 3 pages of 1,000")
        XCTAssertGreaterThanOrEqual((calls["get_accounts"] ?? 0) - (before["get_accounts"] ?? 0), 25)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(b.get("/steemauth/report.json").body)) as? [String: Any])
        XCTAssertEqual(json["account"] as? String, "alice")
        XCTAssertEqual(json["following_count"] as? Int, 2500)
        XCTAssertEqual(json["stale_days"] as? Int, 40)
        XCTAssertTrue(json.keys.contains("behind_seconds") && json.keys.contains("computed_at"))
        let stale = try XCTUnwrap(json["stale"] as? [[String: Any]])
        let never = try XCTUnwrap(json["never_posted"] as? [String])
        // The seed makes followers 0..299 stale and 300..319 never-posted (names f00000-alice …).
        XCTAssertEqual(Set(stale.map { $0["name"] as! String }), Set((0..<300).map { "f" + String(format: "%05d", $0) + "-alice" }))
        XCTAssertEqual(never, (300..<320).map { "f" + String(format: "%05d", $0) + "-alice" })
        let days = stale.map { $0["days"] as! Int }
        XCTAssertEqual(days, days.sorted(by: >), "most stale first")
        XCTAssertTrue(days.allSatisfy { $0 >= 40 })
        // The page lists every stale and never-posted account, in the same order, and no active one.
        var cursor = page.text.startIndex
        for entry in stale {
            let name = "@" + (entry["name"] as! String) + "<"
            guard let r = page.text.range(of: name, range: cursor..<page.text.endIndex) else { return XCTFail("\(name) missing or out of order") }
            cursor = r.upperBound
        }
        for name in never { XCTAssertTrue(page.text.contains("@\(name)<")) }
        XCTAssertFalse(page.text.contains("@f00320-alice<"), "an active account is never named")
        XCTAssertTrue(page.text.contains("300</strong> of the <strong>2500"))
        XCTAssertTrue(page.text.contains("https://steemit.com/@f00000-alice"))
        XCTAssertTrue(page.text.contains("feedbeef"), "the proving transaction is shown")
        // Second view: from the cache, without any RPC call.
        let again = try b.get("/steemauth")
        XCTAssertEqual(again.status, 200)
        XCTAssertEqual(try rpcCalls(), try rpcCalls(), "stats are stable")
        XCTAssertEqual(try rpcCalls()["get_following"], calls["get_following"], "served from cache")
        XCTAssertEqual(try rpcCalls()["get_accounts"], calls["get_accounts"])
    }

    /// The worker that computed a report hands its place to a fresh one (the memory the computation
    /// touched goes back to the system); nothing is lost: the page came whole, the next view is
    /// served from the cache by the fresh worker, and the master counts a worker that left, not a crash.
    func testAWorkerThatComputedAReportHandsItsPlaceToAFreshOne() throws {
        try cluster.devchain(["seed", "--account", "alice", "--follows", "1500", "--stale", "300", "--never", "20"])
        let b = try loggedIn(as: "alice")
        let before = Set(cluster.workerPIDs())
        XCTAssertEqual(before.count, 2)
        let first = try b.get("/steemauth")
        XCTAssertEqual(first.status, 200)
        XCTAssertTrue(first.text.contains("300</strong> of the <strong>1500"))
        try waitUntil("one worker replaced", seconds: 30) {
            let now = Set(self.cluster.workerPIDs())
            return now.count == 2 && now.intersection(before).count == 1
        }
        try waitUntil("the master logs it", seconds: 30) { self.cluster.poolLog().contains("pool: worker left") }
        XCTAssertFalse(cluster.poolLog().contains("worker died"), "a worker that hands its place over is not a crash")
        XCTAssertTrue(cluster.poolLog().contains("worker: recycling"), "the worker says why it leaves")
        let calls = try rpcCalls()
        for _ in 0..<4 {
            let again = try b.get("/steemauth")
            XCTAssertEqual(again.status, 200)
            XCTAssertEqual(again.text, first.text)
        }
        XCTAssertEqual(try rpcCalls(), calls, "served from the cache: no recomputation, no further recycling")
        XCTAssertEqual(Set(cluster.workerPIDs()).count, 2)
        XCTAssertEqual(cluster.poolLog().components(separatedBy: "pool: worker left").count - 1, 1)
        // A failed computation does not recycle: a node outage must not fork a worker per view.
        try cluster.devchain(["seed", "--account", "dave", "--follows", "20", "--stale", "2", "--never", "0"])
        let d = try loggedIn(as: "dave")
        let steady = Set(cluster.workerPIDs())
        try cluster.devchain(["fault", "--mode", "garbage", "--count", "3"])
        XCTAssertEqual(try d.get("/steemauth").status, 502)
        XCTAssertEqual(try b.get("/steemauth").status, 200)
        XCTAssertEqual(Set(cluster.workerPIDs()), steady)
    }

    /// STEEMAUTH_RECYCLE_AFTER_REPORT=0: the worker keeps its place after computing a report.
    func testRecyclingAfterAReportCanBeTurnedOff() throws {
        cluster.tearDown()
        cluster = try Cluster(extraEnv: ["STEEMAUTH_RECYCLE_AFTER_REPORT": "0"])
        node = try cluster.startAll(devchain: true)[0]
        try cluster.devchain(["seed", "--account", "alice", "--follows", "200", "--stale", "30", "--never", "2"])
        let b = try loggedIn(as: "alice")
        let before = Set(cluster.workerPIDs())
        XCTAssertEqual(try b.get("/steemauth").status, 200)
        for _ in 0..<4 { XCTAssertEqual(try b.get("/steemauth/status").status, 200) }
        XCTAssertEqual(Set(cluster.workerPIDs()), before)
        XCTAssertFalse(cluster.poolLog().contains("pool: worker left"))
    }

    /// The logged-in page compressed: the list compressed once when cached, the frame per request,
    /// one gzip member that GNU gzip decodes to exactly the plain page, a quarter of its bytes or less.
    func testReportPageIsServedGzipToClientsThatTakeIt() throws {
        try cluster.devchain(["seed", "--account", "alice", "--follows", "1500", "--stale", "300", "--never", "20"])
        let b = try loggedIn(as: "alice")
        let first = try b.get("/steemauth", headers: ["Accept-Encoding: gzip, deflate, br"])    // computes, caches, compresses
        XCTAssertEqual(first.status, 200)
        XCTAssertEqual(first.header("Content-Encoding"), "gzip")
        for _ in 0..<2 {
            let plain = try b.get("/steemauth")
            let gz = try b.get("/steemauth", headers: ["Accept-Encoding: gzip"])
            XCTAssertNil(plain.header("Content-Encoding"), "a client that does not take gzip gets the plain page")
            XCTAssertEqual(gz.header("Content-Encoding"), "gzip")
            XCTAssertEqual(plain.header("Vary"), "Accept-Encoding, Cookie")
            XCTAssertEqual(gz.header("Vary"), "Accept-Encoding, Cookie")
            XCTAssertEqual(try gunzip(gz.body), plain.text)
            XCTAssertEqual(try gunzip(first.body), plain.text)
            XCTAssertLessThanOrEqual(gz.body.count * 4, plain.body.count, "at most 25% of the plain page's bytes")
            print("report page: \(plain.body.count) bytes plain, \(gz.body.count) gzip")
        }
        XCTAssertEqual(try b.get("/steemauth", headers: ["Accept-Encoding: gzip;q=0"]).header("Content-Encoding"), nil)
        let head = try b.http.request("HEAD", url: cluster.baseURL + "/steemauth", headers: ["Accept-Encoding: gzip"])
        XCTAssertEqual(head.status, 200)
        XCTAssertEqual(head.header("Content-Encoding"), "gzip")
        XCTAssertTrue(head.body.isEmpty)
    }

    /// A large page leaves the worker straight from the Redis reply's memory, as FastCGI records of
    /// up to 64 KB (libfcgi's own are at most 8 KB): spoken as raw FastCGI, every record is well
    /// formed and for this request, the stream ends as libfcgi ends it, and the body is the page
    /// nginx serves, byte for byte.
    func testALargePageGoesOutInWellFormedLargeRecords() throws {
        try cluster.devchain(["seed", "--account", "alice", "--follows", "1500", "--stale", "300", "--never", "20"])
        let b = try loggedIn(as: "alice")
        XCTAssertEqual(try b.get("/steemauth").status, 200)          // computes and caches; the id rotates
        let viaNginx = try b.get("/steemauth")
        let cookie = try XCTUnwrap(b.cookie)
        let socketPath = String(cluster.upstream.dropFirst(5))
        var params = [("SERVER_PROTOCOL", "HTTP/1.1"), ("REMOTE_ADDR", "127.0.0.1"), ("HTTP_HOST", "127.0.0.1"),
                      ("REQUEST_METHOD", "GET"), ("DOCUMENT_URI", "/steemauth"), ("HTTP_COOKIE", "\(CookieSigner.name)=" + cookie)]
        let reply = try FastCGIExchange(socketPath: socketPath, params: params, body: [])
        XCTAssertTrue(reply.records.allSatisfy { $0.version == 1 && $0.requestID == 1 }, "version 1, this request's id")
        XCTAssertEqual(reply.records.map(\.type).filter { $0 != 6 }, [3], "STDOUT records, then END_REQUEST")
        XCTAssertEqual(reply.records.dropLast().last?.content.count, 0, "an empty STDOUT record ends the stream")
        XCTAssertGreaterThan(reply.records.map(\.content.count).max() ?? 0, 8192, "the page went out in records over 8 KB")
        let text = String(decoding: reply.stdout, as: UTF8.self)
        let parts = text.components(separatedBy: "\r\n\r\n")
        let headers = parts[0], body = parts.dropFirst().joined(separator: "\r\n\r\n")
        XCTAssertTrue(headers.hasPrefix("Status: 200"), headers)
        XCTAssertTrue(headers.components(separatedBy: "\r\n").contains("Content-Length: \(body.utf8.count)"), headers)
        XCTAssertEqual(body, viaNginx.text)
        XCTAssertGreaterThan(body.utf8.count, 40_000)
        // HEAD: the same headers, no body.
        params[3] = ("REQUEST_METHOD", "HEAD")
        let head = String(decoding: try FastCGIExchange(socketPath: socketPath, params: params, body: []).stdout, as: UTF8.self)
        XCTAssertTrue(head.hasSuffix("\r\n\r\n") && head.hasPrefix("Status: 200"), head)
    }

    /// The ask page compressed too: its frozen parts and QR code compressed once, the memo and the
    /// rest per request; GNU gzip decodes it to exactly the plain page.
    func testAskPageIsServedGzipToClientsThatTakeIt() throws {
        let b = Browser(cluster.baseURL)
        _ = try b.get("/")
        for round in 0..<2 {
            let plain = try b.get("/steemauth")
            let gz = try b.get("/steemauth", headers: ["Accept-Encoding: gzip, deflate, br"])
            XCTAssertEqual(plain.status, 200)
            XCTAssertNil(plain.header("Content-Encoding"))
            XCTAssertEqual(gz.header("Content-Encoding"), "gzip")
            XCTAssertEqual(plain.header("Vary"), "Accept-Encoding, Cookie")
            XCTAssertEqual(gz.header("Vary"), "Accept-Encoding, Cookie")
            XCTAssertEqual(try gunzip(gz.body), plain.text, "round \(round)")
            XCTAssertNotNil(Browser.memo(in: plain.text))
            XCTAssertLessThan(gz.body.count * 2, plain.body.count)
            print("ask page: \(plain.body.count) bytes plain, \(gz.body.count) gzip")
        }
    }

    func gunzip(_ bytes: [UInt8]) throws -> String {
        let path = cluster.dir + "/page.gz"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let (status, output) = try Cluster.run("/bin/gzip", ["-dc", path])
        XCTAssertEqual(status, 0, output.prefix(200).description)
        return output
    }

    func testNodeFailureShowsAnErrorPageAndRecovers() throws {
        try cluster.devchain(["seed", "--account", "bob", "--follows", "50", "--stale", "5", "--never", "1"])
        let b = try loggedIn(as: "bob")
        try cluster.devchain(["fault", "--mode", "garbage", "--count", "3"])
        let failed = try b.get("/steemauth")
        XCTAssertEqual(failed.status, 502)
        XCTAssertTrue(failed.text.contains("Try again"))
        XCTAssertFalse(failed.text.contains("Swift") || failed.text.contains("Fatal"), "no stack trace")
        // A failure is remembered for 30 s (ReportDeadlineTests); forgotten here to meet the next fault.
        _ = try cluster.redis().command(["DEL", "steemauth:rf:bob"])
        // A node far slower than the report's deadline: the pool's own 504 page (nginx would time
        // out much later), not a hang.
        try cluster.devchain(["fault", "--mode", "slow", "--count", "1", "--seconds", "60"])
        let slow = try b.get("/steemauth")
        XCTAssertEqual(slow.status, 504)
        XCTAssertTrue(slow.text.contains("The chain is slow"), "bounded by STEEMAUTH_REPORT_TIMEOUT")
        _ = try cluster.redis().command(["DEL", "steemauth:rf:bob"])
        try waitUntil("the node recovers", seconds: 30, interval: 0.2) { try b.get("/steemauth").status == 200 }
        XCTAssertTrue(try b.get("/steemauth").text.contains("5</strong> of the <strong>50"))
        XCTAssertTrue(cluster.poolLog().contains("report failed"))
    }

    /// One request at a time computes an account's report (a claim in Redis that every worker and
    /// web host sees): while another holds it, the page, report.json and report.csv ask for a retry
    /// and nothing more reaches the chain. A computation gives the claim back, failed or not.
    func testOneRequestAtATimeComputesAnAccountsReport() throws {
        try cluster.devchain(["seed", "--account", "dave", "--follows", "30", "--stale", "4", "--never", "1"])
        let b = try loggedIn(as: "dave")
        XCTAssertEqual(try b.get("/steemauth").status, 200)       // computed and cached; the id rotated
        let redis = cluster.redis(), claim = "steemauth:rc:dave", cached = ["steemauth:r:dave", "steemauth:rh:dave", "steemauth:rz:dave"]
        XCTAssertEqual(try redis.command(["EXISTS", claim]), .integer(0), "given back after computing")
        _ = try redis.command(["DEL"] + cached)
        // Another request is computing it (held here for it, as a request of another web host would).
        XCTAssertEqual(try redis.command(["SET", claim, "another-request", "PX", "600000"]), .status("OK"))
        let calls = try rpcCalls()["get_following"] ?? 0
        let page = try b.get("/steemauth")
        XCTAssertEqual(page.status, 503)
        XCTAssertTrue(page.text.contains("Your report is being prepared"), page.text)
        XCTAssertTrue(page.text.contains(#"<meta http-equiv="refresh" content="2">"#), "the page retries by itself")
        XCTAssertEqual(page.header("Retry-After"), "2")
        let json = try b.get("/steemauth/report.json")
        XCTAssertEqual(json.status, 503)
        XCTAssertEqual(json.text, #"{"error":"the report is being computed"}"#)
        XCTAssertEqual(json.header("Retry-After"), "2")
        let csv = try b.get("/steemauth/report.csv")
        XCTAssertEqual(csv.status, 503)
        XCTAssertEqual(csv.header("Retry-After"), "2")
        XCTAssertEqual(try rpcCalls()["get_following"] ?? 0, calls, "no second computation reached the chain")
        XCTAssertEqual(try redis.command(["GET", claim]), .bulk(Array("another-request".utf8)), "another request's claim is left alone")
        // That request is done: the next view computes.
        _ = try redis.command(["DEL", claim])
        let computed = try b.get("/steemauth")
        XCTAssertEqual(computed.status, 200)
        XCTAssertTrue(computed.text.contains("4</strong> of the <strong>30"))
        XCTAssertEqual(try rpcCalls()["get_following"] ?? 0, calls + 1)
        XCTAssertEqual(try redis.command(["EXISTS", claim]), .integer(0))
        // A failed computation gives it back too, so the retry is not held up.
        _ = try redis.command(["DEL"] + cached)
        try cluster.devchain(["fault", "--mode", "garbage", "--count", "3"])
        XCTAssertEqual(try b.get("/steemauth").status, 502)
        XCTAssertEqual(try redis.command(["EXISTS", claim]), .integer(0))
        XCTAssertTrue(cluster.poolLog().contains("report being computed by another request"))
        XCTAssertTrue(try HTTPClient().request(url: cluster.baseURL + "/metrics").text.contains("\nsteemauth_reports_busy_total 3\n"))
        // The claim itself: one holder at a time; another token does not give it back; it expires.
        let store = RedisReportCacheStore(redis: cluster.redis(), prefix: "steemauth:")
        XCTAssertEqual(try store.claimReportComputation(account: "erin", token: "a", milliseconds: 60_000), .claimed)
        XCTAssertEqual(try store.claimReportComputation(account: "erin", token: "b", milliseconds: 60_000), .heldByAnother)
        try store.releaseReportComputation(account: "erin", token: "b")
        XCTAssertEqual(try store.claimReportComputation(account: "erin", token: "b", milliseconds: 60_000), .heldByAnother)
        let left = try redis.command(["PTTL", "steemauth:rc:erin"]).integer ?? 0
        XCTAssertTrue(left > 0 && left <= 60_000, "a holder that dies does not hold it for ever (\(left) ms)")
        try store.releaseReportComputation(account: "erin", token: "a")
        XCTAssertEqual(try store.claimReportComputation(account: "erin", token: "b", milliseconds: 60_000), .claimed)
        try store.releaseReportComputation(account: "erin", token: "b")
        // A report another request cached after this one read the session comes back with the
        // claim's answer, and nobody claims to compute it again.
        try store.cacheReport(account: "erin", json: Array("{}".utf8), html: "<li>erin</li>", compressedHTML: [1, 2, 3], ttl: 60)
        XCTAssertEqual(try store.claimReportComputation(account: "erin", token: "c", milliseconds: 60_000),
                       .cached(json: Array("{}".utf8), html: Array("<li>erin</li>".utf8), compressedHTML: [1, 2, 3]))
        XCTAssertEqual(try redis.command(["EXISTS", "steemauth:rc:erin"]), .integer(0))
    }

    func testVerifyForAuthRequestAndRefresh() throws {
        try cluster.devchain(["seed", "--account", "carol", "--follows", "10", "--stale", "2", "--never", "0"])
        let anonymous = HTTPClient()
        XCTAssertEqual(try anonymous.request(url: cluster.baseURL + "/steemauth/verify").status, 401)
        XCTAssertEqual(try anonymous.request(url: cluster.baseURL + "/steemauth/report.json").status, 401)
        let waiting = Browser(cluster.baseURL)
        _ = try waiting.startLogin()
        XCTAssertEqual(try waiting.get("/steemauth/verify").status, 401, "unbound is not logged in")
        XCTAssertEqual(try waiting.get("/steemauth/report.json").status, 401)
        let b = try loggedIn(as: "carol")
        let v = try b.get("/steemauth/verify")
        XCTAssertEqual(v.status, 200)
        XCTAssertEqual(v.header("X-SteemAuth-Account"), "carol")
        XCTAssertEqual(try b.get("/steemauth").status, 200)
        let calls = try rpcCalls()["get_following"] ?? 0
        let origin = "Origin: http://127.0.0.1:\(cluster.httpPort)"
        XCTAssertEqual(try b.post("/steemauth/refresh", headers: [origin]).status, 303)
        XCTAssertEqual(try b.get("/steemauth").status, 200)
        XCTAssertEqual(try rpcCalls()["get_following"], calls + 1, "refresh recomputes")
        XCTAssertEqual(try b.post("/steemauth/refresh", headers: [origin]).status, 303)
        XCTAssertEqual(try b.get("/steemauth").status, 200)
        XCTAssertEqual(try rpcCalls()["get_following"], calls + 1, "at most once a minute")
        XCTAssertEqual(try b.post("/steemauth/refresh").status, 403, "same-origin only")
    }
}
