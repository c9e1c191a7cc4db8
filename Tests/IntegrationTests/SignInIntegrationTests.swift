import Foundation
import Glibc
import SteemAuthAdapters
import SteemAuthCore
import XCTest

/// Log in by a wallet signature, through nginx, with the devchain holding the accounts' keys and beem
/// (a well-known Steem client from PyPI) signing the challenge as Keychain would.
final class SignInIntegrationTests: XCTestCase {
    var cluster: Cluster!

    /// Fixed keys (WIF from sha256 of a phrase) and their public keys as the chain writes them.
    enum Keys {
        static let posting = (wif: "5HrsDmXDUbwLvJjo32AEVEx8oipzZkAywTUxvynAefHSb6KDE1P", pub: "STM5mfrERPDW3fGxjBBL5DP59kumbodFAmHaZb3V2SocYGSCjc7r1")
        static let active = (wif: "5KgsaJv5Gt8tfwrfDJZMVLkJuzg5ZuNuBhQJ1vWcVGUtMRoGkVK", pub: "STM714AoAPTZLwZKcFBQYHy5vRMhTFrPUBBTykizUX5eAiiAxktGM")
        static let bob = (wif: "5KRk3o8yc4syCswqsqwxGjvNfGyWrudX66vzoErE1zBv8bwi9Mw", pub: "STM58tpicKe9gFdetKPKwjFzsJewdSw9J7JNRNka1VQ3K159SGBQQ")
        static let stranger = (wif: "5JrJBCL62cfEmjXJL2FvqKPaA6tbDHdzTjfKJmBqR84ouVuVLmW", pub: "STM6qaZnd6ZzdfkKXN5JG6shY4TiNxhwUK6h7grbv3nRPS8uCisFK")
    }

    static var python: String { Cluster.repoRoot.appendingPathComponent(".build/beem-venv/bin/python").path }

    override func setUpWithError() throws {
        guard FileManager.default.isExecutableFile(atPath: Self.python) else {
            throw XCTSkip("beem is not installed (.build/beem-venv; the README's test command installs it)")
        }
        cluster = try Cluster()
        try cluster.startAll(devchain: true)
        try cluster.devchain(["authority", "--account", "alice", "--role", "posting", "--key", Keys.posting.pub + ":1"])
        try cluster.devchain(["authority", "--account", "alice", "--role", "active", "--key", Keys.active.pub + ":1"])
        try cluster.devchain(["authority", "--account", "alice", "--role", "owner", "--key", Keys.stranger.pub + ":0"])
        try cluster.devchain(["authority", "--account", "bob", "--role", "posting", "--key", Keys.bob.pub + ":1"])
        // carol's active authority is 2-of-2: either key alone is not enough.
        try cluster.devchain(["authority", "--account", "carol", "--role", "active", "--threshold", "2",
                              "--key", Keys.posting.pub + ":1", "--key", Keys.active.pub + ":1"])
    }

    override func tearDown() {
        if let cluster, (testRun?.failureCount ?? 0) > 0 { print("--- pool log ---\n" + cluster.poolLog().suffix(3000)) }
        cluster?.tearDown()
    }

    /// beem signs `message` with `wif`, as Keychain's requestSignBuffer would.
    static func sign(_ wif: String, _ message: String) throws -> String {
        let (status, output) = try Cluster.run(python, [Cluster.repoRoot.appendingPathComponent("Tests/clients/sign.py").path, "sign", wif, message])
        guard status == 0 else { throw Timeout(description: "sign.py failed: \(output)") }
        return output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// A visitor on the ask page: the challenge from /steemauth/status.
    func visitor() throws -> (Browser, String) {
        let b = Browser(cluster.baseURL)
        _ = try b.startLogin()
        let (status, json) = try b.status()
        XCTAssertEqual(status, 200)
        return (b, try XCTUnwrap(json["challenge"] as? String))
    }

    var origin: String { "Origin: http://127.0.0.1:\(cluster.httpPort)" }

    func signIn(_ b: Browser, body: String, headers: [String]? = nil) throws -> (Int, [String: Any]) {
        let r = try b.http.request("POST", url: cluster.baseURL + "/steemauth/signin",
                                   headers: headers ?? ["Content-Type: application/json", origin], body: Array(body.utf8))
        let json = (try? JSONSerialization.jsonObject(with: Data(r.body))) as? [String: Any] ?? [:]
        return (r.status, json)
    }

    func body(_ account: String, _ signature: String) -> String { #"{"account":"\#(account)","signature":"\#(signature)"}"# }

    func testChallengeNamesTheHostTheCodeAndTheExpiry() throws {
        let (b, challenge) = try visitor()
        let memo = try XCTUnwrap(try b.status().1["memo"] as? String)
        let lines = challenge.components(separatedBy: "\n")
        XCTAssertEqual(lines.count, 3)
        XCTAssertEqual(lines[0], "steemauth login to 127.0.0.1")
        XCTAssertEqual(lines[1], "code: " + memo)
        XCTAssertTrue(lines[2].hasPrefix("expires: 20") && lines[2].hasSuffix("Z"))
        XCTAssertEqual(try b.status().1["challenge"] as? String, challenge, "stable while the code is")
    }

    func testPostingAndActiveKeySignaturesLogIn() throws {
        for (role, wif, pub) in [("posting", Keys.posting.wif, Keys.posting.pub), ("active", Keys.active.wif, Keys.active.pub)] {
            let (b, challenge) = try visitor()
            let (status, json) = try signIn(b, body: body("alice", try Self.sign(wif, challenge)))
            XCTAssertEqual(status, 200, "\(role): \(json)")
            XCTAssertEqual(json["bound"] as? Bool, true)
            XCTAssertEqual(json["account"] as? String, "alice")
            let before = try XCTUnwrap(b.cookie)
            let page = try b.get("/steemauth")
            XCTAssertTrue(page.text.contains("Logged in as @alice"), role)
            XCTAssertTrue(page.text.contains(pub), "the page shows the key that proved it (\(role))")
            XCTAssertNotEqual(b.cookie, before, "the id rotates on the next request, as after a transfer")
            XCTAssertEqual(try b.get("/steemauth/verify").header("X-SteemAuth-Account"), "alice")
            XCTAssertTrue(cluster.poolLog().contains("role=\(role)"))
        }
    }

    func testTheSameSignatureReplayedInAnotherSessionIsRefused() throws {
        let (first, challenge) = try visitor()
        let signature = try Self.sign(Keys.posting.wif, challenge)
        XCTAssertEqual(try signIn(first, body: body("alice", signature)).0, 200)
        let (second, _) = try visitor()
        let (status, json) = try signIn(second, body: body("alice", signature))
        XCTAssertEqual(status, 401, "\(json)")
        XCTAssertEqual(try second.status().1["bound"] as? Bool, false)
        // And in the first session again: already logged in, nothing changes.
        XCTAssertEqual(try signIn(first, body: body("alice", signature)).0, 409)
    }

    func testKeysThatDoNotSpeakForTheAccountAreRefused() throws {
        let cases: [(String, String, String)] = [
            ("a stranger's key", "alice", Keys.stranger.wif),     // in alice's owner authority, but with weight 0
            ("another account's key", "alice", Keys.bob.wif),
            ("one key of a 2-of-2 authority", "carol", Keys.posting.wif),
        ]
        for (what, account, wif) in cases {
            let (b, challenge) = try visitor()
            let (status, json) = try signIn(b, body: body(account, try Self.sign(wif, challenge)))
            XCTAssertEqual(status, 401, "\(what): \(json)")
            XCTAssertNotNil(json["error"] as? String, what)
            XCTAssertEqual(try b.status().1["bound"] as? Bool, false, what)
        }
        // No such account: 404.
        let (b, challenge) = try visitor()
        XCTAssertEqual(try signIn(b, body: body("nobody.here", try Self.sign(Keys.posting.wif, challenge))).0, 404)
    }

    func testCrossSiteAndMalformedRequestsAreRefusedBeforeAnyNodeCall() throws {
        let (b, challenge) = try visitor()
        let good = body("alice", try Self.sign(Keys.posting.wif, challenge))
        XCTAssertEqual(try signIn(b, body: good, headers: ["Content-Type: application/json", "Origin: http://evil.example"]).0, 403)
        XCTAssertEqual(try signIn(b, body: good, headers: ["Content-Type: application/json"]).0, 403, "no Origin, no Referer")
        let before = try rpcCalls()
        let malformed = [
            "", "null", "[]", "{", #"{"account":"alice"}"#, #"{"signature":"1f00"}"#,
            #"{"account":"Al ice","signature":"\#(String(repeating: "1f", count: 65))"}"#,
            #"{"account":"alice","signature":"\#(String(repeating: "zz", count: 65))"}"#,
            #"{"account":"alice","signature":"\#(String(repeating: "00", count: 65))"}"#,          // byte 0 = 0
            #"{"account":"alice","signature":"1f\#(String(repeating: "00", count: 64))"}"#,         // r = s = 0
            #"{"account":["alice"],"signature":12}"#,
        ]
        for m in malformed {
            let (status, json) = try signIn(b, body: m)
            XCTAssertTrue((400..<500).contains(status), "\(m): \(status)")
            XCTAssertNotNil(json["error"] as? String, m)
        }
        XCTAssertEqual(try signIn(b, body: good, headers: ["Content-Type: text/plain", origin]).0, 400)
        XCTAssertEqual(try rpcCalls(), before, "no malformed request reached the node")
        XCTAssertEqual(try b.status().1["bound"] as? Bool, false)
        // …and none counted as an attempt: the real signature still works.
        XCTAssertEqual(try signIn(b, body: good).0, 200)
    }

    func testAttemptsReachingTheNodeAreLimitedPerSession() throws {
        let (b, challenge) = try visitor()
        let wrong = body("alice", try Self.sign(Keys.bob.wif, challenge))
        for _ in 0..<SignInAttempts.limit { XCTAssertEqual(try signIn(b, body: wrong).0, 401) }
        XCTAssertEqual(try signIn(b, body: wrong).0, 429)
        XCTAssertEqual(try signIn(b, body: body("alice", try Self.sign(Keys.posting.wif, challenge))).0, 429, "even a good one, until a new code")
    }

    func testADeadNodeAnswers503AndBindsNothing() throws {
        let (b, challenge) = try visitor()
        let good = body("alice", try Self.sign(Keys.posting.wif, challenge))
        for p in cluster.extraProcesses where p.arguments?.first == "serve" { Cluster.terminate(p, signal: SIGKILL) }
        let (status, json) = try signIn(b, body: good)
        XCTAssertEqual(status, 503, "\(json)")
        XCTAssertEqual(try b.status().1["bound"] as? Bool, false)
        XCTAssertTrue(cluster.poolLog().contains("sign-in: the chain cannot be reached"))
    }

    func testAnExpiredChallengeIsRefused() throws {
        let (b, challenge) = try visitor()
        let signature = try Self.sign(Keys.posting.wif, challenge)
        let memo = try XCTUnwrap(try b.status().1["memo"] as? String)
        _ = try cluster.redis().command(["DEL", "steemauth:c:" + memo])          // the code expired
        let (status, json) = try signIn(b, body: body("alice", signature))
        XCTAssertEqual(status, 401, "\(json)")
        XCTAssertTrue((json["error"] as? String ?? "").contains("expired"))
        XCTAssertEqual(try b.status().1["bound"] as? Bool, false)
    }

    func testASlowNodeAnswers504AndBindsNothing() throws {
        cluster.tearDown()
        cluster = try Cluster(extraEnv: ["STEEMAUTH_RPC_TIMEOUT": "1"])
        try cluster.startAll(devchain: true)
        try cluster.devchain(["authority", "--account", "alice", "--role", "posting", "--key", Keys.posting.pub + ":1"])
        let (b, challenge) = try visitor()
        try cluster.devchain(["fault", "--mode", "slow", "--count", "1", "--seconds", "60"])
        let (status, json) = try signIn(b, body: body("alice", try Self.sign(Keys.posting.wif, challenge)))
        XCTAssertEqual(status, 504, "\(json)")
        XCTAssertEqual(try b.status().1["bound"] as? Bool, false)
    }

    func testNginxLimitsTheRoutePerAddress() throws {
        cluster.tearDown()
        cluster = try Cluster()
        try cluster.startRedis(); try cluster.startDevchain(); try cluster.startPool()
        // One a minute with a burst of 2: the fourth request is over the limit, however fast it comes.
        try cluster.startNginx(codesLimit: .limited(rate: "1r/m", burst: 2))
        let b = Browser(cluster.baseURL)
        _ = try b.get("/")
        let statuses = try (0..<4).map { _ in try signIn(b, body: "{}").0 }
        XCTAssertEqual(statuses.last, 429, "\(statuses)")
    }

    func rpcCalls() throws -> [String: Int] {
        let r = try HTTPClient().request("POST", url: cluster.env["STEEMAUTH_NODES"]!, headers: ["Content-Type: application/json"],
                                         body: Array(#"{"jsonrpc":"2.0","id":1,"method":"devchain.stats","params":{}}"#.utf8))
        let json = try JSONSerialization.jsonObject(with: Data(r.body)) as? [String: Any]
        return (json?["result"] as? [String: Int]) ?? [:]
    }
}

enum SignInAttempts { static let limit = 5 }
