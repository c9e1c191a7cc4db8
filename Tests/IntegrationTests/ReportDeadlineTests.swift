import Foundation
import Glibc
import SteemAuthAdapters
import SteemAuthCore
import XCTest

/// The report's bounds: one deadline for every node together, inside nginx's read timeout; a
/// failure remembered per account; replies bounded in headers and body.
final class ReportDeadlineTests: XCTestCase {
    var cluster: Cluster!

    override func tearDown() {
        if let cluster, (testRun?.failureCount ?? 0) > 0 { print("--- pool log ---\n" + cluster.poolLog().suffix(3000)) }
        cluster?.tearDown()
    }

    func rpcCalls(_ node: String) throws -> [String: Int] { try cluster.rpcCalls(node) }
    func loggedIn(as account: String) throws -> Browser { try cluster.loggedIn(as: account) }

    /// The first node is slower than the whole report may take; the second would answer at once.
    /// The report's one deadline is spent on the first: the second is not given a timeout of its
    /// own past it. The failure is remembered: for 30 s the account's views say so at once, and no
    /// node is asked.
    func testAReportHasOneDeadlineForAllNodesAndAFailureIsRemembered() throws {
        cluster = try Cluster(extraEnv: ["STEEMAUTH_RPC_TIMEOUT": "10", "STEEMAUTH_REPORT_TIMEOUT": "3"])
        try cluster.startRedis()
        let nodes = try cluster.startDevchain(nodes: 2)
        try cluster.startPool(); try cluster.startNginx()
        try cluster.devchain(["seed", "--account", "bob", "--follows", "20", "--stale", "2", "--never", "0"])
        let b = try loggedIn(as: "bob")
        try cluster.devchain(["fault", "--mode", "slow", "--count", "1", "--seconds", "60"], node: nodes[0])
        // Every call counts (the stats count both nodes): a worker's first call to a node is its
        // chain-id check, sent together with the first get_following.
        func calls() throws -> Int { try rpcCalls(nodes[1]).values.reduce(0, +) }
        let before = try calls()
        let failed = try b.get("/steemauth")
        XCTAssertEqual(failed.status, 504)
        XCTAssertTrue(failed.text.contains("the nodes failed, retry in 30 s"), failed.text)
        XCTAssertEqual(failed.header("Retry-After"), "30")
        XCTAssertEqual(try calls(), before + 2, "the chain-id check and the first page, to the slow node: the second node got no time of its own")
        // Remembered: the page, report.json and report.csv answer at once, and no node is asked.
        let again = try b.get("/steemauth")
        XCTAssertEqual(again.status, 503)
        XCTAssertTrue(again.text.contains("the nodes failed, retry in"), again.text)
        let retry = try XCTUnwrap(again.header("Retry-After").flatMap(Int.init))
        XCTAssertTrue((1...30).contains(retry), "\(retry)")
        let json = try b.get("/steemauth/report.json")
        XCTAssertEqual(json.status, 503)
        XCTAssertTrue(json.text.contains("the nodes failed, retry in"), json.text)
        XCTAssertNotNil(json.header("Retry-After"))
        XCTAssertEqual(try b.get("/steemauth/report.csv").status, 503)
        XCTAssertEqual(try calls(), before + 2, "the nodes were not asked again")
        XCTAssertTrue(cluster.poolLog().contains("report failed moments ago"))
        // Once the memory ends (30 s, cut short here), the report is computed again.
        _ = try cluster.redis().command(["DEL", "steemauth:rf:bob"])
        XCTAssertEqual(try b.get("/steemauth").status, 200)
    }

    /// A node that sends more than 64 KiB of headers, and one whose body never ends, are cut off
    /// at the caps (STEEMAUTH_RPC_MAX_BYTES, here its least, 1 MiB), and the report comes from the
    /// honest node after them.
    func testRepliesAreCappedInHeadersAndBody() throws {
        cluster = try Cluster(extraEnv: ["STEEMAUTH_RPC_TIMEOUT": "10", "STEEMAUTH_REPORT_TIMEOUT": "12", "STEEMAUTH_RPC_MAX_BYTES": "1048576"])
        try cluster.startRedis()
        let honest = try cluster.startDevchain()[0]
        let headersPort = Cluster.freePort(), bodyPort = Cluster.freePort()
        let script = Cluster.repoRoot.appendingPathComponent("Tests/clients/hostile_node.py").path
        for (mode, port) in [("headers", headersPort), ("body", bodyPort)] {
            cluster.extraProcesses.append(try cluster.launch("hostile-\(mode)", [script, mode, String(port), cluster.dir + "/hostile-\(mode).record"],
                                                             log: cluster.dir + "/hostile-\(mode).log", executable: "/usr/bin/python3"))
            try waitUntil("the \(mode) node listens", seconds: 30) { Cluster.canConnect(port: port) }
        }
        cluster.env["STEEMAUTH_NODES"] = "http://127.0.0.1:\(headersPort),http://127.0.0.1:\(bodyPort),\(honest)"
        try cluster.startPool(); try cluster.startNginx()
        try cluster.devchain(["seed", "--account", "carol", "--follows", "40", "--stale", "3", "--never", "1"], node: honest)
        let b = try loggedIn(as: "carol")
        let page = try b.get("/steemauth")
        XCTAssertEqual(page.status, 200)
        XCTAssertTrue(page.text.contains("3</strong> of the <strong>40"))
        let log = cluster.poolLog()
        XCTAssertTrue(log.contains("reply headers larger than 65536 bytes"), String(log.suffix(2000)))
        XCTAssertTrue(log.contains("reply larger than 1048576 bytes"), String(log.suffix(2000)))
        try waitUntil("the endless body's node saw the client hang up", seconds: 30) { !self.cluster.log("hostile-body.record").isEmpty }
        let sent = cluster.log("hostile-body.record").split(separator: "\n").compactMap { Int($0) }
        XCTAssertTrue(!sent.isEmpty && sent.allSatisfy { $0 < 16 << 20 }, "read no further than the cap (and the sockets' buffers): \(sent)")
    }

    /// The shipped nginx site and the test site give the pool the same read timeout the pool
    /// assumes by default, and the report's default deadline ends inside it.
    func testTheReportDeadlineAgreesWithNginx() throws {
        let defaults = try AppConfig.load(environment: ["STEEMAUTH_ACCOUNT": "steemauth.demo", "STEEMAUTH_SECRET": String(repeating: "ab", count: 32)])
        for file in ["nginx/steemauth.site.conf", "nginx/loopback.conf.template"] {
            let text = try String(contentsOf: Cluster.repoRoot.appendingPathComponent(file), encoding: .utf8)
            let values = text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
                .filter { $0.hasPrefix("fastcgi_read_timeout ") }
                .map { $0.dropFirst("fastcgi_read_timeout ".count).trimmingCharacters(in: CharacterSet(charactersIn: "s;")) }
            XCTAssertFalse(values.isEmpty, file)
            for value in values { XCTAssertEqual(Double(value), defaults.nginxReadTimeout, "\(file): fastcgi_read_timeout \(value)s") }
        }
        XCTAssertLessThanOrEqual(defaults.reportTimeout + AppConfig.reportMarginBeforeNginx, defaults.nginxReadTimeout)
        // --check-config refuses a report that could outlast nginx.
        cluster = try Cluster()
        var env = cluster.env
        env["STEEMAUTH_REPORT_TIMEOUT"] = "14"
        let name = "check.out"
        let p = try cluster.launch("check", ["--check-config"], log: cluster.dir + "/" + name, executable: Cluster.binary("steemauth-web"), environment: env)
        XCTAssertTrue(Cluster.waitForExit(p, seconds: 30))
        XCTAssertNotEqual(p.terminationStatus, 0)
        XCTAssertTrue(cluster.log(name).contains("fastcgi_read_timeout"), cluster.log(name))
    }
}
