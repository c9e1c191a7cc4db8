import Foundation
import SteemAuthAdapters
import SteemAuthCore
import XCTest

/// The watcher's catch-up keeps several batches in flight: whatever order they come back in, and
/// whichever of them fails, blocks are applied strictly in chain order, none skipped, none twice.
final class WatcherPipelineTests: XCTestCase {
    var cluster: Cluster!

    override func setUpWithError() throws {
        // Small JSON-RPC batches, so one round of the catch-up is many requests in flight.
        cluster = try Cluster(extraEnv: ["STEEMAUTH_RPC_BATCH": "5"])
    }
    override func tearDown() {
        if let cluster, (testRun?.failureCount ?? 0) > 0 {
            print("--- watcher log ---\n" + cluster.log("watcher.log").suffix(3000))
            print("--- devchain log ---\n" + cluster.log("devchain.log").suffix(1000))
        }
        cluster?.tearDown()
    }

    /// Claims paid by `payer{i}`, each followed a few blocks later (in another request of the same
    /// round) by `thief{i}` paying the same code: only applying blocks in chain order binds the payer.
    func payClaims(_ count: Int, node: String, store: RedisSessionStore) throws -> (expected: [(SessionID, String)], head: Int64) {
        var expected: [(SessionID, String)] = []
        for i in 0..<count {
            let (id, memo) = try cluster.newSession(store: store)
            try cluster.devchain(["generate", "--blocks", "7", "--transfers-per-block", "2"], node: node)
            try cluster.devchain(["transfer", "--from", "payer\(i)", "--to", "steemauth.demo", "--memo", memo, "--now"], node: node)
            try cluster.devchain(["generate", "--blocks", "5", "--transfers-per-block", "2"], node: node)
            try cluster.devchain(["transfer", "--from", "thief\(i)", "--to", "steemauth.demo", "--memo", memo, "--now"], node: node)
            expected.append((id, "payer\(i)"))
        }
        let head = try XCTUnwrap(Int64(cluster.devchain(["produce"], node: node).split(separator: " ").last!.trimmingCharacters(in: .whitespacesAndNewlines)))
        return (expected, head)
    }

    /// Waits until the checkpoint passes `head`, checking at every look that it never moved back.
    func waitCaughtUp(past head: Int64, redis: RedisConnection) throws {
        var seen: Int64 = 0
        try waitUntil("caught up", seconds: 120, interval: 0.005) {
            let now = self.cluster.checkpoint(redis: redis) ?? 0
            XCTAssertGreaterThanOrEqual(now, seen, "the checkpoint only moves forward")
            seen = max(seen, now)
            return now > head
        }
    }

    /// The blocks of the claims the watcher decided, in the order it logged them.
    func decidedBlocks() -> [Int64] {
        cluster.log("watcher.log").split(separator: "\n").filter { $0.contains("decision=") }.compactMap { line in
            line.firstRange(of: "block=").flatMap { Int64(line[$0.upperBound...].prefix { $0.isNumber }) }
        }
    }

    func assertBoundOnceInChainOrder(_ expected: [(SessionID, String)], redis: RedisConnection) throws {
        for (id, payer) in expected { XCTAssertEqual(try cluster.boundAccount(id, redis: redis).account, payer) }
        XCTAssertEqual(try redis.command(["HGET", "steemauth:w:steem:claims", "bound"]).integer, Int64(expected.count), "each claim bound exactly once")
        // The watcher logs a batch's claims just after the checkpoint moves: wait for the lines.
        try waitUntil("every claim decided is logged", seconds: 30) { self.decidedBlocks().count >= expected.count * 2 }
        let blocks = decidedBlocks()
        XCTAssertEqual(blocks.count, expected.count * 2, "every claim decided once: the payer's and the thief's")
        XCTAssertEqual(blocks, blocks.sorted(), "claims are decided in chain order")
        // Blocks out of order or after a gap would be caught by the chain of ids: they never reach it.
        XCTAssertFalse(cluster.log("watcher.log").contains("does not chain"), "no block handed over out of order")
    }

    func testBlocksApplyInChainOrderWhenBatchesComeBackShuffled() throws {
        try cluster.startRedis()
        // Each request is answered 0-30 ms late at random: the requests of a round come back in any order.
        let node = try cluster.startDevchain(jitterMs: 30)[0]
        let redis = cluster.redis()
        let (expected, head) = try payClaims(12, node: node, store: cluster.store())
        // And within a batch, the replies come back last first.
        try cluster.devchain(["fault", "--mode", "reorder", "--count", "40"], node: node)
        _ = try cluster.startWatcher(["--from-block", "1", "--batch-size", "40"])
        try waitCaughtUp(past: head, redis: redis)
        try assertBoundOnceInChainOrder(expected, redis: redis)
        XCTAssertFalse(cluster.log("watcher.log").contains("failed"), "no request failed")
    }

    /// The node fails the one request that asks for a block in the middle of the first round: the
    /// blocks before it are applied, and it is asked again, with nothing after it skipped.
    func testAFailedBatchInTheMiddleOfARoundIsFetchedAgain() throws {
        for mode in ["refuse", "error"] {
            try cluster.startRedis()
            let node = try cluster.startDevchain(jitterMs: 10)[0]
            let redis = cluster.redis()
            let (expected, head) = try payClaims(6, node: node, store: cluster.store())
            // Block 23 is in the fifth request of the first round (blocks 1-40, 5 a request).
            try cluster.devchain(["fault", "--mode", mode, "--block", "23", "--count", "2"], node: node)
            _ = try cluster.startWatcher(["--from-block", "1", "--batch-size", "40"])
            try waitCaughtUp(past: head, redis: redis)
            try assertBoundOnceInChainOrder(expected, redis: redis)
            XCTAssertTrue(cluster.log("watcher.log").contains("a batch in flight failed; fetching it again"), mode)
            cluster.tearDown()
            cluster = try Cluster(extraEnv: ["STEEMAUTH_RPC_BATCH": "5"])
        }
    }

    /// A later request of a round fails on the preferred node: the watcher moves off that node (not
    /// only when the round's first request fails), and still applies every block in order.
    func testAFailedLaterRequestMovesTheWatcherOffTheNode() throws {
        try cluster.startRedis()
        let nodes = try cluster.startDevchain(nodes: 2)
        let redis = cluster.redis()
        let (expected, head) = try payClaims(6, node: nodes[0], store: cluster.store())
        // Block 23 is in the fifth request of the first round (blocks 1-40, 5 a request).
        try cluster.devchain(["fault", "--mode", "error", "--block", "23", "--count", "1"], node: nodes[0])
        _ = try cluster.startWatcher(["--from-block", "1", "--batch-size", "40"], extraEnv: ["STEEMAUTH_NODE_QUORUM": "1"])
        try waitCaughtUp(past: head, redis: redis)
        try assertBoundOnceInChainOrder(expected, redis: redis)
        let log = cluster.log("watcher.log")
        XCTAssertTrue(log.contains("a batch in flight failed; fetching it again"))
        XCTAssertTrue(log.contains("avoiding=\(nodes[0])"), "moved off the node whose request failed")
    }
}
