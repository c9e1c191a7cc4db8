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
        XCTAssertEqual(NodeURL.redact("https://user:k3y@node.example/rpc?apikey=s3cret#x"), "https://***@node.example/…?***")
        XCTAssertEqual(NodeURL.redact("https://api.steemit.com"), "https://api.steemit.com")
        XCTAssertEqual(NodeURL.redact("https://go.getblock.io/0123SECRETTOKEN/"), "https://go.getblock.io/…", "a key in the path is hidden too")
        XCTAssertEqual(NodeURL.redact("http://127.0.0.1:8090/"), "http://127.0.0.1:8090/")
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

    /// A node or a sentinel listed twice would count twice toward a quorum.
    func testANodeOrASentinelListedTwiceIsRefused() throws {
        for twice in ["https://n.example/,https://n.example", "https://N.example:443/rpc,https://n.example/rpc/", "http://127.0.0.1:8090,http://u:k@127.0.0.1:8090/"] {
            let error = try XCTUnwrap(refusal(["STEEMAUTH_NODES": twice]), twice)
            XCTAssertEqual(error.key, .nodes)
            XCTAssertTrue(error.message.contains("entry 2") && error.message.contains("again"), error.message)
        }
        XCTAssertNoThrow(try load(["STEEMAUTH_NODES": "https://n.example/a,https://n.example/b,http://127.0.0.1:8090,http://127.0.0.1:8091"]))
        XCTAssertNil(RedisEndpoint.parse("redis-sentinel://10.0.0.1:26379,10.0.0.1:26379,10.0.0.3:26379/0#m"))
        XCTAssertNil(RedisEndpoint.parse("redis-sentinel://s1.example,S1.example:26379/0#m"))
        XCTAssertNotNil(RedisEndpoint.parse("redis-sentinel://10.0.0.1:26379,10.0.0.2:26379/0#m"))
    }

    /// A page whose form leads on to an app's address allows that origin in `form-action` (Chromium
    /// holds the redirect after a POST to it); nothing that could add a directive gets in.
    func testFormActionSourcesAreOriginsOnly() {
        XCTAssertEqual(FormActionSources.sources(for: ["https://grafana.example.org/login/generic_oauth?x=1"]), ["https://grafana.example.org"])
        XCTAssertEqual(FormActionSources.sources(for: ["https://App.example:8443/cb", "https://app.example:8443/other"]), ["https://app.example:8443"])
        XCTAssertEqual(FormActionSources.sources(for: ["http://127.0.0.1:8765/callback"]), ["http://127.0.0.1:*"])
        XCTAssertEqual(FormActionSources.sources(for: ["https://a.example;script-src *", "javascript:alert(1)", "https://b.example 'unsafe-inline'/x"]), [])
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
