import Foundation
import Glibc
import SteemAuthAdapters
import SteemAuthCore
import XCTest

/// Redis under Sentinel with real processes: a master, a replica, three sentinels
/// (`down-after-milliseconds 1000`), two pools behind one nginx upstream, the devchain and the watcher.
final class SentinelTests: XCTestCase {
    var cluster: Cluster!
    var nodes: [Int: Process] = [:]          // redis port -> process
    var sentinels: [Int: Process] = [:]      // sentinel port -> process
    var masterPort = 0, replicaPort = 0
    var sentinelPorts: [Int] = []
    let scale = Int(ProcessInfo.processInfo.environment["STEEMAUTH_TEST_SCALE"] ?? "1") ?? 1
    /// The sentinels' own password (required under Sentinel), and the master's when a test sets one.
    let sentinelPassword = "sentinel-secret-4d1f"
    var masterPassword: String?

    override func tearDown() {
        if let cluster, (testRun?.totalFailureCount ?? 0) > 0 {
            print("--- pool log ---\n" + cluster.poolLog().suffix(2500))
            print("--- watcher log ---\n" + cluster.log("watcher.log").suffix(2500))
            for port in sentinelPorts { print("--- sentinel \(port) ---\n" + cluster.log("sentinel-\(port).log").suffix(800)) }
        }
        for p in sentinels.values { Cluster.terminate(p, signal: SIGKILL) }
        for p in nodes.values { kill(p.processIdentifier, SIGCONT); Cluster.terminate(p, signal: SIGKILL) }
        cluster?.tearDown()
    }

    var sentinelURL: String { "redis-sentinel://" + sentinelPorts.map { "127.0.0.1:\($0)" }.joined(separator: ",") + "/0#mymaster" }

    func startNode(_ port: Int, replicaOf master: Int? = nil) throws {
        let dir = cluster.dir + "/node-\(port)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var args = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir, "--logfile", dir + "/redis.log"]
        if let master { args += ["--replicaof", "127.0.0.1", String(master)] }
        if let masterPassword { args += ["--requirepass", masterPassword, "--masterauth", masterPassword] }
        nodes[port] = try cluster.launch("redis-\(port)", args, log: nil, executable: Cluster.which("redis-server")!)
        try waitUntil("redis \(port) answers", seconds: 30) { self.redis(port).map { (try? $0.command(["PING"])) == .status("PONG") } ?? false }
    }

    func startSentinel(_ port: Int) throws {
        let conf = cluster.dir + "/sentinel-\(port).conf"
        try """
        port \(port)
        bind 127.0.0.1
        dir \(cluster.dir)
        logfile \(cluster.dir)/sentinel-\(port).log
        sentinel monitor mymaster 127.0.0.1 \(masterPort) 2
        sentinel down-after-milliseconds mymaster 1000
        sentinel failover-timeout mymaster 5000
        sentinel parallel-syncs mymaster 1
        requirepass \(sentinelPassword)
        sentinel sentinel-pass \(sentinelPassword)
        \(masterPassword.map { "sentinel auth-pass mymaster \($0)" } ?? "")

        """.write(toFile: conf, atomically: true, encoding: .utf8)
        sentinels[port] = try cluster.launch("sentinel-\(port)", [conf, "--sentinel"], log: nil, executable: Cluster.which("redis-server")!)
        try waitUntil("sentinel \(port) answers", seconds: 30) { Cluster.canConnect(port: port) }
    }

    func redis(_ port: Int) -> RedisConnection? {
        RedisConnection(endpoint: RedisEndpoint.parse("redis://\(masterPassword.map { ":\($0)@" } ?? "")127.0.0.1:\(port)")!)
    }

    func sentinel(_ port: Int) -> RedisConnection { RedisConnection(endpoint: RedisEndpoint.parse("redis://:\(sentinelPassword)@127.0.0.1:\(port)")!) }

    func masterBySentinel(_ port: Int) -> Int? {
        let r = sentinel(port)
        guard let reply = try? r.command(["SENTINEL", "get-master-addr-by-name", "mymaster"]), let items = reply.array, items.count == 2 else { return nil }
        return items[1].string.flatMap(Int.init)
    }

    /// Master, replica in sync, three sentinels that all know the replica; the pools and the watcher
    /// find the master through them.
    func startTopology(sentinelsUp: Bool = true) throws {
        cluster = try Cluster()
        masterPort = Cluster.freePort(); replicaPort = Cluster.freePort()
        sentinelPorts = (0..<3).map { _ in Cluster.freePort() }
        try startNode(masterPort)
        try startNode(replicaPort, replicaOf: masterPort)
        try waitUntil("the replica is in sync", seconds: 30) {
            (try self.redis(self.replicaPort)!.command(["INFO", "replication"]).string ?? "").contains("master_link_status:up")
        }
        cluster.redisPort = masterPort          // the tests' own direct reads start on the master
        cluster.env["STEEMAUTH_REDIS_URL"] = sentinelURL
        cluster.env["STEEMAUTH_REDIS_SENTINEL_PASSWORD"] = sentinelPassword
        if sentinelsUp { try startSentinels() }
    }

    func startSentinels() throws {
        for port in sentinelPorts { try startSentinel(port) }
        try waitUntil("every sentinel knows the replica", seconds: 60) {
            self.sentinelPorts.allSatisfy { port in
                ((try? self.sentinel(port).command(["SENTINEL", "replicas", "mymaster"]))?.array?.count ?? 0) >= 1
            }
        }
    }

    /// A second pool of the same site (another "web host"), on its own socket, in nginx's upstream.
    func startSecondPool() throws -> Process {
        let socket = cluster.dir + "/pool2.sock"
        var env = cluster.env
        env["STEEMAUTH_LISTEN"] = "unix:" + socket
        let p = try cluster.launch("pool2", [], log: cluster.dir + "/pool2.log", executable: Cluster.binary("steemauth-web"), environment: env)
        cluster.extraProcesses.append(p)
        try waitUntil("the second pool accepts connections", seconds: 30) { Cluster.canConnect(unixPath: socket) }
        cluster.extraUpstreams = ["unix:" + socket]
        return p
    }

    func pay(_ memo: String, from account: String) throws {
        try cluster.devchain(["transfer", "--from", account, "--to", "steemauth.demo", "--memo", memo, "--now"])
    }

    func testFailoverLosesNoLoginAndTheSiteServesAgain() throws {
        try startTopology()
        try cluster.startDevchain(blockInterval: 0.3)
        try cluster.startPool()
        _ = try startSecondPool()
        try cluster.startNginx()
        _ = try cluster.startWatcher()
        // Before the kill: one visitor logged in, one holding a code it has not paid yet.
        let before = Browser(cluster.baseURL), waiting = Browser(cluster.baseURL)
        try pay(try before.startLogin(), from: "alice")
        try waitUntil("logged in before the failover", seconds: 30) { try before.status().1["account"] as? String == "alice" }
        let pendingMemo = try waiting.startLogin()
        let load = PoolTests.Load(base: cluster.baseURL, clients: 2, paths: ["/steemauth/status", "/steemauth", "/ping"])
        try load.waitForProgress(50 * scale)

        kill(nodes[masterPort]!.processIdentifier, SIGKILL)
        try waitUntil("the sentinels promote the replica", seconds: 60, interval: 0.05) {
            self.sentinelPorts.contains { self.masterBySentinel($0) == self.replicaPort }
        }
        // The site serves again within 10 s of the promotion.
        try waitUntil("the site serves again after the promotion", seconds: 10, interval: 0.05) {
            try before.get("/steemauth").status == 200
        }
        cluster.redisPort = replicaPort
        // One worker serving is not all of them: the others may still be asking a sentinel that has
        // not heard of the promotion (a 503 until then). A lost login would never come back, so wait
        // for it rather than read it once.
        try waitUntil("a login made before the kill survives", seconds: 30, interval: 0.05) {
            try before.status().1["account"] as? String == "alice"
        }
        var health = try HTTPClient().request(url: cluster.baseURL + "/healthz")
        try waitUntil("a master left with no replica keeps serving", seconds: 30, interval: 0.05) {
            health = try HTTPClient().request(url: self.cluster.baseURL + "/healthz")
            return health.status == 200
        }
        XCTAssertTrue(health.text.contains("durability degraded: 0 of 1 replicas"), health.text)
        // A code issued before the kill, paid after it, still logs in.
        try pay(pendingMemo, from: "bob")
        try waitUntil("the code paid after the failover binds", seconds: 30) { try waiting.status().1["account"] as? String == "bob" }
        // A visitor who arrives afterwards logs in.
        let after = Browser(cluster.baseURL)
        try pay(try after.startLogin(), from: "carol")
        try waitUntil("a new visitor logs in", seconds: 30) { try after.status().1["account"] as? String == "carol" }
        let during = load.stop()
        print("during the failover: sent \(during.sent), failed \(during.failed) \(during.reasons)")
        XCTAssertTrue(during.reasons.keys.allSatisfy { $0.hasPrefix("HTTP 503") }, "only clean 503s while there is no master: \(during.reasons)")
        // Once things settle, no request fails.
        let settled = PoolTests.Load(base: cluster.baseURL, clients: 2, paths: ["/steemauth/status", "/steemauth", "/ping"])
        try settled.waitForProgress(100 * scale)
        let result = settled.stop()
        XCTAssertEqual(result.failed, 0, "\(result.reasons)")
        let metrics = try HTTPClient().request(url: cluster.baseURL + "/metrics").text
        XCTAssertTrue(metrics.contains("steemauth_redis_master_info{address=\"127.0.0.1:\(replicaPort)\"} 1"), metrics.suffix(600).description)
        XCTAssertTrue(cluster.poolLog().contains("the master moved") || cluster.log("pool2.log").contains("the master moved"))
    }

    func testOneSentinelDownTheNextAnswers() throws {
        try startTopology()
        Cluster.terminate(sentinels[sentinelPorts[0]]!, signal: SIGKILL)
        try cluster.startPool(); try cluster.startNginx()
        let b = Browser(cluster.baseURL)
        XCTAssertNotNil(LoginCode.fromMemo(try b.startLogin(), prefix: ""))
        XCTAssertEqual(try b.get("/healthz").status, 200)
        XCTAssertTrue(try HTTPClient().request(url: cluster.baseURL + "/metrics").text.contains("address=\"127.0.0.1:\(masterPort)\""))
    }

    func testEverySentinelDownAtStartThenBack() throws {
        try startTopology(sentinelsUp: false)
        try cluster.startPool(); try cluster.startNginx()
        let b = Browser(cluster.baseURL)
        _ = try b.get("/")
        let page = try b.get("/steemauth")
        XCTAssertEqual(page.status, 503, "the pool starts anyway and serves the clean 503 page")
        XCTAssertTrue(page.text.contains("Temporarily unavailable"))
        XCTAssertTrue(cluster.poolLog().contains("no sentinel gave the address of mymaster"))
        try startSentinels()
        try waitUntil("pages work once the sentinels answer", seconds: 30, interval: 0.1) { try b.get("/steemauth").status == 200 }
    }

    /// A sentinel that names a rogue master, listed first, is outvoted by the three honest ones, and
    /// the master's password never reaches the rogue (which records every byte it is sent).
    func testARogueSentinelIsOutvotedAndNoPasswordReachesTheRogue() throws {
        masterPassword = "master-secret-9c2e"
        try startTopology()
        let rogueSentinel = Cluster.freePort(), rogueMaster = Cluster.freePort()
        let rogue = try cluster.launch("rogue", [Cluster.repoRoot.appendingPathComponent("Tests/clients/rogue_redis.py").path,
                                                 String(rogueSentinel), String(rogueMaster), cluster.dir],
                                       log: cluster.dir + "/rogue.log", executable: "/usr/bin/python3")
        cluster.extraProcesses.append(rogue)
        let sentinelRecord = cluster.dir + "/rogue-sentinel.bytes", masterRecord = cluster.dir + "/rogue-master.bytes"
        try waitUntil("the rogue listens", seconds: 30) {
            FileManager.default.fileExists(atPath: masterRecord) && Cluster.canConnect(port: rogueSentinel)
        }
        cluster.env["STEEMAUTH_REDIS_URL"] = "redis-sentinel://:\(masterPassword!)@"
            + ([rogueSentinel] + sentinelPorts).map { "127.0.0.1:\($0)" }.joined(separator: ",") + "/0#mymaster"
        try cluster.startPool(); try cluster.startNginx()
        let b = Browser(cluster.baseURL)
        XCTAssertNotNil(LoginCode.fromMemo(try b.startLogin(), prefix: ""), "the pool serves from the master the quorum named")
        XCTAssertTrue(try HTTPClient().request(url: cluster.baseURL + "/metrics").text.contains("address=\"127.0.0.1:\(masterPort)\""))
        let asked = (try? String(contentsOfFile: sentinelRecord, encoding: .utf8)) ?? ""
        XCTAssertTrue(asked.contains("get-master-addr-by-name"), "the rogue sentinel was asked: \(asked.prefix(200))")
        let received = (try? String(contentsOfFile: masterRecord, encoding: .isoLatin1)) ?? "?"
        XCTAssertFalse(received.contains(masterPassword!), "the master's password reached the rogue")
        XCTAssertEqual(received, "", "nothing at all reached the rogue master")
    }

    /// A replica that does not acknowledge: the watcher binds (the master has it) but keeps its
    /// checkpoint, and applies the batch again until the replica has it.
    func testACheckpointWaitsForTheReplica() throws {
        try startTopology()
        try cluster.startDevchain()
        try cluster.startPool(); try cluster.startNginx()
        let store = cluster.store(), master = cluster.redis()
        _ = try cluster.startWatcher(["--from-block", "1"])
        try cluster.devchain(["produce", "--count", "3"])
        try waitUntil("the watcher runs", seconds: 30) { (self.cluster.checkpoint(redis: master) ?? 0) >= 4 }
        let (id, memo) = try cluster.newSession(store: store)
        _ = try master.command(["WAIT", "1", "5000"])
        kill(nodes[replicaPort]!.processIdentifier, SIGSTOP)       // connected, but acknowledges nothing
        let block = try XCTUnwrap(Int64(cluster.devchain(["transfer", "--from", "dave", "--to", "steemauth.demo", "--memo", memo, "--now"])
            .split(separator: " ")[3].trimmingCharacters(in: .punctuationCharacters)))
        try waitUntil("the watcher meets the silent replica", seconds: 30) {
            self.cluster.log("watcher.log").contains("no replica acknowledged the batch's bindings")
        }
        XCTAssertEqual(try cluster.boundAccount(id, redis: master).account, "dave", "the master has the binding")
        XCTAssertLessThanOrEqual(cluster.checkpoint(redis: master) ?? 0, block, "the checkpoint stays where it was")
        // A new visitor meanwhile: the code's WAIT times out, the page still shows the code, and says so.
        let visitor = Browser(cluster.baseURL)
        XCTAssertNotNil(LoginCode.fromMemo(try visitor.startLogin(), prefix: ""))
        XCTAssertTrue(cluster.poolLog().contains("a new code is not on a replica yet"))
        XCTAssertTrue(try HTTPClient().request(url: cluster.baseURL + "/metrics").text.contains("steemauth_redis_wait_timeouts_total 1"))
        kill(nodes[replicaPort]!.processIdentifier, SIGCONT)
        try waitUntil("the checkpoint moves once the replica acknowledges", seconds: 30) { (self.cluster.checkpoint(redis: master) ?? 0) > block }
        XCTAssertEqual(try cluster.boundAccount(id, redis: self.redis(replicaPort)!).account, "dave", "and the replica has it")
        XCTAssertEqual(try master.command(["HGET", "steemauth:w:steem:claims", "bound"]).integer, 1, "bound once, however often applied")
    }
}
