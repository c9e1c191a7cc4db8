import Foundation
import Glibc
import SteemAuthAdapters
import SteemAuthCore
import XCTest

/// The pool's own edges: FastCGI peers on TCP (STEEMAUTH_FCGI_ALLOW), and node URLs that carry keys.
final class InfrastructureTrustTests: XCTestCase {
    var cluster: Cluster!

    override func tearDown() {
        if let cluster, (testRun?.failureCount ?? 0) > 0 { print("--- pool log ---\n" + cluster.poolLog().suffix(3000)) }
        cluster?.tearDown()
    }

    /// `--check-config` of an executable with `env` (nothing else of the test's environment).
    func checkConfig(_ executable: String, _ env: [String: String]) throws -> (status: Int32, output: String) {
        let name = "check-\(executable)-\(UUID().uuidString.prefix(8)).out"
        let p = try cluster.launch("check", ["--check-config"], log: cluster.dir + "/" + name,
                                   executable: Cluster.binary(executable), environment: env)
        p.waitUntilExit()
        return (p.terminationStatus, cluster.log(name))
    }

    /// A FastCGI request for /metrics, claiming REMOTE_ADDR 127.0.0.1, sent from `source` to the pool's
    /// TCP port: every byte that came back before the pool closed the connection.
    func rawMetricsRequest(from source: String, port: Int) throws -> [UInt8] {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Timeout(description: "socket: errno \(errno)") }
        defer { close(fd) }
        func address(_ host: String, _ port: Int) -> sockaddr_in {
            var a = sockaddr_in()
            a.sin_family = sa_family_t(AF_INET)
            a.sin_addr.s_addr = inet_addr(host)
            a.sin_port = UInt16(port).bigEndian
            return a
        }
        var local = address(source, 0), remote = address("127.0.0.1", port)
        let size = socklen_t(MemoryLayout<sockaddr_in>.size)
        guard withUnsafePointer(to: &local, { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, size) } }) == 0,
              withUnsafePointer(to: &remote, { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, size) } }) == 0 else {
            throw Timeout(description: "connect from \(source): errno \(errno)")
        }
        var timeout = timeval(tv_sec: 30, tv_usec: 0)       // only a stuck worker meets it
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        func record(_ type: UInt8, _ content: [UInt8]) -> [UInt8] {
            [1, type, 0, 1, UInt8(content.count >> 8), UInt8(content.count & 0xff), 0, 0] + content
        }
        let params = [("REQUEST_METHOD", "GET"), ("DOCUMENT_URI", "/metrics"), ("SCRIPT_NAME", "/metrics"),
                      ("REMOTE_ADDR", "127.0.0.1"), ("HTTP_HOST", "127.0.0.1")]
        let pairs = params.flatMap { name, value in [UInt8(name.utf8.count), UInt8(value.utf8.count)] + Array(name.utf8) + Array(value.utf8) }
        let out = record(1, [0, 1, 0, 0, 0, 0, 0, 0]) + record(4, pairs) + record(4, []) + record(5, [])
        _ = out.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }      // closed, or reset
            received += chunk[..<n]
        }
        return received
    }

    /// On TCP with an allow-list, a peer not on it (127.0.0.2 here) is closed unread: its forged
    /// REMOTE_ADDR never reaches /metrics. The pool logs and counts it; nginx (127.0.0.1) is served.
    func testATCPPeerNotAllowedIsClosedUnread() throws {
        cluster = try Cluster(extraEnv: ["STEEMAUTH_FCGI_ALLOW": "127.0.0.1"])
        cluster.listenOnTCP()
        try cluster.startAll()
        let allowed = try rawMetricsRequest(from: "127.0.0.1", port: cluster.poolPort)
        XCTAssertTrue(String(decoding: allowed, as: UTF8.self).contains("Status: 200"), "the raw client speaks FastCGI: \(String(decoding: allowed.prefix(300), as: UTF8.self))")
        let refused = try rawMetricsRequest(from: "127.0.0.2", port: cluster.poolPort)
        XCTAssertEqual(refused.count, 0, "a peer not allowed gets no answer: \(String(decoding: refused.prefix(200), as: UTF8.self))")
        try waitUntil("the pool logs the refused peer", seconds: 30) {
            self.cluster.poolLog().contains("refused a FastCGI connection from a peer not in STEEMAUTH_FCGI_ALLOW")
                && self.cluster.poolLog().contains("127.0.0.2")
        }
        XCTAssertEqual(try Browser(cluster.baseURL).get("/ping").status, 200, "nginx, an allowed peer, is served")
        let metrics = try HTTPClient().request(url: cluster.baseURL + "/metrics").text
        XCTAssertTrue(metrics.contains("steemauth_fcgi_refused_peers_total 1\n"), String(metrics.suffix(800)))
    }

    /// A TCP address beyond loopback without STEEMAUTH_FCGI_ALLOW: --check-config and the start refuse.
    func testFastCGIBeyondLoopbackNeedsAnAllowList() throws {
        cluster = try Cluster()
        var env = cluster.env
        env["STEEMAUTH_LISTEN"] = "0.0.0.0:\(cluster.poolPort)"
        let checked = try checkConfig("steemauth-web", env)
        XCTAssertNotEqual(checked.status, 0)
        XCTAssertTrue(checked.output.contains("STEEMAUTH_FCGI_ALLOW is required"), checked.output)
        let p = try cluster.launch("pool", [], log: cluster.dir + "/pool.log", executable: Cluster.binary("steemauth-web"), environment: env)
        XCTAssertTrue(Cluster.waitForExit(p, seconds: 30), "the pool does not start")
        XCTAssertNotEqual(p.terminationStatus, 0)
        XCTAssertFalse(Cluster.canConnect(port: cluster.poolPort))
        env["STEEMAUTH_FCGI_ALLOW"] = "10.0.0.11,not-an-address"
        let bad = try checkConfig("steemauth-web", env)
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.output.contains("not an IPv4 or IPv6 address"), bad.output)
        env["STEEMAUTH_FCGI_ALLOW"] = "10.0.0.11, ::ffff:10.0.0.12"
        XCTAssertEqual(try checkConfig("steemauth-web", env).status, 0)
    }

    /// Node URLs with a key in their userinfo and their query: the web pool, the watcher and the
    /// devchain client use them, fail over from one, and show them only redacted, in every log line,
    /// every metrics label and --check-config.
    func testANodeKeyNeverAppearsInLogsMetricsOrCheckConfig() throws {
        // One live node: this test is about what output shows, not about a quorum.
        cluster = try Cluster(extraEnv: ["STEEMAUTH_RPC_TIMEOUT": "2", "STEEMAUTH_REPORT_TIMEOUT": "5", "STEEMAUTH_NODE_QUORUM": "1"])
        let secrets = ["k3y-userinfo-7f1e", "q-apikey-2b9c"]
        try cluster.startRedis()
        let node = try cluster.startDevchain()[0]
        let keyed = { (url: String) in url.replacingOccurrences(of: "http://", with: "http://steemauth:\(secrets[0])@") + "/?apikey=\(secrets[1])" }
        // The first node refuses (a closed port): every worker logs a failover from it.
        cluster.env["STEEMAUTH_NODES"] = keyed("http://127.0.0.1:9") + "," + keyed(node)
        try cluster.startPool(); try cluster.startNginx()
        _ = try cluster.startWatcher(["--from-block", "1"])
        try cluster.devchain(["seed", "--account", "alice", "--follows", "30", "--stale", "3", "--never", "1"], node: keyed(node))
        try cluster.devchain(["produce", "--count", "2"], node: keyed(node))
        let b = Browser(cluster.baseURL)
        try cluster.devchain(["transfer", "--from", "alice", "--to", "steemauth.demo", "--memo", try b.startLogin(), "--now"], node: keyed(node))
        try waitUntil("alice logs in through the keyed node", seconds: 30) { try b.status().1["account"] as? String == "alice" }
        XCTAssertEqual(try b.get("/steemauth").status, 200, "the report comes from the keyed node")
        let metrics = try HTTPClient().request(url: cluster.baseURL + "/metrics").text
        try waitUntil("the watcher logs its failover", seconds: 30) { self.cluster.log("watcher.log").contains("node failed") }
        var shown = ["pool log": cluster.poolLog(), "watcher log": cluster.log("watcher.log"), "metrics": metrics,
                     "devchain client": cluster.log("devchain-client.out")]
        shown["web --check-config"] = try checkConfig("steemauth-web", cluster.env).output
        shown["watcher --check-config"] = try checkConfig("steemauth-watcher", cluster.env).output
        for (place, text) in shown {
            for secret in secrets { XCTAssertFalse(text.contains(secret), "\(place) shows \(secret):\n\(text.suffix(1500))") }
        }
        let redacted = "http://***@127.0.0.1:9/?***"
        XCTAssertTrue(shown["pool log"]!.contains(redacted), shown["pool log"]!.suffix(1500).description)
        XCTAssertTrue(shown["web --check-config"]!.contains(redacted), shown["web --check-config"]!)
        XCTAssertTrue(shown["watcher --check-config"]!.contains(redacted), shown["watcher --check-config"]!)
        XCTAssertTrue(metrics.contains("node=\"\(redacted)\""), String(metrics.suffix(1500)))
    }
}
