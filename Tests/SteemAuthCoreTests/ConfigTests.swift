import XCTest
@testable import SteemAuthCore

final class ConfigTests: XCTestCase {
    let secret = String(repeating: "ab", count: 32)
    var base: [String: String] { ["STEEMAUTH_ACCOUNT": "steemauth.demo", "STEEMAUTH_SECRET": secret] }

    func testDefaults() throws {
        let c = try AppConfig.load(environment: base)
        XCTAssertEqual(c.account, "steemauth.demo")
        XCTAssertEqual(c.secret.count, 32)
        XCTAssertNil(c.previousSecret)
        XCTAssertEqual(c.listen, .tcp(host: "127.0.0.1", port: 9000))
        XCTAssertEqual(c.workers, 4)
        XCTAssertEqual(c.maxRequests, 0)
        XCTAssertEqual(c.backlog, 511)
        XCTAssertEqual(c.chain, .steem)
        XCTAssertEqual(c.assets, ["STEEM", "SBD"])
        XCTAssertEqual(c.nodes, ["https://api.steemit.com"])
        XCTAssertEqual(c.staleDays, 40)
        XCTAssertEqual(c.unboundTTL, 7200)
        XCTAssertEqual(c.boundTTL, 30 * 86400)
        XCTAssertEqual(c.codeTTL, 900)
        XCTAssertEqual(c.displayAmount, "0.001 STEEM")
        XCTAssertEqual(c.redisPrefix, "steemauth:")
        let hive = try AppConfig.load(environment: base.merging(["STEEMAUTH_CHAIN": "hive"]) { $1 })
        XCTAssertEqual(hive.assets, ["HIVE", "HBD"])
        XCTAssertEqual(hive.displayAmount, "0.001 HIVE")
    }

    /// Each chain's own assets, by its chain id: STEEMAUTH_ASSETS narrows them, never names another chain's.
    func testAssetsBelongToTheChain() throws {
        XCTAssertEqual(try AppConfig.load(environment: base).chainID, ChainIdentity.steemMainnet)
        XCTAssertEqual(try AppConfig.load(environment: base.merging(["STEEMAUTH_CHAIN": "hive"]) { $1 }).chainID, ChainIdentity.hiveMainnet)
        XCTAssertEqual(try AppConfig.load(environment: base.merging(["STEEMAUTH_ASSETS": "SBD"]) { $1 }).assets, ["SBD"])
        for (chain, assets) in [("steem", "HIVE"), ("steem", "STEEM,HBD"), ("hive", "STEEM"), ("steem", "TESTS")] {
            XCTAssertThrowsError(try AppConfig.load(environment: base.merging(["STEEMAUTH_CHAIN": chain, "STEEMAUTH_ASSETS": assets]) { $1 }), "\(chain) \(assets)") { e in
                XCTAssertEqual((e as? ConfigError)?.key, .assets)
                XCTAssertTrue("\(e)".contains("does not have"), "\(e)")
            }
        }
        let testnetID = String(repeating: "46d82ab7", count: 8)
        let testnet = try AppConfig.load(environment: base.merging(["STEEMAUTH_CHAIN_ID": testnetID]) { $1 })
        XCTAssertEqual(testnet.assets, ["TESTS", "TBD"])
        XCTAssertEqual(testnet.displayAmount, "0.001 TESTS")
        XCTAssertThrowsError(try AppConfig.load(environment: base.merging(["STEEMAUTH_CHAIN_ID": "beef"]) { $1 }))
    }

    func testOneNodeAloneIsWarnedAbout() throws {
        XCTAssertNotNil(try AppConfig.load(environment: base).quorumWarning)
        let two = try AppConfig.load(environment: base.merging(["STEEMAUTH_NODES": "https://a.example,https://b.example"]) { $1 })
        XCTAssertEqual(two.nodeQuorum, 2)
        XCTAssertNil(two.quorumWarning)
    }

    func testEveryBadValueNamesItsKey() {
        let cases: [(String, String)] = [
            ("STEEMAUTH_SECRET", "abc"), ("STEEMAUTH_SECRET", String(repeating: "a", count: 62)),
            ("STEEMAUTH_SECRET", String(repeating: "a", count: 130)), ("STEEMAUTH_SECRET", String(repeating: "zz", count: 32)),
            ("STEEMAUTH_PREVIOUS_SECRET", "nothex"), ("STEEMAUTH_ACCOUNT", "A"), ("STEEMAUTH_ACCOUNT", "has space"),
            ("STEEMAUTH_REDIS_URL", "http://x"), ("STEEMAUTH_LISTEN", "nowhere"), ("STEEMAUTH_WORKERS", "0"),
            ("STEEMAUTH_WORKERS", "many"), ("STEEMAUTH_MAX_REQUESTS", "-1"), ("STEEMAUTH_MEMO_PREFIX", "Bad_Prefix"),
            ("STEEMAUTH_MEMO_PREFIX", String(repeating: "a", count: 17)), ("STEEMAUTH_CHAIN", "eos"),
            ("STEEMAUTH_NODES", "ftp://x"), ("STEEMAUTH_STALE_DAYS", "0"), ("STEEMAUTH_MIN_AMOUNT", "0.0001"),
            ("STEEMAUTH_ASSETS", "steem dollars"), ("STEEMAUTH_PUBLIC_ORIGIN", "https://login.example.org/path"), ("STEEMAUTH_PUBLIC_ORIGIN", "http://login.example.org"), ("STEEMAUTH_RPC_TIMEOUT", "-1"),
        ]
        for (key, value) in cases {
            XCTAssertThrowsError(try AppConfig.load(environment: base.merging([key: value]) { $1 }), "\(key)=\(value)") { error in
                let e = error as! ConfigError
                XCTAssertEqual(e.key.rawValue, key)
                if key.hasSuffix("SECRET") { XCTAssertFalse(e.description.contains(value), "a secret's value must never be echoed") }
            }
        }
    }

    func testRequiredKeysAndUnknownKeysIgnored() throws {
        XCTAssertThrowsError(try AppConfig.load(environment: [:])) { XCTAssertEqual(($0 as! ConfigError).key, .account) }
        XCTAssertThrowsError(try AppConfig.load(environment: ["STEEMAUTH_ACCOUNT": "steemauth.demo"])) {
            XCTAssertEqual(($0 as! ConfigError).key, .secret)
        }
        XCTAssertNoThrow(try AppConfig.load(environment: base.merging(["STEEMAUTH_SOMETHING_ELSE": "x", "PATH": "/bin"]) { $1 }))
        XCTAssertNoThrow(try AppConfig.load(environment: [:], required: []))
    }

    func testFileIsOverriddenByEnvironment() throws {
        let file = try AppConfig.parseEnvFile("""
        # comment
        STEEMAUTH_ACCOUNT=from.file
        export STEEMAUTH_WORKERS="3"
        STEEMAUTH_SECRET='\(secret)'

        """)
        let c = try AppConfig.load(environment: ["STEEMAUTH_ACCOUNT": "from.env"], file: file)
        XCTAssertEqual(c.account, "from.env")
        XCTAssertEqual(c.workers, 3)
        XCTAssertThrowsError(try AppConfig.parseEnvFile("not a pair"))
    }

    func testEndpoints() {
        XCTAssertEqual(ListenAddress.parse("unix:/run/steemauth/web.sock"), .unix(path: "/run/steemauth/web.sock"))
        XCTAssertEqual(ListenAddress.parse("127.0.0.1:9000"), .tcp(host: "127.0.0.1", port: 9000))
        XCTAssertNil(ListenAddress.parse("unix:relative"))
        XCTAssertNil(ListenAddress.parse("host:99999"))
        let r = RedisEndpoint.parse("redis://user:s3cret@10.0.0.1:6380/2")!
        XCTAssertEqual(r.location, .tcp(host: "10.0.0.1", port: 6380))
        XCTAssertEqual(r.username, "user"); XCTAssertEqual(r.password, "s3cret"); XCTAssertEqual(r.database, 2)
        XCTAssertFalse(r.description.contains("s3cret"))
        XCTAssertEqual(RedisEndpoint.parse("redis://localhost")?.location, .tcp(host: "localhost", port: 6379))
        XCTAssertEqual(RedisEndpoint.parse("unix:/tmp/r.sock?db=3")?.database, 3)
        XCTAssertNil(RedisEndpoint.parse("redis://h:1/x"))
        XCTAssertTrue(AppConfig.isValidAccountName("steemauth.demo"))
        XCTAssertTrue(AppConfig.isValidAccountName("a-b1"))
        for bad in ["ab", "a.b", "Abc", "abc-", "1abc", "abcdefghijklmnopq", "abc..def"] { XCTAssertFalse(AppConfig.isValidAccountName(bad), bad) }
    }
}

/// `redis-sentinel://[user:pass@]host:port[,host:port…]/db#master`.
final class SentinelURITests: XCTestCase {
    func testParsesTheLettuceForm() throws {
        let e = try XCTUnwrap(RedisEndpoint.parse("redis-sentinel://:s3cret@10.0.0.1:26379,10.0.0.2:26380,sentinel3/2#mymaster"))
        XCTAssertEqual(e.location, .sentinels([.init(host: "10.0.0.1", port: 26379), .init(host: "10.0.0.2", port: 26380),
                                               .init(host: "sentinel3", port: 26379)], masterName: "mymaster"))
        XCTAssertEqual(e.password, "s3cret")
        XCTAssertEqual(e.database, 2)
        XCTAssertTrue(e.isSentinel)
        XCTAssertFalse(e.description.contains("s3cret"), "the password never appears")
        XCTAssertEqual(e.description, "redis-sentinel://:***@10.0.0.1:26379,10.0.0.2:26380,sentinel3:26379/2#mymaster")
        let plain = try XCTUnwrap(RedisEndpoint.parse("redis-sentinel://127.0.0.1:5000#m"))
        XCTAssertEqual(plain.database, 0)
        XCTAssertNil(plain.password)
        for bad in ["redis-sentinel://127.0.0.1:5000", "redis-sentinel://127.0.0.1:5000/0#", "redis-sentinel://#m",
                    "redis-sentinel://h:0#m", "redis-sentinel://h:1,,h:2#m", "redis-sentinel://h:1/x#m", "redis-sentinel://h:1#a b"] {
            XCTAssertNil(RedisEndpoint.parse(bad), bad)
        }
    }

    func testMinReplicasDefaultsToOneUnderSentinelAndPasswordsStayOutOfErrors() throws {
        let base = ["STEEMAUTH_ACCOUNT": "steemauth.demo", "STEEMAUTH_SECRET": String(repeating: "ab", count: 32)]
        let sentinel = try AppConfig.load(environment: base.merging(["STEEMAUTH_REDIS_URL": "redis-sentinel://127.0.0.1:5000/0#m",
                                                                     "STEEMAUTH_REDIS_SENTINEL_PASSWORD": "sp"]) { $1 })
        XCTAssertEqual(sentinel.redisMinReplicas, 1)
        XCTAssertEqual(sentinel.redisSentinelPassword, "sp")
        XCTAssertEqual(try AppConfig.load(environment: base).redisMinReplicas, 0)
        XCTAssertEqual(try AppConfig.load(environment: base.merging(["STEEMAUTH_REDIS_URL": "redis-sentinel://h:1#m",
                                                                     "STEEMAUTH_REDIS_SENTINEL_PASSWORD": "sp",
                                                                     "STEEMAUTH_REDIS_MIN_REPLICAS": "0"]) { $1 }).redisMinReplicas, 0)
        XCTAssertThrowsError(try AppConfig.load(environment: base.merging(["STEEMAUTH_REDIS_URL": "redis://:hunter2@host:notaport"]) { $1 })) { error in
            XCTAssertTrue("\(error)".contains("STEEMAUTH_REDIS_URL"))
            XCTAssertFalse("\(error)".contains("hunter2"), "a bad Redis URL is never echoed: it may carry a password")
        }
    }
}
