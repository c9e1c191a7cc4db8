import Foundation
import SteemAuthAdapters
import SteemAuthCore
import XCTest

/// A Redis that comes back older than the watcher left it (restarted from a snapshot, or from an
/// append-only file missing its last second): the watcher goes back to the checkpoint it finds.
final class WatcherRedisRollbackTests: XCTestCase {
    var cluster: Cluster!

    override func setUpWithError() throws { cluster = try Cluster() }
    override func tearDown() {
        if let cluster, (testRun?.failureCount ?? 0) > 0 { print("--- watcher log ---\n" + cluster.log("watcher.log").suffix(3000)) }
        cluster?.tearDown()
    }

    func testARedisThatComesBackOlderHasTheLostBlocksAppliedAgain() throws {
        try cluster.startRedis()
        let node = try cluster.startDevchain()[0]
        let store = cluster.store()
        var expected: [(SessionID, String)] = []
        for i in 0..<20 {
            let (id, memo) = try cluster.newSession(store: store)
            try cluster.devchain(["generate", "--blocks", "150", "--transfers-per-block", "5"], node: node)
            try cluster.devchain(["transfer", "--from", "payer\(i)", "--to", "steemauth.demo", "--memo", memo, "--now"], node: node)
            expected.append((id, "payer\(i)"))
        }
        let head = Int64(expected.count * 151 + 1)
        _ = try cluster.startWatcher(["--from-block", "1", "--batch-size", "20"])
        let redis = cluster.redis()
        try waitUntil("started", seconds: 30, interval: 0.005) { (self.cluster.checkpoint(redis: redis) ?? 0) > 200 }
        // A snapshot of Redis now; the watcher binds at least one more claim after it.
        _ = try redis.command(["SAVE"])
        let saved = try XCTUnwrap(cluster.checkpoint(redis: redis))
        try waitUntil("a claim bound after the snapshot", seconds: 30, interval: 0.005) { (self.cluster.checkpoint(redis: redis) ?? 0) > min(saved + 160, head) }
        cluster.stopRedis()
        try waitUntil("the watcher meets the outage", seconds: 30) {
            let log = self.cluster.log("watcher.log")
            return log.contains("will retry the same batch") || log.contains("redis unavailable")
        }
        try cluster.startRedis()     // loads the snapshot: the checkpoint and bindings of then
        let fresh = cluster.redis()
        XCTAssertEqual(cluster.checkpoint(redis: fresh), saved, "Redis came back older")
        try waitUntil("caught up", seconds: 60) { (self.cluster.checkpoint(redis: fresh) ?? 0) > head }
        for (id, payer) in expected { XCTAssertEqual(try cluster.boundAccount(id, redis: fresh).account, payer) }
        XCTAssertTrue(cluster.log("watcher.log").contains("redis came back with an older checkpoint"))
    }

    /// Redis restored from a snapshot while the watcher is caught up and idle, its connection never
    /// broken (so the watcher sees no error): its next write finds the older checkpoint, and the
    /// claim bound since the snapshot is bound again.
    func testARedisRestoredOlderWithoutAnErrorIsFoundByTheCheckpointFence() throws {
        try cluster.startRedis(debugCommand: true)
        let node = try cluster.startDevchain()[0]
        let store = cluster.store()
        let (before, beforeMemo) = try cluster.newSession(store: store)
        let (lost, lostMemo) = try cluster.newSession(store: store)
        try cluster.devchain(["generate", "--blocks", "20", "--transfers-per-block", "2"], node: node)
        let first = try paidBlock(cluster.devchain(["transfer", "--from", "early", "--to", "steemauth.demo", "--memo", beforeMemo, "--now"], node: node))
        _ = try cluster.startWatcher(["--from-block", "1"])
        let redis = cluster.redis()
        try waitUntil("caught up", seconds: 30) { (self.cluster.checkpoint(redis: redis) ?? 0) > first }
        XCTAssertEqual(try cluster.boundAccount(before, redis: redis).account, "early")
        // The snapshot: the second session is not bound yet.
        _ = try redis.command(["SAVE"])
        let saved = try XCTUnwrap(cluster.checkpoint(redis: redis))
        let paid = try paidBlock(cluster.devchain(["transfer", "--from", "late", "--to", "steemauth.demo", "--memo", lostMemo, "--now"], node: node))
        try waitUntil("bound after the snapshot", seconds: 30) {
            try self.cluster.boundAccount(lost, redis: redis).account == "late" && (self.cluster.checkpoint(redis: redis) ?? 0) > paid
        }
        XCTAssertEqual(try redis.command(["DEBUG", "RELOAD", "NOSAVE"]), .status("OK"))
        XCTAssertNil(try cluster.boundAccount(lost, redis: redis).account, "Redis came back older")
        XCTAssertEqual(cluster.checkpoint(redis: redis), saved)
        try waitUntil("bound again", seconds: 30) { try self.cluster.boundAccount(lost, redis: redis).account == "late" }
        XCTAssertGreaterThan(cluster.checkpoint(redis: redis) ?? 0, paid)
        XCTAssertTrue(cluster.log("watcher.log").contains("redis came back with an older checkpoint"))
    }

    /// The block number in the devchain's `transfer` answer.
    private func paidBlock(_ out: String) throws -> Int64 {
        try XCTUnwrap(Int64(out.split(separator: " ")[3].trimmingCharacters(in: CharacterSet(charactersIn: ",\n"))))
    }
}
