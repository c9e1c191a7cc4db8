import Foundation
import Glibc
import SteemAuthAdapters
import SteemAuthCore
import XCTest

/// One lying node next to honest ones over the same chain (the devchain's `lie` subcommand), at
/// quorum 2, through nginx and the real pool and watcher: no single node can log anyone in.
final class LyingNodeTests: XCTestCase {
    var cluster: Cluster!
    /// The lying node is listed first: it is the one asked first.
    var liar: String { nodes[0] }
    var nodes: [String] = []

    override func tearDown() {
        if let cluster, testRun?.hasSucceeded == false {
            print("--- watcher log ---\n" + cluster.log("watcher.log").suffix(4000))
            print("--- pool log ---\n" + cluster.poolLog().suffix(3000))
        }
        cluster?.tearDown()
    }

    /// Redis, `count` devchain nodes over one chain, the pool and nginx; quorum 2 (the default for two nodes).
    func start(nodes count: Int = 2, libLag: Int = 0, env: [String: String] = [:]) throws {
        cluster = try Cluster(extraEnv: env)
        try cluster.startRedis()
        nodes = try cluster.startDevchain(nodes: count, libLag: libLag)
        try cluster.startPool()
        try cluster.startNginx()
    }

    func head() throws -> Int64 {
        try XCTUnwrap(Int64(cluster.devchain(["produce"]).split(separator: " ").last!.trimmingCharacters(in: .whitespacesAndNewlines)))
    }

    /// Pays `memo` from `from` in a new block; returns the block's number.
    @discardableResult
    func pay(_ memo: String, from: String, amount: String = "0.001 STEEM") throws -> Int64 {
        let out = try cluster.devchain(["transfer", "--from", from, "--to", "steemauth.demo", "--amount", amount, "--memo", memo, "--now"])
        return try XCTUnwrap(Int64(out.split(separator: " ")[3].trimmingCharacters(in: CharacterSet(charactersIn: ","))))
    }

    func metrics() throws -> String { try HTTPClient().request(url: cluster.baseURL + "/metrics").text }

    // MARK: signature login

    func signIn(_ b: Browser, account: String, wif: String) throws -> (Int, [String: Any]) {
        let (_, status) = try b.status()
        let challenge = try XCTUnwrap(status["challenge"] as? String)
        let signature = try SignInIntegrationTests.sign(wif, challenge)
        let r = try b.http.request("POST", url: cluster.baseURL + "/steemauth/signin",
                                   headers: ["Content-Type: application/json", "Origin: http://127.0.0.1:\(cluster.httpPort)"],
                                   body: Array(#"{"account":"\#(account)","signature":"\#(signature)"}"#.utf8))
        return (r.status, (try? JSONSerialization.jsonObject(with: Data(r.body))) as? [String: Any] ?? [:])
    }

    /// A node that puts its own key in @alice's posting authority logs no one in as @alice; the
    /// real key, which both nodes report, still does.
    func testAForgedAuthorityNeverSignsInAndTheRealKeyStillDoes() throws {
        guard FileManager.default.isExecutableFile(atPath: SignInIntegrationTests.python) else { throw XCTSkip("beem is not installed") }
        try start()
        typealias Keys = SignInIntegrationTests.Keys
        try cluster.devchain(["authority", "--account", "alice", "--role", "posting", "--key", Keys.posting.pub + ":1"])
        try cluster.devchain(["lie", "forge-authority", "--account", "alice", "--key", Keys.stranger.pub], node: liar)

        let forger = Browser(cluster.baseURL)
        _ = try forger.startLogin()
        let (status, json) = try signIn(forger, account: "alice", wif: Keys.stranger.wif)
        XCTAssertEqual(status, 503, "\(json)")
        XCTAssertTrue((json["error"] as? String ?? "").contains("disagree"), "\(json)")
        XCTAssertEqual(try forger.status().1["bound"] as? Bool, false)
        XCTAssertEqual(try forger.get("/steemauth/verify").status, 401)
        XCTAssertTrue(cluster.poolLog().contains("the nodes disagree about the account's keys"))
        XCTAssertTrue(try metrics().contains(#"steemauth_node_disagreements_total{what="authority"} 1"#))

        let owner = Browser(cluster.baseURL)
        _ = try owner.startLogin()
        let (ok, bound) = try signIn(owner, account: "alice", wif: Keys.posting.wif)
        XCTAssertEqual(ok, 200, "\(bound)")
        XCTAssertEqual(try owner.get("/steemauth/verify").header("X-SteemAuth-Account"), "alice")
    }

    // MARK: the watcher

    /// A node adds a transfer to a block and keeps the block's id: the claim in it is not confirmed
    /// by the honest node, so it never binds; the honest claims just before and after bind once each.
    func testAnInjectedTransferNeverBindsAndNeighbouringClaimsBindOnce() throws {
        try start()
        let store = cluster.store(), redis = cluster.redis()
        let (before, beforeMemo) = try cluster.newSession(store: store)
        let (victim, victimMemo) = try cluster.newSession(store: store)
        let (after, afterMemo) = try cluster.newSession(store: store)
        try cluster.devchain(["generate", "--blocks", "20", "--transfers-per-block", "2"])
        let first = try pay(beforeMemo, from: "payer-before")
        try cluster.devchain(["lie", "inject-transfer", "--block", String(first + 1), "--from", "injector", "--memo", victimMemo], node: liar)
        _ = try head()                                   // block first+1: empty, except on the lying node
        let last = try pay(afterMemo, from: "payer-after")
        _ = try cluster.startWatcher(["--from-block", "1", "--batch-size", "50"])
        try waitUntil("past the claims", seconds: 60) { (self.cluster.checkpoint(redis: redis) ?? 0) > last }

        XCTAssertEqual(try cluster.boundAccount(before, redis: redis).account, "payer-before")
        XCTAssertEqual(try cluster.boundAccount(after, redis: redis).account, "payer-after")
        XCTAssertNil(try cluster.boundAccount(victim, redis: redis).account, "the injected transfer bound nothing")
        XCTAssertEqual(try redis.command(["HGET", "steemauth:w:steem:claims", "bound"]).integer, 2, "each honest claim bound once")
        XCTAssertTrue(cluster.log("watcher.log").contains("a block is not confirmed by enough nodes"))
        try waitUntil("/metrics counts the disagreement", seconds: 30) { try self.metrics().contains(#"steemauth_node_disagreements_total{what="block"}"#) }

        // The code was not spent: its owner can still pay it.
        try pay(victimMemo, from: "real-payer")
        try waitUntil("bound by the real payer", seconds: 30) { try self.cluster.boundAccount(victim, redis: redis).account == "real-payer" }
    }

    /// A node serves a fork whose `previous` does not chain, paying a live code: the watcher refuses
    /// it, goes on from the honest node, and does so again after a restart (the checkpoint keeps the
    /// last block's id).
    func testAForkIsRefusedAndTheWatcherGoesOnFromTheHonestNode() throws {
        try start()
        let store = cluster.store(), redis = cluster.redis()
        let (forked, forkMemo) = try cluster.newSession(store: store)
        let (honest, honestMemo) = try cluster.newSession(store: store)
        try cluster.devchain(["generate", "--blocks", "10", "--transfers-per-block", "2"])
        let forkStart = try head() + 1
        try cluster.devchain(["lie", "fork", "--block", String(forkStart), "--count", "3", "--memo", forkMemo], node: liar)
        try cluster.devchain(["generate", "--blocks", "10", "--transfers-per-block", "2"])
        let paid = try pay(honestMemo, from: "payer-honest")
        _ = try cluster.startWatcher(["--from-block", "1", "--batch-size", "50"])
        try waitUntil("past the honest claim", seconds: 60) { (self.cluster.checkpoint(redis: redis) ?? 0) > paid }
        XCTAssertEqual(try cluster.boundAccount(honest, redis: redis).account, "payer-honest")
        XCTAssertNil(try cluster.boundAccount(forked, redis: redis).account, "the fork's transfer bound nothing")
        let log = cluster.log("watcher.log")
        XCTAssertTrue(log.contains("a block does not chain to the one before it") && log.contains("block=\(forkStart)"), "refused at the fork's first block")
        XCTAssertFalse(log.contains("from=forker"))

        // Across a restart: the lying node is asked first again, at a block after the checkpoint.
        let stored = try XCTUnwrap(redis.command(["GET", "steemauth:w:steem:next:id"]).string)
        XCTAssertFalse(stored.contains("f0f0f0f0"), "the checkpoint keeps the honest block's id")
        cluster.extraProcesses.last?.terminate(); cluster.extraProcesses.last?.waitUntilExit()
        let resumeAt = try XCTUnwrap(cluster.checkpoint(redis: redis))
        try cluster.devchain(["lie", "fork", "--block", String(resumeAt), "--count", "1", "--memo", forkMemo], node: liar)
        _ = try head()                                   // block resumeAt: forked on the lying node
        let (later, laterMemo) = try cluster.newSession(store: store)
        let paidLater = try pay(laterMemo, from: "payer-later")
        _ = try cluster.startWatcher([], logName: "watcher2.log")
        try waitUntil("past the later claim", seconds: 60) { (self.cluster.checkpoint(redis: redis) ?? 0) > paidLater }
        XCTAssertEqual(try cluster.boundAccount(later, redis: redis).account, "payer-later")
        XCTAssertNil(try cluster.boundAccount(forked, redis: redis).account)
        XCTAssertTrue(cluster.log("watcher2.log").contains("block=\(resumeAt)"), "the fork is refused right after the restart")
        try waitUntil("/metrics counts the refused blocks", seconds: 30) { try self.metrics().contains(#"steemauth_node_disagreements_total{what="chain"}"#) }
    }

    /// A watcher starting fresh (no id kept yet) is served a self-consistent fork that holds no
    /// claim: its blocks chain to each other, so only the quorum's check of the batch's last block
    /// keeps the fork's id out of the checkpoint, where it would make every honest block after it
    /// "not chain" and stop the watcher for good. Three nodes: with two, one liar can always stop the
    /// watcher by refusing to confirm (it can never make it bind), as the docs say.
    func testAForkServedAtAFreshStartNeverBecomesTheKeptID() throws {
        try start(nodes: 3)
        let store = cluster.store(), redis = cluster.redis()
        try cluster.devchain(["generate", "--blocks", "5", "--transfers-per-block", "1"])
        let forkStart = try head() + 1
        try cluster.devchain(["lie", "fork", "--block", String(forkStart), "--count", "3", "--memo", "notacode"], node: liar)
        try cluster.devchain(["generate", "--blocks", "6", "--transfers-per-block", "1"])
        let (session, memo) = try cluster.newSession(store: store)
        let paid = try pay(memo, from: "payer-after")
        _ = try cluster.startWatcher(["--from-block", String(forkStart), "--batch-size", "3"])
        try waitUntil("past the claim after the fork", seconds: 60) { (self.cluster.checkpoint(redis: redis) ?? 0) > paid }
        XCTAssertEqual(try cluster.boundAccount(session, redis: redis).account, "payer-after")
        let stored = try XCTUnwrap(redis.command(["GET", "steemauth:w:steem:next:id"]).string)
        XCTAssertFalse(stored.contains("f0f0f0f0"), "the kept id is one the quorum reported")
        XCTAssertTrue(cluster.log("watcher.log").contains("a block is not confirmed by enough nodes"))
    }

    /// With one node trusted (quorum 1) nothing is confirmed by another node: the chain of ids alone
    /// refuses the fork, whose first block pays a live code, and the watcher goes on from the next node.
    func testWithQuorumOneTheChainOfIdsAloneRefusesAFork() throws {
        try start(env: ["STEEMAUTH_NODE_QUORUM": "1"])
        let store = cluster.store(), redis = cluster.redis()
        let (forked, forkMemo) = try cluster.newSession(store: store)
        let (honest, honestMemo) = try cluster.newSession(store: store)
        try cluster.devchain(["generate", "--blocks", "10", "--transfers-per-block", "2"])
        let forkStart = try head() + 1
        try cluster.devchain(["lie", "fork", "--block", String(forkStart), "--memo", forkMemo], node: liar)
        try cluster.devchain(["generate", "--blocks", "10", "--transfers-per-block", "2"])
        let paid = try pay(honestMemo, from: "payer-honest")
        let watcher = try cluster.startWatcher(["--from-block", "1", "--batch-size", "50"])
        try waitUntil("past the honest claim", seconds: 60) { (self.cluster.checkpoint(redis: redis) ?? 0) > paid }
        XCTAssertEqual(try cluster.boundAccount(honest, redis: redis).account, "payer-honest")
        XCTAssertNil(try cluster.boundAccount(forked, redis: redis).account, "the fork's transfer bound nothing")
        XCTAssertTrue(cluster.log("watcher.log").contains("block=\(forkStart)"))
        watcher.terminate(); watcher.waitUntilExit()
        let check = try cluster.launch("check", ["--check-config"], log: cluster.dir + "/check.log", executable: Cluster.binary("steemauth-watcher"),
                                       environment: cluster.env.merging(["STEEMAUTH_NODE_QUORUM": "1"]) { $1 })
        check.waitUntilExit()
        XCTAssertTrue(cluster.log("check.log").contains("one node is trusted with every login"), cluster.log("check.log"))
        XCTAssertTrue(cluster.log("watcher.log").contains("one node is trusted with every login"))
        XCTAssertTrue(cluster.poolLog().contains("one node is trusted with every login"))
    }

    /// A node that reports a higher irreversible block is not followed: the watcher reads only up to
    /// the lowest irreversible block the quorum reports.
    func testAHigherIrreversibleBlockFromOneNodeIsNotFollowed() throws {
        try start(libLag: 5)
        let store = cluster.store(), redis = cluster.redis()
        try cluster.devchain(["lie", "irreversible", "--ahead", "1000"], node: liar)
        let (id, memo) = try cluster.newSession(store: store)
        try cluster.devchain(["generate", "--blocks", "20", "--transfers-per-block", "1"])
        let paid = try pay(memo, from: "payer")
        _ = try cluster.startWatcher(["--from-block", "1"])
        try waitUntil("the watcher published the irreversible block", seconds: 30) {
            try redis.command(["HGET", "steemauth:w:steem", "irreversible"]).integer != nil && self.cluster.checkpoint(redis: redis) == paid - 4
        }
        XCTAssertEqual(try redis.command(["HGET", "steemauth:w:steem", "irreversible"]).integer, paid - 5, "the honest node's, not the liar's")
        XCTAssertNil(try cluster.boundAccount(id, redis: redis).account, "the claim's block is not irreversible yet")
        for _ in 0..<5 { _ = try head() }
        try waitUntil("bound once irreversible", seconds: 30) { try self.cluster.boundAccount(id, redis: redis).account == "payer" }
    }

    /// A node that answers the global properties honestly but has no block the nodes call
    /// irreversible (null on Steem, an empty range on Hive) is a failing node: avoided, counted and
    /// logged, the claim binds through the others. When no node has the blocks, the lag shows.
    func testANodeWithoutTheIrreversibleBlocksIsAvoidedAndTheLagShows() throws {
        try start(nodes: 3)
        let store = cluster.store(), redis = cluster.redis()
        try cluster.devchain(["lie", "null-blocks", "--block", String(try head())], node: liar)
        let (id, memo) = try cluster.newSession(store: store)
        try cluster.devchain(["generate", "--blocks", "20", "--transfers-per-block", "1"])
        let paid = try pay(memo, from: "payer")
        _ = try cluster.startWatcher(["--from-block", "1"])
        try waitUntil("bound through the honest nodes", seconds: 30) { try self.cluster.boundAccount(id, redis: redis).account == "payer" }
        XCTAssertTrue(cluster.log("watcher.log").contains("a node does not have a block the nodes call irreversible"))
        try waitUntil("the liar's failure counted", seconds: 30) {
            (try redis.command(["HGET", "steemauth:w:steem:rpc", "failures|" + self.liar]).integer ?? 0) > 0
        }
        // Now no node has the blocks past the head: the watcher cannot go on, and says how far behind it is.
        try waitUntil("caught up", seconds: 30) { (self.cluster.checkpoint(redis: redis) ?? 0) > paid }
        let stuck = try head()
        for node in nodes { try cluster.devchain(["lie", "null-blocks", "--block", String(stuck)], node: node) }
        try waitUntil("caught up to the last block the nodes have", seconds: 30) { self.cluster.checkpoint(redis: redis) == stuck + 1 }
        try cluster.devchain(["generate", "--blocks", "20"])
        try waitUntil("the lag shows", seconds: 30) { (try redis.command(["HGET", "steemauth:w:steem", "behind"]).integer ?? 0) > 0 }
        XCTAssertEqual(cluster.checkpoint(redis: redis), stuck + 1)
    }

    /// A node that reports a much lower irreversible block holds nothing back: every node is asked
    /// and the quorum-th highest answer is read (two nodes vouch for it).
    func testALowerIrreversibleBlockFromOneNodeHoldsNothingBack() throws {
        try start(nodes: 3)
        let store = cluster.store(), redis = cluster.redis()
        try cluster.devchain(["lie", "irreversible", "--behind", "1000"], node: liar)
        let (id, memo) = try cluster.newSession(store: store)
        try cluster.devchain(["generate", "--blocks", "20", "--transfers-per-block", "1"])
        try pay(memo, from: "payer")
        _ = try cluster.startWatcher(["--from-block", "1"])
        try waitUntil("bound", seconds: 30) { try self.cluster.boundAccount(id, redis: redis).account == "payer" }
    }

    /// A visitor paid in time while the watcher was down; the code then expired on the ask page (a
    /// new one is shown). The transfer's block time decides: it binds when the watcher comes back.
    /// A transfer whose block is after the code's expiry binds nothing.
    func testAClaimPaidInTimeBindsAfterTheWatcherWasDownPastTheExpiry() throws {
        try start()
        let redis = cluster.redis()
        let b = Browser(cluster.baseURL)
        let memo = try b.startLogin()
        try pay(memo, from: "punctual")
        // The code's visible life ends (as its TTL would): the ask page shows a new code.
        _ = try redis.command(["DEL", "steemauth:c:" + memo])
        let renewed = try XCTUnwrap(Browser.memo(in: b.get("/steemauth").text))
        XCTAssertNotEqual(renewed, memo, "the ask page turned to a new code on time")

        let late = Browser(cluster.baseURL)
        let lateMemo = try late.startLogin()
        let lateID = try XCTUnwrap(redis.command(["GET", "steemauth:c:" + lateMemo]).string)
        // This code expired an hour before the block that pays it.
        _ = try redis.command(["SET", "steemauth:cg:" + lateMemo, "\(lateID) \(unixSeconds() - 3600)", "EX", "3600"])
        _ = try redis.command(["DEL", "steemauth:c:" + lateMemo])
        let last = try pay(lateMemo, from: "tardy")

        _ = try cluster.startWatcher(["--from-block", "1"])
        try waitUntil("past both payments", seconds: 30) { (self.cluster.checkpoint(redis: redis) ?? 0) > last }
        try waitUntil("bound by the payment made in time", seconds: 30) { try b.status().1["account"] as? String == "punctual" }
        XCTAssertEqual(try b.get("/steemauth/verify").header("X-SteemAuth-Account"), "punctual")
        XCTAssertEqual(try late.status().1["bound"] as? Bool, false, "paid after its code expired")
        XCTAssertEqual(try redis.command(["HGET", "steemauth:w:steem:claims", "bound"]).integer, 1)
    }

    /// A Steem service takes STEEM and SBD only: a HIVE transfer (which a confused or lying node
    /// reports) is refused, and `--check-config` refuses HIVE in STEEMAUTH_ASSETS on Steem.
    func testAHiveTransferToASteemServiceIsRefused() throws {
        try start()
        let redis = cluster.redis()
        let b = Browser(cluster.baseURL)
        let memo = try b.startLogin()
        let paid = try pay(memo, from: "hiver", amount: "0.001 HIVE")
        _ = try cluster.startWatcher(["--from-block", "1"])
        try waitUntil("past the payment", seconds: 30) { (self.cluster.checkpoint(redis: redis) ?? 0) > paid }
        try waitUntil("the refusal is counted", seconds: 30) {
            try redis.command(["HGET", "steemauth:w:steem:rejections", "asset_not_accepted"]).integer == 1
        }
        XCTAssertEqual(try b.status().1["bound"] as? Bool, false)
        try pay(memo, from: "steemian", amount: "0.001 SBD")
        try waitUntil("bound by SBD", seconds: 30) { try b.status().1["account"] as? String == "steemian" }

        let check = try cluster.launch("check", ["--check-config"], log: cluster.dir + "/check.log", executable: Cluster.binary("steemauth-watcher"),
                                       environment: cluster.env.merging(["STEEMAUTH_ASSETS": "STEEM,HIVE"]) { $1 })
        check.waitUntilExit()
        XCTAssertNotEqual(check.terminationStatus, 0)
        XCTAssertTrue(cluster.log("check.log").contains("STEEMAUTH_ASSETS names HIVE"), cluster.log("check.log"))
    }

    /// A node of another chain is dropped, by the watcher and the web tier alike, with an error log:
    /// what it serves is never weighed against the honest nodes.
    func testANodeOfAnotherChainIsDropped() throws {
        guard FileManager.default.isExecutableFile(atPath: SignInIntegrationTests.python) else { throw XCTSkip("beem is not installed") }
        try start(nodes: 3)
        typealias Keys = SignInIntegrationTests.Keys
        let redis = cluster.redis()
        try cluster.devchain(["authority", "--account", "alice", "--role", "posting", "--key", Keys.posting.pub + ":1"])
        // On its own chain the node has other keys for @alice and other transfers.
        try cluster.devchain(["lie", "chain-id", "--chain-id", ChainIdentity.hiveMainnet], node: liar)
        try cluster.devchain(["lie", "forge-authority", "--account", "alice", "--key", Keys.stranger.pub], node: liar)
        let b = Browser(cluster.baseURL)
        let memo = try b.startLogin()
        try cluster.devchain(["lie", "inject-transfer", "--block", String(try head() + 1), "--from", "other-chain", "--memo", memo], node: liar)
        _ = try head()

        let (status, json) = try signIn(b, account: "alice", wif: Keys.stranger.wif)
        XCTAssertEqual(status, 401, "\(json)")
        XCTAssertTrue(cluster.poolLog().contains("node serves another chain; dropped"))
        XCTAssertTrue(try metrics().contains(#"steemauth_node_disagreements_total{what="authority"} 0"#), "the dropped node was never asked")

        _ = try cluster.startWatcher(["--from-block", "1"])
        let paid = try pay(memo, from: "payer")
        try waitUntil("bound by the real payer", seconds: 30) { try b.status().1["account"] as? String == "payer" }
        XCTAssertTrue((cluster.checkpoint(redis: redis) ?? 0) > paid)
        XCTAssertTrue(cluster.log("watcher.log").contains("node serves another chain; dropped"))
        XCTAssertNil(try redis.command(["HGET", "steemauth:w:steem:rpc", "disagreements|block"]).integer, "its blocks were never weighed")
    }
}
