import Foundation
import Glibc
import SteemAuthAdapters
import SteemAuthCore
import XCTest

/// The watcher against the real devchain and a real redis-server: binds, never twice, never skips.
final class WatcherTests: XCTestCase {
    var cluster: Cluster!
    /// Size knob for the long scenarios (CI runs the default; STEEMAUTH_TEST_SCALE=4 for a soak).
    let scale = Int(ProcessInfo.processInfo.environment["STEEMAUTH_TEST_SCALE"] ?? "1") ?? 1

    override func setUpWithError() throws { cluster = try Cluster() }
    override func tearDown() {
        if let cluster, (testRun?.failureCount ?? 0) > 0 {
            print("--- watcher log ---\n" + cluster.log("watcher.log").suffix(3000))
            print("--- devchain log ---\n" + cluster.log("devchain.log").suffix(1000))
        }
        cluster?.tearDown()
    }

    func testTransferBindsAndStatusTurnsBoundThroughNginx() throws {
        try cluster.startAll(devchain: true, blockInterval: 1)
        _ = try cluster.startWatcher()
        let b = Browser(cluster.baseURL)
        let memo = try b.startLogin()
        try cluster.devchain(["transfer", "--from", "alice", "--to", "steemauth.demo", "--amount", "0.001 STEEM", "--memo", memo])
        try waitUntil("status says bound", seconds: 30, interval: 0.05) { try b.status().1["bound"] as? Bool == true }
        let (_, json) = try b.status()
        XCTAssertEqual(json["account"] as? String, "alice")
        XCTAssertNotNil(json["behind_seconds"] as? Int, "the watcher publishes its lag")
        let page = try b.get("/steemauth")
        XCTAssertTrue(page.text.contains("Logged in as @alice"))
        XCTAssertEqual(try b.get("/healthz").status, 200)
        // A second claim of the same memo from another account changes nothing.
        try cluster.devchain(["transfer", "--from", "mallory", "--to", "steemauth.demo", "--memo", memo, "--now"])
        try waitUntil("the watcher saw it", seconds: 30) { self.cluster.log("watcher.log").contains("from=mallory") }
        XCTAssertEqual(try b.status().1["account"] as? String, "alice")
        XCTAssertTrue(cluster.log("watcher.log").contains("decision=unknown_or_expired_code"))
    }

    func testMatchingRulesRejectWhatIsNotAValidClaim() throws {
        try cluster.startRedis()
        try cluster.startDevchain()
        let redis = cluster.redis()
        let store = cluster.store()
        _ = try cluster.startWatcher(["--from-block", "1"])
        var sessions: [(SessionID, String)] = []
        for _ in 0..<7 { sessions.append(try cluster.newSession(store: store)) }
        let cases: [(String, String, String)] = [          // to, amount, memo
            ("someone.else", "1.000 STEEM", sessions[0].1),
            ("steemauth.demo", "1.000000 VESTS", sessions[1].1),
            ("steemauth.demo", "0.000 STEEM", sessions[2].1),
            ("steemauth.demo", "0.001 STEEM", "#" + sessions[3].1),
            ("steemauth.demo", "0.001 STEEM", sessions[4].1 + "x"),
            ("steemauth.demo", "0.001 SBD", "  " + sessions[5].1.uppercased() + "\n"),   // valid: SBD, spaces, upper case
        ]
        for (i, c) in cases.enumerated() {
            try cluster.devchain(["transfer", "--from", "user\(i)x", "--to", c.0, "--amount", c.1, "--memo", c.2, "--now"])
        }
        // A code past its expiry and its grace: its session lives, the code's keys are gone.
        _ = try redis.command(["DEL", "steemauth:c:" + sessions[6].1, "steemauth:cg:" + sessions[6].1])
        try cluster.devchain(["transfer", "--from", "late", "--to", "steemauth.demo", "--memo", sessions[6].1, "--now"])
        let head = try XCTUnwrap(Int64(cluster.devchain(["produce"]).split(separator: " ").last!.trimmingCharacters(in: .whitespacesAndNewlines)))
        try waitUntil("caught up", seconds: 30) { (self.cluster.checkpoint(redis: redis) ?? 0) > head }
        for i in [0, 1, 2, 3, 4, 6] { XCTAssertNil(try cluster.boundAccount(sessions[i].0, redis: redis).account, "case \(i)") }
        XCTAssertEqual(try cluster.boundAccount(sessions[5].0, redis: redis).account, "user5x")
        // The watcher logs a batch's rejections just after the checkpoint moves: wait for the lines.
        let reasons = ["asset_not_accepted", "amount_too_small", "encrypted_memo", "not_a_login_code", "unknown_or_expired_code"]
        try waitUntil("the rejections are logged", seconds: 30) {
            let log = self.cluster.log("watcher.log")
            return reasons.allSatisfy { log.contains($0) }
        }
        let log = cluster.log("watcher.log")
        for reason in reasons {
            XCTAssertTrue(log.contains(reason), reason)
        }
        XCTAssertFalse(log.contains(sessions[0].0.hex), "session ids never reach the log")
    }

    /// kill -9 in the middle of a long catch-up, restart: every valid claim bound exactly once.
    func testKill9DuringCatchUpLosesNothingAndBindsOnce() throws {
        try cluster.startRedis()
        let node = try cluster.startDevchain()[0]
        let redis = cluster.redis(), store = cluster.store()
        let claims = 25 * scale, gap = 200
        var expected: [(SessionID, String)] = []
        for i in 0..<claims {
            let (id, memo) = try cluster.newSession(store: store)
            try cluster.devchain(["generate", "--blocks", String(gap), "--transfers-per-block", "5"], node: node)
            try cluster.devchain(["transfer", "--from", "payer\(i)", "--to", "steemauth.demo", "--memo", memo, "--now"], node: node)
            // and a later duplicate from someone else, which must lose
            try cluster.devchain(["transfer", "--from", "thief\(i)", "--to", "steemauth.demo", "--memo", memo, "--now"], node: node)
            expected.append((id, "payer\(i)"))
        }
        let head = Int64(claims * (gap + 2) + 1)
        var watcher = try cluster.startWatcher(["--from-block", "1", "--batch-size", "50"])
        try waitUntil("a third of the way", seconds: 60, interval: 0.005) { (self.cluster.checkpoint(redis: redis) ?? 0) > head / 3 }
        kill(watcher.processIdentifier, SIGKILL)
        watcher.waitUntilExit()
        let killedAt = cluster.checkpoint(redis: redis)!
        watcher = try cluster.startWatcher(["--from-block", "1", "--batch-size", "50"], logName: "watcher2.log")
        try waitUntil("caught up", seconds: 120) { (self.cluster.checkpoint(redis: redis) ?? 0) > head }
        for (id, payer) in expected {
            XCTAssertEqual(try cluster.boundAccount(id, redis: redis).account, payer)
        }
        // Counted in Redis by the binding script itself (a log line can die with a kill -9).
        XCTAssertEqual(try redis.command(["HGET", "steemauth:w:steem:claims", "bound"]).integer, Int64(claims), "each claim bound exactly once across the kill")
        XCTAssertTrue(cluster.log("watcher2.log").contains("checkpoint=resumed next_block=\(killedAt)") ||
                      cluster.log("watcher2.log").contains("next_block=\(killedAt)"), "resumed at the checkpoint, not after it")
        print("kill -9 at block \(killedAt) of \(head); \(claims) claims bound once each")
    }

    func testFailoverToTheSecondNodeSkipsNoBlock() throws {
        try cluster.startRedis()
        let nodes = try cluster.startDevchain(nodes: 2)
        let redis = cluster.redis(), store = cluster.store()
        var expected: [(SessionID, String)] = []
        for i in 0..<12 {
            let (id, memo) = try cluster.newSession(store: store)
            try cluster.devchain(["generate", "--blocks", "30", "--transfers-per-block", "2"], node: nodes[0])
            try cluster.devchain(["transfer", "--from", "payer\(i)", "--to", "steemauth.demo", "--memo", memo, "--now"], node: nodes[0])
            expected.append((id, "payer\(i)"))
        }
        let head = Int64(12 * 31 + 1)
        try cluster.devchain(["fault", "--mode", "garbage", "--count", "3"], node: nodes[0])
        var watcher = try cluster.startWatcher(["--from-block", "1", "--batch-size", "20"], extraEnv: ["STEEMAUTH_RPC_TIMEOUT": "1"])
        try waitUntil("caught up", seconds: 60) { (self.cluster.checkpoint(redis: redis) ?? 0) > head }
        // Each mode in turn on the first node, with more claims in between.
        for mode in ["refuse", "error", "slow"] {
            let (id, memo) = try cluster.newSession(store: store)
            try cluster.devchain(["fault", "--mode", mode, "--count", "2", "--seconds", "3"], node: nodes[0])
            try cluster.devchain(["generate", "--blocks", "40", "--transfers-per-block", "2"], node: nodes[1])
            try cluster.devchain(["transfer", "--from", "payer-\(mode)", "--to", "steemauth.demo", "--memo", memo, "--now"], node: nodes[1])
            expected.append((id, "payer-\(mode)"))
            watcher.terminate(); watcher.waitUntilExit()       // restart, so it starts on the first node again
            watcher = try cluster.startWatcher([], logName: "watcher-\(mode).log", extraEnv: ["STEEMAUTH_RPC_TIMEOUT": "1"])
            let target = try XCTUnwrap(Int64(cluster.devchain(["produce"], node: nodes[1]).split(separator: " ").last!.trimmingCharacters(in: .whitespacesAndNewlines)))
            try waitUntil("caught up after \(mode)", seconds: 30) { (self.cluster.checkpoint(redis: redis) ?? 0) > target }
            XCTAssertTrue(cluster.log("watcher-\(mode).log").contains("trying next"), "\(mode) made it fail over")
        }
        for (id, payer) in expected { XCTAssertEqual(try cluster.boundAccount(id, redis: redis).account, payer) }
        XCTAssertTrue(cluster.log("watcher.log").contains("undecodable reply"))
    }

    func testRedisRestartDuringCatchUpResumesWithoutLoss() throws {
        try cluster.startRedis(appendOnly: true)
        let node = try cluster.startDevchain()[0]
        let store = cluster.store()
        var expected: [(SessionID, String)] = []
        for i in 0..<10 * scale {
            let (id, memo) = try cluster.newSession(store: store)
            try cluster.devchain(["generate", "--blocks", "150", "--transfers-per-block", "5"], node: node)
            try cluster.devchain(["transfer", "--from", "payer\(i)", "--to", "steemauth.demo", "--memo", memo, "--now"], node: node)
            expected.append((id, "payer\(i)"))
        }
        let head = Int64(expected.count * 151 + 1)
        _ = try cluster.startWatcher(["--from-block", "1", "--batch-size", "20"])
        let redis = cluster.redis()
        try waitUntil("started", seconds: 30, interval: 0.005) { (self.cluster.checkpoint(redis: redis) ?? 0) > head / 4 }
        cluster.stopRedis()
        try waitUntil("the watcher meets the outage mid-batch", seconds: 30) { self.cluster.log("watcher.log").contains("will retry the same batch") }
        try cluster.startRedis(appendOnly: true)
        let fresh = cluster.redis()
        try waitUntil("caught up", seconds: 60) { (self.cluster.checkpoint(redis: fresh) ?? 0) > head }
        for (id, payer) in expected { XCTAssertEqual(try cluster.boundAccount(id, redis: fresh).account, payer) }
        XCTAssertTrue(cluster.log("watcher.log").contains("will retry the same batch"))
    }

    func testRefusesANodeOfTheOtherChain() throws {
        try cluster.startRedis()
        try cluster.startDevchain(chain: "hive")
        let watcher = try cluster.startWatcher([], extraEnv: ["STEEMAUTH_CHAIN": "steem"])
        watcher.waitUntilExit()
        XCTAssertEqual(watcher.terminationStatus, 3)
        XCTAssertTrue(cluster.log("watcher.log").contains("node serves another chain"))
    }

    func testHiveWithBlockRangeAndCallForm() throws {
        try cluster.startRedis()
        try cluster.startDevchain(chain: "hive")
        let store = RedisSessionStore(redis: cluster.redis(), prefix: "steemauth:", chain: .hive, lifetimes: Cluster.lifetimes)
        let (id, memo) = try cluster.newSession(store: store)
        let (id2, memo2) = try cluster.newSession(store: store)
        try cluster.devchain(["generate", "--blocks", "120", "--transfers-per-block", "3"])
        try cluster.devchain(["transfer", "--from", "hiver", "--to", "steemauth.demo", "--amount", "0.001 HBD", "--memo", memo, "--now"])
        try cluster.devchain(["transfer", "--from", "hiver2", "--to", "steemauth.demo", "--amount", "0.001 STEEM", "--memo", memo2, "--now"])
        _ = try cluster.startWatcher(["--from-block", "1", "--call-form"])
        let redis = cluster.redis()
        try waitUntil("bound", seconds: 30) { try self.cluster.boundAccount(id, redis: redis).account == "hiver" }
        try waitUntil("caught up", seconds: 30) { (self.cluster.checkpoint(redis: redis, chain: "hive") ?? 0) > 123 }
        XCTAssertEqual(try cluster.boundAccount(id2, redis: redis).account, "hiver2", "NAI @@000000021 is HIVE on Hive")
    }
}

extension WatcherTests {
    func testSIGTERMStopsCleanlyAndFollowingHeadWithConfirmations() throws {
        try cluster.startRedis()
        try cluster.startDevchain(libLag: 50)
        let store = cluster.store()
        let (id, memo) = try cluster.newSession(store: store)
        try cluster.devchain(["transfer", "--from", "quick", "--to", "steemauth.demo", "--memo", memo, "--now"])
        try cluster.devchain(["produce", "--count", "5"])
        // LIB trails by 50 blocks: irreversible-only would wait; head minus 3 confirmations binds now.
        let watcher = try cluster.startWatcher(["--from-block", "1"], extraEnv: ["STEEMAUTH_CONFIRMATIONS": "3"])
        let redis = cluster.redis()
        try waitUntil("bound with 3 confirmations", seconds: 30) { try self.cluster.boundAccount(id, redis: redis).account == "quick" }
        kill(watcher.processIdentifier, SIGTERM)
        watcher.waitUntilExit()
        XCTAssertEqual(watcher.terminationStatus, 0)
        XCTAssertTrue(cluster.log("watcher.log").contains("watcher stopped"))
        XCTAssertTrue(cluster.log("watcher.log").contains("mode=head-3"))
    }
}

extension WatcherTests {
    /// Two watchers: one writes, the other stands by and takes over within seconds of a kill -9.
    func testStandbyWatcherTakesOverTheLease() throws {
        try cluster.startRedis()
        try cluster.startDevchain()
        let store = cluster.store(), redis = cluster.redis()
        let first = try cluster.startWatcher(["--from-block", "1"], logName: "watcher-a.log")
        try waitUntil("first holds the lease", seconds: 30) { self.cluster.log("watcher-a.log").contains("holding the watcher lease") }
        let second = try cluster.startWatcher(["--from-block", "1"], logName: "watcher-b.log")
        try waitUntil("second stands by", seconds: 30) { self.cluster.log("watcher-b.log").contains("standby") }
        let (id1, memo1) = try cluster.newSession(store: store)
        try cluster.devchain(["transfer", "--from", "before", "--to", "steemauth.demo", "--memo", memo1, "--now"])
        try waitUntil("bound by the leader", seconds: 30) { try self.cluster.boundAccount(id1, redis: redis).account == "before" }
        kill(first.processIdentifier, SIGKILL)
        let (id2, memo2) = try cluster.newSession(store: store)
        try cluster.devchain(["transfer", "--from", "after", "--to", "steemauth.demo", "--memo", memo2, "--now"])
        try waitUntil("bound by the standby", seconds: 30) { try self.cluster.boundAccount(id2, redis: redis).account == "after" }
        XCTAssertTrue(cluster.log("watcher-b.log").contains("holding the watcher lease"))
        XCTAssertFalse(cluster.log("watcher-b.log").contains("decision=bound from=before"), "the standby wrote nothing while standing by")
        // A clean stop hands the lease over at once.
        let third = try cluster.startWatcher([], logName: "watcher-c.log")
        try waitUntil("third stands by", seconds: 30) { self.cluster.log("watcher-c.log").contains("standby") }
        kill(second.processIdentifier, SIGTERM)
        second.waitUntilExit()
        // Released at the stop, not left to expire: the key no longer names the second watcher.
        let holder = try redis.command(["GET", "steemauth:w:steem:lease"]).string ?? ""
        XCTAssertFalse(holder.contains("/\(second.processIdentifier)/"), "the lease was handed over at the stop: \(holder)")
        try waitUntil("third leads", seconds: 30) { self.cluster.log("watcher-c.log").contains("holding the watcher lease") }
        _ = third
    }
}
