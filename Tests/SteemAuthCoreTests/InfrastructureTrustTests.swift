import XCTest
@testable import SteemAuthCore

/// Node URLs (https only, read with their userinfo, shown redacted), the Sentinel quorum and its
/// required password, and the FastCGI allow-list's requirement beyond loopback.
final class InfrastructureTrustTests: XCTestCase {
    let base = ["STEEMAUTH_ACCOUNT": "steemauth.demo", "STEEMAUTH_SECRET": String(repeating: "ab", count: 32)]

    func load(_ extra: [String: String]) throws(ConfigError) -> AppConfig {
        try AppConfig.load(environment: base.merging(extra) { $1 })
    }

    func refusal(_ extra: [String: String]) -> ConfigError? {
        do { _ = try load(extra); return nil } catch { return error }
    }

    func testNodeURLsAreReadWithTheirUserinfo() throws {
        let keyed = try XCTUnwrap(NodeURL.parse("http://user:pw@127.0.0.1:8090"))
        XCTAssertEqual(keyed.host, "127.0.0.1")
        XCTAssertTrue(keyed.isLoopback)
        let smuggled = try XCTUnwrap(NodeURL.parse("http://127.0.0.1@evil.example"))
        XCTAssertEqual(smuggled.host, "evil.example")
        XCTAssertFalse(smuggled.isLoopback)
        XCTAssertTrue(try XCTUnwrap(NodeURL.parse("http://[::1]:8090/")).isLoopback)
        XCTAssertFalse(try XCTUnwrap(NodeURL.parse("http://127.0.0.1.evil.example/")).isLoopback)
        for bad in ["ftp://x", "https://", "https://a@b@c/", "https://node:99999/", "https://no de/", "https://node\\\\x/", "//node", "https://[::1/"] {
            XCTAssertNil(NodeURL.parse(bad), bad)
        }
    }

    func testNodeURLsAreShownRedacted() {
        XCTAssertEqual(NodeURL.redact("https://user:k3y@node.example/rpc?apikey=s3cret#x"), "https://***@node.example/rpc?***")
        XCTAssertEqual(NodeURL.redact("https://api.steemit.com"), "https://api.steemit.com")
        XCTAssertEqual(NodeURL.redact("not a url with k3y"), "(an invalid node URL)")
    }

    func testNodesMustBeHTTPSExceptOnLoopbackOrWhenAllowed() throws {
        XCTAssertNoThrow(try load(["STEEMAUTH_NODES": "https://api.steemit.com,http://127.0.0.1:8090,http://user:pw@127.0.0.1:8091"]))
        for plain in ["http://api.steemit.com", "http://127.0.0.1@evil.example", "http://10.0.0.5:8090"] {
            let error = try XCTUnwrap(refusal(["STEEMAUTH_NODES": "https://api.steemit.com," + plain]), plain)
            XCTAssertEqual(error.key, .nodes)
            XCTAssertTrue(error.message.contains("entry 2") && error.message.contains("must be https"), error.message)
        }
        XCTAssertNoThrow(try load(["STEEMAUTH_NODES": "http://10.0.0.5:8090", "STEEMAUTH_ALLOW_PLAIN_HTTP_NODES": "1"]))
        // A refused URL is named by its place and its redacted form, never as written.
        let error = try XCTUnwrap(refusal(["STEEMAUTH_NODES": "http://user:k3y@node.example/?apikey=s3cret"]))
        XCTAssertFalse(error.description.contains("k3y") || error.description.contains("s3cret"), error.description)
        let invalid = try XCTUnwrap(refusal(["STEEMAUTH_NODES": "https://user:k3y@a@b/"]))
        XCTAssertFalse(invalid.description.contains("k3y"), invalid.description)
    }

    func testSentinelNeedsItsPassword() throws {
        let url = ["STEEMAUTH_REDIS_URL": "redis-sentinel://10.0.0.1:26379,10.0.0.2:26379,10.0.0.3:26379/0#mymaster"]
        XCTAssertEqual(refusal(url)?.key, .redisSentinelPassword)
        let c = try load(url.merging(["STEEMAUTH_REDIS_SENTINEL_PASSWORD": "pw", "STEEMAUTH_REDIS_SENTINEL_USER": "steemauth"]) { $1 })
        XCTAssertEqual(c.redisSentinelUser, "steemauth")
    }

    func testSentinelQuorum() {
        let m = "10.0.0.1:6379", rogue = "10.6.6.6:6379"
        XCTAssertEqual(SentinelQuorum.decide(answers: [rogue, m, m, m], listed: 4).address, m)
        XCTAssertEqual(SentinelQuorum.decide(answers: [m, m], listed: 3).address, m, "a majority of those that answered")
        XCTAssertNil(SentinelQuorum.decide(answers: [m], listed: 3).address, "two must agree when two or more are listed")
        XCTAssertNil(SentinelQuorum.decide(answers: [rogue, m], listed: 2).address)
        XCTAssertNil(SentinelQuorum.decide(answers: [rogue, rogue, m, m], listed: 4).address, "a tie is no majority")
        XCTAssertEqual(SentinelQuorum.decide(answers: [m], listed: 1).address, m)
        XCTAssertNil(SentinelQuorum.decide(answers: [], listed: 3).address)
    }

    func testFastCGIBeyondLoopbackNeedsAnAllowList() throws {
        for listen in ["10.0.0.12:9000", "0.0.0.0:9000", "[::]:9000"] {
            XCTAssertEqual(refusal(["STEEMAUTH_LISTEN": listen])?.key, .fcgiAllow, listen)
        }
        XCTAssertNoThrow(try load(["STEEMAUTH_LISTEN": "10.0.0.12:9000", "STEEMAUTH_FCGI_ALLOW": "10.0.0.11"]))
        XCTAssertNoThrow(try load(["STEEMAUTH_LISTEN": "127.0.0.1:9000"]))
        XCTAssertNoThrow(try load(["STEEMAUTH_LISTEN": "unix:/run/steemauth/fcgi.sock"]))
    }
}
