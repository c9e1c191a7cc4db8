import Foundation
import SteemAuthAdapters
import SteemAuthCore
import SteemAuthTesting
import XCTest

/// The session-store contract against the Redis stores on a real redis-server (its twin,
/// `InMemoryStoreContractTests`, runs the same cases on the in-memory fakes).
final class RedisStoreContractTests: XCTestCase {
    var cluster: Cluster!

    override func setUpWithError() throws {
        cluster = try Cluster()
        try cluster.startRedis()
    }

    override func tearDown() { cluster?.tearDown() }

    func run(_ contractCase: (SessionStoreContract.Subject) throws -> Void) throws {
        let cluster = self.cluster!, redis = cluster.redis(), prefix = "steemauth:"
        let subject = SessionStoreContract.Subject(
            sessions: RedisSessionStore(redis: redis, prefix: prefix, chain: .steem, lifetimes: Cluster.lifetimes),
            authorizations: RedisAuthorizationStore(redis: redis, prefix: prefix),
            reportCache: RedisReportCacheStore(redis: redis, prefix: prefix),
            lifetimes: Cluster.lifetimes,
            bindByTransfer: { memo, account, block, tx in
                try cluster.claim(memo: memo, account: account, block: block, transactionID: tx, blockTime: "t", boundTTL: 3600, now: unixSeconds())
            },
            ttl: { key in Int(try redis.command(["TTL", prefix + key]).checked().integer ?? -3) },
            expire: { key in
                // A lifetime of a millisecond, then until Redis has let the key go (it does on access).
                _ = try redis.command(["PEXPIRE", prefix + key, "1"]).checked()
                for _ in 0..<10_000 where try redis.command(["EXISTS", prefix + key]).integer != 0 { usleep(200) }
                XCTAssertEqual(try redis.command(["EXISTS", prefix + key]).integer, 0, "\(key) expired")
            },
            now: { unixSeconds() })
        try contractCase(subject)
    }

    func testCreate() throws { try run(SessionStoreContract.create) }
    func testReissue() throws { try run(SessionStoreContract.reissue) }
    func testBind() throws { try run(SessionStoreContract.bind) }
    func testRotateWithDeny() throws { try run(SessionStoreContract.rotateWithDeny) }
    func testVerifyNeverRotates() throws { try run(SessionStoreContract.verifyNeverRotates) }
    func testLogout() throws { try run(SessionStoreContract.logout) }
    func testExpiry() throws { try run(SessionStoreContract.expiry) }
    func testSignIn() throws { try run(SessionStoreContract.signIn) }
    func testOidcParkingOnANewBrowser() throws { try run(SessionStoreContract.oidcParkingOnANewBrowser) }
    func testOidcFreshProof() throws { try run(SessionStoreContract.oidcFreshProof) }
    func testReportCache() throws { try run(SessionStoreContract.reportCache) }
}
