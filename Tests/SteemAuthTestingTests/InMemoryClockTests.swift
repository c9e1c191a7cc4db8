import SteemAuthAdapters
import SteemAuthCore
import SteemAuthTesting
import XCTest

/// The in-memory stores' lifetimes run on their clock: moved by the test, never waited for.
final class InMemoryClockTests: XCTestCase {
    let id = SessionID(randomBytes: [UInt8](repeating: 7, count: SessionID.byteCount))!

    func testCodesAndSessionsEndWithTheirLifetimes() throws {
        let stores = InMemoryStores(lifetimes: SessionLifetimes(unbound: 600, code: 300, deny: 600))
        let sessions = stores.sessions
        _ = try sessions.viewPage(id: id, gzip: false, bound: nil, replacementID: nil, freshMemo: "c1", now: stores.clock.seconds)
        stores.clock.advance(seconds: 299)
        XCTAssertEqual(try sessions.lookUp(id: id, for: .status, replacementID: nil, freshMemo: nil, now: stores.clock.seconds).state,
                       .unbound(memo: "c1", expiresIn: 1))
        stores.clock.advance(seconds: 1)
        XCTAssertTrue(try sessions.lookUp(id: id, for: .status, replacementID: nil, freshMemo: nil, now: stores.clock.seconds).needsFreshValues,
                      "the code's time is up: a new one is asked for")
        stores.clock.advance(seconds: 300)
        XCTAssertEqual(try sessions.lookUp(id: id, for: .status, replacementID: nil, freshMemo: nil, now: stores.clock.seconds).state, .none,
                       "the session's too")
        XCTAssertEqual(stores.keyspace.keys, ["steemauth:cg:c1"], "only the code's grace is left")
    }

    func testAPageViewRenewsAnUnboundSession() throws {
        let stores = InMemoryStores(lifetimes: SessionLifetimes(unbound: 600, code: 300, deny: 600))
        _ = try stores.sessions.viewPage(id: id, gzip: false, bound: nil, replacementID: nil, freshMemo: "c1", now: stores.clock.seconds)
        stores.clock.advance(seconds: 500)
        _ = try stores.sessions.viewPage(id: id, gzip: false, bound: nil, replacementID: nil, freshMemo: "c2", now: stores.clock.seconds)
        stores.clock.advance(seconds: 250)
        XCTAssertEqual(try stores.sessions.lookUp(id: id, for: .status, replacementID: nil, freshMemo: nil, now: stores.clock.seconds).state,
                       .unbound(memo: "c2", expiresIn: 50), "past its first lifetime: renewed by the view, the code re-issued in it")
    }

    func testAnUnavailableStoreFailsEveryCall() throws {
        let stores = InMemoryStores()
        stores.keyspace.unavailable = true
        XCTAssertThrowsError(try stores.sessions.lookUp(id: id, for: .status, replacementID: nil, freshMemo: nil, now: 0))
        XCTAssertThrowsError(try stores.reportCache.requestRefresh(account: "alice"))
        XCTAssertThrowsError(try stores.authorizations.accessGrant(hash: "00"))
        XCTAssertThrowsError(try stores.health.healthProblem(now: 0, maxLag: 60))
    }

    func testHealthFollowsWhatTheWatcherPublished() throws {
        let stores = InMemoryStores()
        XCTAssertNil(try stores.health.healthProblem(now: 1000, maxLag: 60), "no watcher yet: healthy")
        stores.health.publish(["updated": "1000", "behind": "3"])
        XCTAssertNil(try stores.health.healthProblem(now: 1010, maxLag: 60))
        XCTAssertEqual(try stores.health.healthProblem(now: 1100, maxLag: 60), "watcher stopped publishing 100 s ago")
        stores.health.publish(["updated": "1100", "behind": "90"])
        XCTAssertEqual(try stores.health.healthProblem(now: 1100, maxLag: 60), "watcher is 90 s behind the chain")
        stores.health.count("claims", "bound")
        XCTAssertEqual(try stores.health.watcherCounters()[1], ["bound": "1"])
        XCTAssertEqual(try stores.sessions.lookUp(id: id, for: .status, replacementID: nil, freshMemo: nil, now: 0).behindSeconds, 90,
                       "the session views show the published lag")
    }
}

/// The test random source: the same values from the same seed, different ones from another.
final class TestRandomTests: XCTestCase {
    func testTheSameSeedDrawsTheSameValues() {
        let a = TestRandom(seed: 1), b = TestRandom(seed: 1), c = TestRandom(seed: 2)
        let first = a.sessionIDAndLoginCode(prefix: "sa-")
        XCTAssertEqual(first.0, b.sessionID())
        XCTAssertEqual(first.1, b.loginCode(prefix: "sa-"))
        XCTAssertNotEqual(first.0, c.sessionID())
        XCTAssertNotEqual(a.sessionID(), first.0, "a stream, not one value")
        XCTAssertTrue(first.1.memo.hasPrefix("sa-"))
    }
}
