import Foundation
import Glibc
import SteemAuthAdapters
import SteemAuthCore
import XCTest

/// Fail closed, lose nothing: faults under load, bad input, and the security review's items.
final class HardeningTests: XCTestCase {
    var cluster: Cluster!
    let scale = Int(ProcessInfo.processInfo.environment["STEEMAUTH_TEST_SCALE"] ?? "1") ?? 1

    override func tearDown() {
        if let cluster, (testRun?.failureCount ?? 0) > 0 { print("--- pool log ---\n" + cluster.poolLog().suffix(3000)) }
        cluster?.tearDown()
    }

    /// Redis stopped for 5 s under load and restarted with AOF: clean 503s during the gap, everything
    /// works after it without restarting anything, and no binding made before is lost.
    func testRedisOutageUnderLoadLosesNoBinding() throws {
        cluster = try Cluster()
        try cluster.startAll(devchain: true, redisAppendOnly: true)
        try cluster.devchain(["seed", "--account", "alice", "--follows", "5", "--stale", "1", "--never", "1"])
        let b = Browser(cluster.baseURL)
        let memo = try b.startLogin()
        XCTAssertEqual(try cluster.claim(memo: memo, account: "alice", block: 5, transactionID: "tx", blockTime: "t", boundTTL: 3600, now: 1), .bound)
        XCTAssertEqual(try b.status().1["account"] as? String, "alice")
        let admin = cluster.redis()
        _ = try admin.command(["BGREWRITEAOF"])
        try waitUntil("the AOF rewrite is done", seconds: 30) {
            let info = try admin.command(["INFO", "persistence"]).string ?? ""
            return info.contains("aof_rewrite_in_progress:0") && info.contains("aof_rewrite_scheduled:0")
        }

        let load = PoolTests.Load(base: cluster.baseURL, clients: 2, paths: ["/steemauth/status", "/steemauth", "/ping"])
        let probe = Browser(cluster.baseURL)
        _ = try probe.get("/")
        try load.waitForProgress(30)
        cluster.stopRedis()
        // A count of probes, not a time: each is a clean 503 (a hang would be a transport error, -1).
        var during: [Int: Int] = [:]
        for _ in 0..<20 {
            let status = (try? probe.get("/steemauth").status) ?? -1
            during[status, default: 0] += 1
        }
        try load.waitForProgress(30)
        try cluster.startRedis(appendOnly: true)
        try waitUntil("pages work again", seconds: 30, interval: 0.1) { try b.get("/steemauth").status == 200 }
        try load.waitForProgress(30)
        let result = load.stop()
        print("redis outage under load: sent \(result.sent), failed \(result.failed) \(result.reasons); probe during the gap: \(during)")
        XCTAssertEqual(Set(during.keys), [503], "during the gap: clean 503 pages only")
        XCTAssertTrue(result.reasons.keys.allSatisfy { $0.hasPrefix("HTTP 503") }, "only 503s, never 500/502: \(result.reasons)")
        XCTAssertEqual(try b.status().1["account"] as? String, "alice", "the binding survived the restart")
        XCTAssertTrue(try b.get("/steemauth").text.contains("Logged in as @alice"))
    }

    /// The watcher killed -9 at random points during a long catch-up: every valid claim bound once.
    func testWatcherKilledRepeatedlyDuringCatchUp() throws {
        cluster = try Cluster()
        try cluster.startRedis()
        let node = try cluster.startDevchain()[0]
        let store = cluster.store(), redis = cluster.redis()
        let claims = 20 * scale
        var expected: [(SessionID, String)] = []
        for i in 0..<claims {
            let (id, memo) = try cluster.newSession(store: store)
            try cluster.devchain(["generate", "--blocks", "100", "--transfers-per-block", "5"], node: node)
            try cluster.devchain(["transfer", "--from", "payer\(i)", "--to", "steemauth.demo", "--memo", memo, "--now"], node: node)
            try cluster.devchain(["transfer", "--from", "thief\(i)", "--to", "steemauth.demo", "--memo", memo, "--now"], node: node)
            expected.append((id, "payer\(i)"))
        }
        let head = Int64(claims * 102 + 1)
        var rng = SystemRandomNumberGenerator()
        var kills = 0
        for round in 0..<20 {
            let w = try cluster.startWatcher(["--from-block", "1", "--batch-size", "25"], logName: "watcher-\(round).log")
            usleep(UInt32.random(in: 50_000...250_000, using: &rng))
            if w.isRunning { kill(w.processIdentifier, SIGKILL); kills += 1 }
            w.waitUntilExit()
            if (cluster.checkpoint(redis: redis) ?? 0) > head { break }
        }
        let last = try cluster.startWatcher(["--from-block", "1"], logName: "watcher-final.log")
        try waitUntil("caught up", seconds: 120) { (self.cluster.checkpoint(redis: redis) ?? 0) > head }
        for (id, payer) in expected { XCTAssertEqual(try cluster.boundAccount(id, redis: redis).account, payer) }
        // Counted in Redis, by the same atomic script that binds (a log line can die with a kill -9).
        XCTAssertEqual(try redis.command(["HGET", "steemauth:w:steem:claims", "bound"]).integer, Int64(claims), "each claim bound exactly once")
        let logs = (0..<20).map { cluster.log("watcher-\($0).log") }.joined() + cluster.log("watcher-final.log")
        XCTAssertFalse(logs.contains("decision=bound from=thief"))
        print("watcher killed -9 \(kills) times during a \(head)-block catch-up; \(claims) claims bound exactly once")
        _ = last
    }

    /// A node that serves a different (forked) version of the blocks above irreversibility never
    /// makes the watcher bind from them.
    func testForkAboveIrreversibilityNeverBinds() throws {
        cluster = try Cluster()
        try cluster.startRedis()
        let nodes = try cluster.startDevchain(nodes: 2, libLag: 30)
        let store = cluster.store(), redis = cluster.redis()
        let (id, memo) = try cluster.newSession(store: store)
        try cluster.devchain(["produce", "--count", "40"], node: nodes[0])
        // The forked node shows, above LIB, a transfer of this memo that the canonical chain never had.
        try cluster.devchain(["fault", "--mode", "fork", "--count", "1000000", "--memo", memo], node: nodes[0])
        _ = try cluster.startWatcher(["--from-block", "1"])
        try waitUntil("caught up to LIB", seconds: 30) { (self.cluster.checkpoint(redis: redis) ?? 0) >= 12 }
        let reached = try XCTUnwrap(cluster.checkpoint(redis: redis))
        try cluster.devchain(["produce", "--count", "5"], node: nodes[1])
        // The watcher has gone through the blocks that just became irreversible (the forked node serves
        // those as the canonical chain has them), and no further.
        try waitUntil("caught up to the new LIB", seconds: 30) { (self.cluster.checkpoint(redis: redis) ?? 0) >= reached + 5 }
        XCTAssertNil(try cluster.boundAccount(id, redis: redis).account, "never bound from a block above irreversibility")
        XCTAssertFalse(cluster.log("watcher.log").contains("from=forker"))
        // The memo still works when really paid.
        try cluster.devchain(["transfer", "--from", "alice", "--to", "steemauth.demo", "--memo", memo, "--now"], node: nodes[1])
        try cluster.devchain(["produce", "--count", "31"], node: nodes[1])
        try waitUntil("bound for real", seconds: 30) { try self.cluster.boundAccount(id, redis: redis).account == "alice" }
    }

    func testBadRequestsGetCleanAnswers() throws {
        cluster = try Cluster()
        try cluster.startAll()
        let c = HTTPClient()
        let huge = try c.request(url: cluster.baseURL + "/steemauth", headers: ["Cookie: \(CookieSigner.name)=" + String(repeating: "a", count: 64 * 1024)])
        XCTAssertEqual(huge.status, 400, "nginx's header limits stay in front")
        let four = try c.request(url: cluster.baseURL + "/steemauth/status", headers: ["Cookie: x=" + String(repeating: "a", count: 4 * 1024) + "; \(CookieSigner.name)=zz"])
        XCTAssertEqual(four.status, 401)
        for path in ["/steemauth/static/../../etc/passwd", "/steemauth/static/%2e%2e/templates/base.html", "/steemauth/static/", "/steemauth/static/app.js/x"] {
            let r = try c.request(url: cluster.baseURL + path)
            XCTAssertTrue([400, 404].contains(r.status), "\(path): \(r.status)")
            XCTAssertFalse(r.text.contains("root:"), path)
        }
        for method in ["PUT", "PATCH", "OPTIONS", "FOO"] {
            let r = try c.request(method, url: cluster.baseURL + "/steemauth")
            XCTAssertTrue([405, 400].contains(r.status), "\(method): \(r.status)")
        }
        for path in ["/?x=1", "/steemauth?c=1&z=%00", "/steemauth/status?a=b", "/healthz?q", "/ping?<script>"] {
            XCTAssertLessThan(try c.request(url: cluster.baseURL + path).status, 500, path)
        }
        let csp = try Browser(cluster.baseURL).get("/steemauth?c=1").header("Content-Security-Policy")
        XCTAssertEqual(csp, "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
    }

    /// Flooding `/` and `/steemauth` without keeping cookies writes nothing to Redis; nginx limits how
    /// fast one address can ask for codes.
    func testFloodingWritesNothingAndIsRateLimited() throws {
        cluster = try Cluster()
        // One a minute with a burst of 20: every loop of more than 21 code requests meets the limit,
        // however fast the machine sends them.
        try cluster.startAll(codesLimit: .limited(rate: "1r/m", burst: 20))
        let redis = cluster.redis()
        // What one unbound session costs (the one code request this test makes with a cookie).
        let b = Browser(cluster.baseURL)
        let memo = try b.startLogin()
        let id = String(try XCTUnwrap(b.cookie).prefix(32))
        let bytes = (try redis.command(["MEMORY", "USAGE", "steemauth:s:" + id]).integer ?? 0)
            + (try redis.command(["MEMORY", "USAGE", "steemauth:c:" + memo]).integer ?? 0)
        print("one unbound session: \(bytes) bytes in Redis (session hash + code)")
        XCTAssertLessThan(bytes, 1024)
        let keysBefore = try redis.command(["DBSIZE"]).integer
        let c = HTTPClient()
        var limited = 0, other: [Int: Int] = [:]
        for i in 0..<(1000 * scale) {
            let r = try c.request(url: cluster.baseURL + (i % 2 == 0 ? "/" : "/steemauth"))
            if r.status == 429 { limited += 1 } else if ![200, 302].contains(r.status) { other[r.status, default: 0] += 1 }
        }
        XCTAssertEqual(try redis.command(["DBSIZE"]).integer, keysBefore, "a visitor that never keeps a cookie costs no Redis memory")
        XCTAssertGreaterThanOrEqual(limited, 500 * scale - 21, "limit_req answers 429 past the burst")
        XCTAssertEqual(other, [:])
        print("flood: \(1000 * scale) requests, \(limited) limited by nginx, Redis keys unchanged")
    }

    /// The memo of another visitor's session logs that visitor in as the payer, never the payer's
    /// browser; and nothing secret reaches the logs.
    func testBindingFollowsTheSenderAndSecretsStayOut() throws {
        cluster = try Cluster()
        try cluster.startAll(devchain: true, blockInterval: 0.5)
        _ = try cluster.startWatcher()
        let victim = Browser(cluster.baseURL), attacker = Browser(cluster.baseURL)
        let attackersMemo = try attacker.startLogin()
        _ = try victim.startLogin()
        // The victim is tricked into paying the attacker's code.
        try cluster.devchain(["transfer", "--from", "victim", "--to", "steemauth.demo", "--memo", attackersMemo])
        try waitUntil("bound", seconds: 30) { try attacker.status().1["bound"] as? Bool == true }
        XCTAssertEqual(try attacker.status().1["account"] as? String, "victim", "the binding follows the sender")
        XCTAssertEqual(try victim.status().1["bound"] as? Bool, false, "the payer's own browser is not logged in")
        XCTAssertTrue(try victim.get("/steemauth").text.contains("Paying a code someone sent you"), "the page warns against it")
        let everything = cluster.poolLog() + cluster.log("watcher.log") + cluster.log("nginx-error.log")
        XCTAssertFalse(everything.contains(cluster.secret), "the secret never reaches a log")
        for cookie in [victim.cookie, attacker.cookie].compactMap({ $0 }) {
            XCTAssertFalse(everything.contains(String(cookie.prefix(32))), "session ids never reach a log")
        }
    }

    func testRedisWithAPassword() throws {
        cluster = try Cluster()
        let password = "pw-" + Hex.encode(SystemRandom.bytes(8))
        let p = try cluster.launch("redis-server", ["--port", String(cluster.redisPort), "--bind", "127.0.0.1", "--save", "",
                                                    "--requirepass", password], log: nil, executable: Cluster.which("redis-server")!)
        cluster.redisProcess = p
        try waitUntil("redis listens", seconds: 30) { Cluster.canConnect(port: self.cluster.redisPort) }
        cluster.env["STEEMAUTH_REDIS_URL"] = "redis://:\(password)@127.0.0.1:\(cluster.redisPort)/2"
        try cluster.startPool(); try cluster.startNginx()
        let b = Browser(cluster.baseURL)
        XCTAssertNotNil(LoginCode.fromMemo(try b.startLogin(), prefix: ""))
        XCTAssertEqual(try b.get("/healthz").status, 200)
        cluster.tearDownPool()
        cluster.env["STEEMAUTH_REDIS_URL"] = "redis://:wrong@127.0.0.1:\(cluster.redisPort)/2"
        try cluster.startPool()
        XCTAssertEqual(try b.get("/steemauth").status, 503)
        XCTAssertFalse(cluster.poolLog().contains(password), "the password never reaches the log")
        XCTAssertFalse(cluster.poolLog().contains(":wrong@"))
    }
}

extension HardeningTests {
    /// Rotating the cookie key: with the old key as STEEMAUTH_PREVIOUS_SECRET old cookies still work;
    /// without it they are no cookie at all.
    func testSecretRotation() throws {
        cluster = try Cluster()
        try cluster.startAll()
        let b = Browser(cluster.baseURL)
        _ = try b.startLogin()
        let oldSecret = cluster.env["STEEMAUTH_SECRET"]!
        let newSecret = Hex.encode(SystemRandom.bytes(48))
        cluster.tearDownPool()
        cluster.env["STEEMAUTH_SECRET"] = newSecret
        cluster.env["STEEMAUTH_PREVIOUS_SECRET"] = oldSecret
        try cluster.startPool()
        XCTAssertEqual(try b.status().0, 200, "an old-key cookie verifies during the rotation")
        let fresh = try HTTPClient().request(url: cluster.baseURL + "/")
        let value = try XCTUnwrap(fresh.header("Set-Cookie")).split(separator: ";")[0].dropFirst("\(CookieSigner.name)=".count)
        let signer = CookieSigner(currentKey: Hex.decodeAnyCase(newSecret)!, previousKey: nil, mac: Blake2b.cookieMAC)
        XCTAssertNotNil(signer.verify(value: Array(value.utf8)), "new cookies are signed with the new key")
        cluster.tearDownPool()
        cluster.env["STEEMAUTH_PREVIOUS_SECRET"] = nil
        try cluster.startPool()
        XCTAssertEqual(try b.status().0, 401, "after the rotation the old key is gone")
    }

    /// Memos that are not login codes — empty, blank, 2 KB, NUL bytes, a code with a prefix or
    /// suffix, an expired session's code — are logged rejections; nothing binds.
    func testBadMemosOnTheChain() throws {
        cluster = try Cluster()
        try cluster.startRedis()
        try cluster.startDevchain()
        let store = cluster.store(), redis = cluster.redis()
        let (id, memo) = try cluster.newSession(store: store)
        let (goneID, goneMemo) = try cluster.newSession(store: store)
        _ = try redis.command(["DEL", "steemauth:s:" + goneID.hex])          // the session expired
        let memos = ["", "   ", String(repeating: "a", count: 2048), memo + "\u{0}", "x" + memo, memo + "x", "\u{0}" + memo, goneMemo]
        // Straight JSON-RPC, not the CLI: a NUL cannot travel in argv.
        let node = cluster.env["STEEMAUTH_NODES"]!
        for m in memos {
            let request: JSONValue = .object(["jsonrpc": .string("2.0"), "id": .int(1), "method": .string("devchain.push_transfer"),
                                              "params": .object(["from": .string("fuzzer"), "to": .string("steemauth.demo"),
                                                                 "amount": .string("0.001 STEEM"), "memo": .string(m), "now": .bool(true)])])
            let r = try HTTPClient().request("POST", url: node, headers: ["Content-Type: application/json"], body: Array(request.jsonText.utf8))
            XCTAssertEqual(r.status, 200)
            XCTAssertFalse(r.text.contains("error"), r.text)
        }
        _ = try cluster.startWatcher(["--from-block", "1"])
        try waitUntil("caught up", seconds: 30) { (self.cluster.checkpoint(redis: redis) ?? 0) > Int64(memos.count + 1) }
        XCTAssertNil(try cluster.boundAccount(id, redis: redis).account)
        // Exact counts from Redis, applied with the checkpoint in one script; the log lines are
        // written just after it, so they are waited for.
        XCTAssertEqual(try redis.command(["HGET", "steemauth:w:steem:rejections", "not_a_login_code"]).string, "7")
        XCTAssertEqual(try redis.command(["HGET", "steemauth:w:steem:claims", "session_gone"]).string, "1")
        try waitUntil("the rejections are logged", seconds: 30) {
            let log = self.cluster.log("watcher.log")
            return log.components(separatedBy: "reason=not_a_login_code").count - 1 >= 7 && log.contains("decision=session_gone")
        }
        XCTAssertEqual(cluster.log("watcher.log").components(separatedBy: "reason=not_a_login_code").count - 1, 7)
    }
}

extension HardeningTests {
    /// A dead chain node: nothing is skipped, and the trouble shows in /healthz and /metrics.
    func testDeadNodeShowsInHealthAndMetrics() throws {
        cluster = try Cluster(extraEnv: ["STEEMAUTH_MAX_LAG": "2"])
        try cluster.startAll(devchain: true, blockInterval: 0.5)
        _ = try cluster.startWatcher()
        let c = HTTPClient()
        try waitUntil("healthy", seconds: 30) { try c.request(url: self.cluster.baseURL + "/healthz").status == 200 }
        let redis = cluster.redis()
        try waitUntil("the watcher publishes", seconds: 30) { try redis.command(["HGET", "steemauth:w:steem", "updated"]).integer != nil }
        for p in cluster.extraProcesses where p.arguments?.first == "serve" { Cluster.terminate(p, signal: SIGKILL) }
        let before = cluster.checkpoint(redis: redis)
        try waitUntil("healthz reports the silent watcher", seconds: 30) {
            let r = try c.request(url: self.cluster.baseURL + "/healthz")
            return r.status == 503 && r.text.contains("stopped publishing")
        }
        let metrics = try c.request(url: cluster.baseURL + "/metrics").text
        XCTAssertTrue(metrics.contains("steemauth_rpc_failures_total{node="), "RPC failures are counted")
        XCTAssertEqual(cluster.checkpoint(redis: redis), before, "nothing skipped while the node is down")
        XCTAssertTrue(cluster.log("watcher.log").contains("every node failed"))
    }
}
