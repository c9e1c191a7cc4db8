import Foundation
import SteemAuthAdapters
import SteemAuthCore
import XCTest

/// A worker that saw a session unbound reads its next status poll and ask page with plain commands
/// (no script), against a real redis-server. Those reads only read: whenever anything changed (a
/// binding, a new or expired code, a session gone or logged out, a lifetime to renew) the script
/// decides, as it does without a hint.
final class SessionHintTests: XCTestCase {
    var cluster: Cluster!
    var store: RedisSessionStore!
    var redis: RedisConnection!

    override func setUpWithError() throws {
        cluster = try Cluster()
        try cluster.startRedis()
        store = cluster.store()
        redis = cluster.redis()
    }
    override func tearDown() { cluster?.tearDown() }

    /// How many scripts Redis has run so far.
    func scriptsRun() throws -> Int {
        let info = try XCTUnwrap(try redis.command(["INFO", "commandstats"]).string)
        return info.split(separator: "\r\n").reduce(0) { total, line in
            guard line.hasPrefix("cmdstat_evalsha:") || line.hasPrefix("cmdstat_eval:"),
                  let calls = line.split(separator: ",").first?.split(separator: "=").last else { return total }
            return total + (Int(calls) ?? 0)
        }
    }

    func status(_ id: SessionID, code: String?) throws -> SessionView {
        try store.lookUp(id: id, for: .status, replacementID: nil, freshMemo: nil, now: unixSeconds(), unboundCode: code)
    }

    func page(_ id: SessionID, code: String?) throws -> SessionView {
        try store.viewPage(id: id, gzip: false, bound: nil, unboundCode: code, replacementID: nil, freshMemo: nil, now: unixSeconds())
    }

    /// `view()` unbound with `memo`, its code's time left between what Redis says just before and
    /// just after (however long the call takes).
    func unbound(_ memo: String, line: UInt = #line, _ view: () throws -> SessionView) throws -> SessionView {
        let before = try XCTUnwrap(redis.command(["TTL", "steemauth:c:" + memo]).integer)
        let made = try view()
        let after = try XCTUnwrap(redis.command(["TTL", "steemauth:c:" + memo]).integer)
        guard case .unbound(let shown, let expiresIn) = made.state else { XCTFail("\(made.state)", line: line); return made }
        XCTAssertEqual(shown, memo, line: line)
        XCTAssertTrue((Int(after)...Int(before)).contains(expiresIn), "\(expiresIn) not within \(after)...\(before)", line: line)
        return made
    }

    func testAStatusPollAndAReloadOfASessionSeenUnboundRunNoScript() throws {
        let (id, memo) = try cluster.newSession(store: store)
        _ = try redis.command(["HSET", "steemauth:w:steem", "behind", "4"])
        let before = try scriptsRun()
        let polled = try unbound(memo) { try status(id, code: memo) }
        XCTAssertEqual(polled.behindSeconds, 4)
        let expiry = try XCTUnwrap(polled.codeExpiresAt)
        XCTAssertTrue((unixSeconds() + 1...unixSeconds() + 900).contains(expiry))
        let scripted = try unbound(memo) { try status(id, code: nil) }
        XCTAssertEqual(scripted.behindSeconds, polled.behindSeconds, "the script's view and the plain reads' are the same")
        XCTAssertEqual(scripted.codeExpiresAt, expiry)
        _ = try redis.command(["HSET", "steemauth:s:" + id.hex, "oidc", #"{"client_id":"grafana"}"#])
        let reloaded = try unbound(memo) { try page(id, code: memo) }
        XCTAssertEqual(reloaded.codeExpiresAt, expiry)
        XCTAssertEqual(reloaded.oidcPending, Array(#"{"client_id":"grafana"}"#.utf8), "a waiting authorization is read too")
        XCTAssertEqual(try scriptsRun(), before + 1, "only the poll without a hint ran the script")
    }

    func testAPageRenewsTheSessionsLifetimeThroughTheScriptOnceItHasRunDown() throws {
        let (id, memo) = try cluster.newSession(store: store)
        let key = "steemauth:s:" + id.hex
        var before = try scriptsRun()
        _ = try page(id, code: memo)
        XCTAssertEqual(try scriptsRun(), before, "renewed moments ago: nothing to write")
        _ = try redis.command(["EXPIRE", key, "7000"])       // 200 s since the last renewal
        before = try scriptsRun()
        _ = try unbound(memo) { try page(id, code: memo) }
        XCTAssertEqual(try scriptsRun(), before + 1)
        XCTAssertTrue((7190...7200).contains(try XCTUnwrap(redis.command(["TTL", key]).integer)), "renewed to the whole 2 h")
        before = try scriptsRun()
        _ = try status(id, code: memo)
        _ = try redis.command(["EXPIRE", key, "60"])
        _ = try status(id, code: memo)
        XCTAssertEqual(try scriptsRun(), before, "a status poll never renews a session")
        XCTAssertTrue((1...60).contains(try XCTUnwrap(redis.command(["TTL", key]).integer)))
    }

    func testAnythingChangedGoesToTheScript() throws {
        // A code the worker did not see (another worker showed a new one): the script's view, the new code.
        let (id, memo) = try cluster.newSession(store: store)
        var before = try scriptsRun()
        XCTAssertEqual(try status(id, code: "an-older-code").state.memo, memo)
        XCTAssertEqual(try page(id, code: "an-older-code").state.memo, memo)
        XCTAssertEqual(try scriptsRun(), before + 2)

        // The code expired: the script asks for a fresh one (nothing read as live).
        _ = try redis.command(["DEL", "steemauth:c:" + memo])
        XCTAssertTrue(try status(id, code: memo).needsFreshValues)
        XCTAssertTrue(try page(id, code: memo).needsFreshValues)

        // Bound meanwhile (by the watcher or a signature): never shown unbound again.
        let (bound, boundMemo) = try cluster.newSession(store: store)
        XCTAssertEqual(try cluster.claim(memo: boundMemo, account: "alice", block: 7, transactionID: "ab", blockTime: "t", boundTTL: 3600,
                                       now: unixSeconds()), .bound)
        before = try scriptsRun()
        let afterBinding = try status(bound, code: boundMemo)
        XCTAssertTrue(afterBinding.needsFreshValues, "the status poll's script rotates the id: \(afterBinding.state)")
        XCTAssertTrue(try page(bound, code: boundMemo).needsFreshValues)
        XCTAssertEqual(try scriptsRun(), before + 2)
        XCTAssertEqual(try redis.command(["TTL", "steemauth:s:" + bound.hex]).integer.map { (3590...3600).contains($0) }, true,
                       "a bound session's lifetime is untouched")

        // Logged out (deny-listed), or gone: no session.
        let (out, outMemo) = try cluster.newSession(store: store)
        try store.logout(id: out, denyTTL: 3600)
        XCTAssertEqual(try status(out, code: outMemo).state, .denied)
        let (gone, goneMemo) = try cluster.newSession(store: store)
        _ = try redis.command(["DEL", "steemauth:s:" + gone.hex])
        XCTAssertEqual(try status(gone, code: goneMemo).state, .none)
    }
}

private extension SessionView.State {
    var memo: String? { if case .unbound(let memo, _) = self { memo } else { nil } }
}
