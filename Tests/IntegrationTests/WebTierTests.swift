import Foundation
import Glibc
import SteemAuthAdapters
import SteemAuthCore
import XCTest

/// The cookie flow, routes and errors, through a real nginx, the real pool and a real redis-server.
final class WebTierTests: XCTestCase {
    var cluster: Cluster!

    override func setUpWithError() throws {
        cluster = try Cluster()
        try cluster.startAll(devchain: true)
    }
    override func tearDown() {
        if let cluster, (testRun?.failureCount ?? 0) > 0 { print("--- pool log ---\n" + cluster.poolLog().suffix(4000)) }
        cluster?.tearDown()
    }

    func testHomeSetsASignedCookieAndWritesNothingToRedis() throws {
        let b = Browser(cluster.baseURL)
        let r = try b.get("/")
        XCTAssertEqual(r.status, 302)
        XCTAssertEqual(r.header("Location"), "/steemauth")
        let setCookie = try XCTUnwrap(r.header("Set-Cookie"))
        XCTAssertTrue(setCookie.hasPrefix("\(CookieSigner.name)="))
        // What the __Host- prefix requires (browsers take Secure cookies from http://127.0.0.1 too).
        for attribute in ["Path=/", "HttpOnly", "SameSite=Lax", "Max-Age=2592000", "Secure"] { XCTAssertTrue(setCookie.contains(attribute), attribute) }
        XCTAssertFalse(setCookie.lowercased().contains("domain="))
        XCTAssertEqual(r.header("Cache-Control"), "no-store")
        let value = try XCTUnwrap(b.cookie)
        XCTAssertNotNil(CookieSigner(currentKey: Hex.decodeLower(Array(cluster.secret.utf8))!, previousKey: nil, mac: Blake2b.cookieMAC)
            .verify(value: Array(value.utf8)), "the cookie is id-sig with keyed BLAKE2b")
        XCTAssertEqual(try cluster.redis().command(["DBSIZE"]).integer, 0, "GET / must not write to Redis")
        // With a valid cookie: no new cookie.
        let again = try b.get("/")
        XCTAssertEqual(again.status, 302)
        XCTAssertNil(again.header("Set-Cookie"))
    }

    func testAskPageAndStatusShowTheSameMemo() throws {
        let b = Browser(cluster.baseURL)
        let memo = try b.startLogin()
        XCTAssertNotNil(LoginCode.fromMemo(memo, prefix: ""), "memo \(memo) is a 16-character base32 code")
        XCTAssertFalse(try XCTUnwrap(b.cookie).hasPrefix(memo), "the memo is never the session id")
        let page = try b.get("/steemauth")
        XCTAssertEqual(Browser.memo(in: page.text), memo, "the same code on the next view")
        XCTAssertTrue(page.text.contains("@steemauth.demo"))
        XCTAssertTrue(page.text.contains("0.001 STEEM"))
        XCTAssertTrue(page.text.contains("/steemauth/logout"))
        XCTAssertTrue(page.text.contains("http-equiv=\"refresh\""), "works with scripts off")
        XCTAssertTrue(page.text.contains("not refunded") && page.text.contains("encrypt"))
        // The ask page is also served gzip, so caches must key it on Accept-Encoding too.
        XCTAssertEqual(page.header("Vary"), "Accept-Encoding, Cookie")
        XCTAssertNotNil(page.header("Content-Security-Policy"))
        let (code, json) = try b.status()
        XCTAssertEqual(code, 200)
        XCTAssertEqual(Set(json.keys), ["bound", "account", "memo", "expires_in", "behind_seconds", "challenge"], "the challenge a wallet signs")
        XCTAssertEqual(json["bound"] as? Bool, false)
        XCTAssertEqual(json["memo"] as? String, memo)
        XCTAssertTrue(json["account"] is NSNull)
        let expires = try XCTUnwrap(json["expires_in"] as? Int)
        XCTAssertTrue((890...900).contains(expires), "\(expires)")
        // Static files are served by the pool itself.
        XCTAssertEqual(try b.get("/steemauth/static/app.js").status, 200)
        XCTAssertEqual(try b.get("/steemauth/static/../templates/base.html").status, 404)
    }

    func testNoCookieRedirectsOnceThenExplains() throws {
        let noJar = HTTPClient()
        let first = try noJar.request(url: cluster.baseURL + "/steemauth")
        XCTAssertEqual(first.status, 302)
        XCTAssertEqual(first.header("Location"), "/steemauth?c=1")
        XCTAssertNotNil(first.header("Set-Cookie"))
        let second = try noJar.request(url: cluster.baseURL + "/steemauth?c=1")
        XCTAssertEqual(second.status, 200)
        XCTAssertTrue(second.text.contains("needs a cookie"))
        let status = try noJar.request(url: cluster.baseURL + "/steemauth/status")
        XCTAssertEqual(status.status, 401)
        XCTAssertEqual(status.header("Content-Type"), "application/json")
    }

    func testStatusNeverCreatesASession() throws {
        let b = Browser(cluster.baseURL)
        _ = try b.get("/")
        XCTAssertEqual(try b.status().0, 401, "a signed id that never viewed /steemauth has no session")
        XCTAssertEqual(try cluster.redis().command(["DBSIZE"]).integer, 0)
    }

    func testBindingRotatesTheIdAndKillsTheOldOne() throws {
        let b = Browser(cluster.baseURL)
        try cluster.devchain(["seed", "--account", "alice", "--follows", "3", "--stale", "1", "--never", "1"])
        let memo = try b.startLogin()
        let oldCookie = try XCTUnwrap(b.cookie)
        let outcome = try cluster.claim(memo: memo, account: "alice", block: 42, transactionID: "abcd" + String(repeating: "0", count: 36),
                                                blockTime: "2026-11-23T12:00:00", boundTTL: 3600, now: 1)
        XCTAssertEqual(outcome, .bound)
        let (code, json) = try b.status()
        XCTAssertEqual(code, 200)
        XCTAssertEqual(json["bound"] as? Bool, true)
        XCTAssertEqual(json["account"] as? String, "alice")
        XCTAssertTrue(json["memo"] is NSNull && json["expires_in"] is NSNull)
        let newCookie = try XCTUnwrap(b.cookie)
        XCTAssertNotEqual(newCookie, oldCookie, "the id is renewed on privilege change")
        let page = try b.get("/steemauth")
        XCTAssertEqual(page.status, 200)
        XCTAssertTrue(page.text.contains("Logged in as @alice"), page.text)
        XCTAssertTrue(page.text.contains("in block 42"))
        XCTAssertNil(page.header("Set-Cookie"), "rotated only once")
        // The old id is deny-listed everywhere.
        let stale = HTTPClient()
        XCTAssertEqual(try stale.request(url: cluster.baseURL + "/steemauth/status", headers: ["Cookie: \(CookieSigner.name)=\(oldCookie)"]).status, 401)
        let stalePage = try stale.request(url: cluster.baseURL + "/steemauth", headers: ["Cookie: \(CookieSigner.name)=\(oldCookie)"])
        XCTAssertEqual(stalePage.status, 302, "a dead id starts over with a fresh cookie")
        XCTAssertNotNil(stalePage.header("Set-Cookie"))
        // A second claim of the same memo changes nothing.
        XCTAssertEqual(try cluster.claim(memo: memo, account: "mallory", block: 43, transactionID: "x", blockTime: "t", boundTTL: 3600, now: 2),
                       .unknownOrExpiredCode)
        XCTAssertEqual(try b.status().1["account"] as? String, "alice")
    }

    /// A status poll does not read the proof (it does not show it). The worker whose poll saw the
    /// binding must not remember the session as bound without it: the page it serves next shows the
    /// proof, as a page served by another worker does.
    func testThePageAfterThePollThatSawTheBindingShowsTheProof() throws {
        cluster.tearDown()
        cluster = try Cluster(extraEnv: ["STEEMAUTH_WORKERS": "1"])    // one worker: the page meets the poll's worker
        try cluster.startAll(devchain: true)
        let b = Browser(cluster.baseURL)
        try cluster.devchain(["seed", "--account", "alice", "--follows", "3", "--stale", "1", "--never", "1"])
        let memo = try b.startLogin()
        XCTAssertEqual(try cluster.claim(memo: memo, account: "alice", block: 42, transactionID: "abcd" + String(repeating: "0", count: 36),
                                                 blockTime: "2026-11-23T12:00:00", boundTTL: 3600, now: 1), .bound)
        XCTAssertEqual(try b.status().1["account"] as? String, "alice")      // the poll that sees the binding (and rotates the id)
        XCTAssertEqual(try b.status().1["account"] as? String, "alice")      // and one more, on the new id
        for _ in 0..<2 {     // the first page computes the report (its worker is then replaced), the second reads it cached
            let page = try b.get("/steemauth")
            XCTAssertEqual(page.status, 200)
            XCTAssertTrue(page.text.contains("Logged in as @alice"), page.text)
            XCTAssertTrue(page.text.contains("in block 42"), page.text)
        }
    }

    /// A script's reply read where hiredis made it: words compared as bytes, numbers read without a
    /// String, and a script is called by the SHA-1 Redis gives its source.
    func testScriptRepliesAreReadInPlace() throws {
        let script = LuaScript(name: "reply_test", source: "return {'unbound', '12.5', '-3', '1e3', '', 'abc', 'inf', ' 4', '4x', 7}")
        let redis = cluster.redis()
        XCTAssertEqual(try redis.command(["SCRIPT", "LOAD", script.source]).string, script.sha)
        let read = try redis.eval(script, args: []) { reply throws(RedisError) in
            (reply[0]?.isString("unbound"), reply[0]?.isString("unbound!"), reply[0]?.isString("bound"), reply[4]?.isString(""),
             (1...9).map { reply[$0]?.double }, reply[9]?.isString("7"))
        }
        XCTAssertEqual(read.0, true); XCTAssertEqual(read.1, false); XCTAssertEqual(read.2, false); XCTAssertEqual(read.3, true)
        XCTAssertEqual(read.4, [12.5, -3, 1000, nil, nil, nil, nil, nil, nil], "only a decimal number, whole, is read; an integer reply is not a string")
        XCTAssertEqual(read.5, false)
    }

    /// The view script carries its store's prefix, watcher key and lifetimes in its source: a prefix
    /// with quotes, backslashes and Lua's long brackets stays one string, and the session, its code
    /// and their lifetimes are made under it as configured.
    func testTheViewScriptKeepsAnOddPrefixAsOneString() throws {
        let prefix = #"o"d\d']]:\"#
        XCTAssertEqual(LuaScript.literal("a\"b"), #""\97\34\98""#)
        let store = RedisSessionStore(redis: cluster.redis(), prefix: prefix, chain: .steem, lifetimes: SessionLifetimes(unbound: 600, code: 300, deny: 60))
        let id = SystemRandom.sessionID()
        let view = try store.viewPage(id: id, gzip: false, bound: nil, replacementID: nil, freshMemo: "m3mo", now: unixSeconds())
        guard case .unbound(let memo, let expiresIn) = view.state else { return XCTFail("\(view.state)") }
        XCTAssertEqual(memo, "m3mo")
        XCTAssertEqual(expiresIn, 300)
        let redis = cluster.redis()
        XCTAssertEqual(try redis.command(["GET", prefix + "c:m3mo"]).string, id.hex)
        XCTAssertTrue((1...300).contains(try redis.command(["TTL", prefix + "c:m3mo"]).integer ?? 0))
        XCTAssertTrue((301...600).contains(try redis.command(["TTL", prefix + "s:" + id.hex]).integer ?? 0))
        guard case .unbound(let polled, let left) = try store.lookUp(id: id, for: .status, replacementID: nil, freshMemo: nil, now: unixSeconds()).state
        else { return XCTFail("the status view lost the session") }
        XCTAssertEqual(polled, "m3mo")
        XCTAssertTrue((1...300).contains(left))
    }

    /// A Redis that lost its scripts (a restart, a failover, SCRIPT FLUSH) answers NOSCRIPT: each
    /// worker loads the script again and the request is served, on every route that runs one.
    func testScriptsLostByRedisAreLoadedAgain() throws {
        let b = Browser(cluster.baseURL)
        try cluster.devchain(["seed", "--account", "alice", "--follows", "3", "--stale", "1", "--never", "1"])
        let memo = try b.startLogin()
        for _ in 0..<4 { XCTAssertEqual(try b.status().1["memo"] as? String, memo) }
        XCTAssertEqual(try cluster.redis().command(["SCRIPT", "FLUSH"]), .status("OK"))
        for _ in 0..<4 {
            XCTAssertEqual(try b.status().1["memo"] as? String, memo)
            XCTAssertEqual(Browser.memo(in: try b.get("/steemauth").text), memo)
        }
        XCTAssertEqual(try cluster.claim(memo: memo, account: "alice", block: 42, transactionID: "abcd" + String(repeating: "0", count: 36),
                                                 blockTime: "2026-11-23T12:00:00", boundTTL: 3600, now: 1), .bound)
        for _ in 0..<4 { XCTAssertTrue(try b.get("/steemauth").text.contains("Logged in as @alice")) }
        // The report page's script rides with the cached page's GET in one round trip: both replies are read.
        XCTAssertEqual(try cluster.redis().command(["SCRIPT", "FLUSH"]), .status("OK"))
        for _ in 0..<4 {
            let page = try b.get("/steemauth")
            XCTAssertEqual(page.status, 200)
            XCTAssertTrue(page.text.contains("Logged in as @alice") && page.text.contains("in block 42"), page.text)
        }
        XCTAssertEqual(try b.status().1["account"] as? String, "alice")
        // After a logout, the old cookie's report page starts over on every worker (each one served
        // it bound above, and reads a session it saw bound without the script).
        let old = try XCTUnwrap(b.cookie)
        XCTAssertEqual(try b.post("/steemauth/logout", headers: ["Origin: http://127.0.0.1:\(cluster.httpPort)"]).status, 303)
        for _ in 0..<6 {
            let page = try HTTPClient().request(url: cluster.baseURL + "/steemauth", headers: ["Cookie: \(CookieSigner.name)=\(old)"])
            XCTAssertEqual(page.status, 302)
            XCTAssertFalse(page.text.contains("Logged in"))
        }
    }

    func testLogoutNeedsSameOriginAndKillsTheCookie() throws {
        let b = Browser(cluster.baseURL)
        _ = try b.startLogin()
        let old = try XCTUnwrap(b.cookie)
        XCTAssertEqual(try b.post("/steemauth/logout").status, 403, "no Origin and no Referer")
        XCTAssertEqual(try b.post("/steemauth/logout", headers: ["Origin: http://evil.example"]).status, 403)
        XCTAssertEqual(try b.status().0, 200, "refused logouts changed nothing")
        // The refusal's log line carries nginx's $request_id (32 hex characters), as every line of a request does.
        let refusals = cluster.poolLog().split(separator: "\n").filter { $0.contains("request refused: cross-origin") }
        XCTAssertFalse(refusals.isEmpty, "the refusal is logged")
        for line in refusals { XCTAssertNotNil(line.range(of: "request_id=[0-9a-f]{32}( |$)", options: .regularExpression), String(line)) }
        let r = try b.post("/steemauth/logout", headers: ["Origin: http://127.0.0.1:\(cluster.httpPort)"])
        XCTAssertEqual(r.status, 303)
        XCTAssertEqual(r.header("Location"), "/")
        XCTAssertEqual(r.headers("Set-Cookie").count, 1)
        XCTAssertNotEqual(b.cookie, old)
        let stale = HTTPClient()
        XCTAssertEqual(try stale.request(url: cluster.baseURL + "/steemauth/status", headers: ["Cookie: \(CookieSigner.name)=\(old)"]).status, 401)
        XCTAssertEqual(try cluster.redis().command(["EXISTS", "steemauth:s:" + String(old.prefix(32))]).integer, 0)
        // Referer works where Origin is absent.
        _ = try b.get("/steemauth")
        XCTAssertEqual(try b.post("/steemauth/logout", headers: ["Referer: http://127.0.0.1:\(cluster.httpPort)/steemauth"]).status, 303)
    }

    func testUnknownPathsMethodsAndHealth() throws {
        let c = HTTPClient()
        let missing = try c.request(url: cluster.baseURL + "/nope")
        XCTAssertEqual(missing.status, 404)
        XCTAssertTrue(missing.text.contains("<html"))
        let wrong = try c.request("POST", url: cluster.baseURL + "/", body: [])
        XCTAssertEqual(wrong.status, 405)
        XCTAssertEqual(wrong.header("Allow"), "GET, HEAD")
        XCTAssertEqual(try c.request("DELETE", url: cluster.baseURL + "/steemauth").status, 405)
        XCTAssertEqual(try c.request("GET", url: cluster.baseURL + "/steemauth/logout").header("Allow"), "POST")
        let head = try c.request("HEAD", url: cluster.baseURL + "/ping")
        XCTAssertEqual(head.status, 200)
        XCTAssertTrue(head.body.isEmpty)
        let ping = try c.request(url: cluster.baseURL + "/ping?x=1")
        XCTAssertEqual(ping.text, "pong\n")
        XCTAssertNil(ping.header("Set-Cookie"))
        let health = try c.request(url: cluster.baseURL + "/healthz")
        XCTAssertEqual(health.status, 200)
        XCTAssertEqual(health.text, "ok\n")
        XCTAssertNil(health.header("Set-Cookie"))
        // Garbage cookies are simply no cookie.
        for garbage in ["\(CookieSigner.name)=", "\(CookieSigner.name)=-", "\(CookieSigner.name)=" + String(repeating: "a", count: 4096), "\(CookieSigner.name)=\u{7f}\u{1}"] {
            let r = try c.request(url: cluster.baseURL + "/steemauth/status", headers: ["Cookie: \(garbage)"])
            XCTAssertEqual(r.status, 401, garbage.prefix(30).description)
        }
    }

    func testRedisDownGivesCleanErrorsAndRecovers() throws {
        let b = Browser(cluster.baseURL)
        _ = try b.startLogin()
        cluster.stopRedis()
        let page = try b.get("/steemauth")
        XCTAssertEqual(page.status, 503)
        XCTAssertTrue(page.text.contains("Temporarily unavailable"))
        XCTAssertEqual(try b.get("/steemauth/status").status, 503)
        XCTAssertEqual(try b.get("/healthz").status, 503)
        XCTAssertEqual(try b.get("/ping").status, 200, "the no-op route needs no Redis")
        XCTAssertEqual(try b.get("/").status, 302, "/ needs no Redis")
        try cluster.startRedis()
        try waitUntil("pages work again", seconds: 30, interval: 0.1) { try b.get("/steemauth").status == 200 && b.get("/healthz").status == 200 }
        XCTAssertTrue(cluster.poolLog().contains("redis unavailable"), "the log says what happened")
    }
}

/// Smaller rules of the web tier that need their own configuration or state.
final class WebTierEdgeTests: XCTestCase {
    var cluster: Cluster!
    override func tearDown() { cluster?.tearDown() }

    func testExpiredCodeIsReplacedOnTheNextView() throws {
        cluster = try Cluster()
        try cluster.startAll()
        let b = Browser(cluster.baseURL)
        let first = try b.startLogin()
        let redis = cluster.redis()
        XCTAssertEqual(try redis.command(["TTL", "steemauth:c:" + first]).integer.map { (890...900).contains($0) }, true)
        let id = String(try XCTUnwrap(b.cookie).prefix(32))
        XCTAssertEqual(try redis.command(["TTL", "steemauth:s:" + id]).integer.map { (7190...7200).contains($0) }, true, "unbound: 2 h")
        _ = try redis.command(["DEL", "steemauth:c:" + first])          // the code expired
        let (_, status) = try b.status()
        let second = try XCTUnwrap(status["memo"] as? String)
        XCTAssertNotEqual(second, first)
        XCTAssertEqual(status["expires_in"] as? Int, 900)
        XCTAssertEqual(Browser.memo(in: try b.get("/steemauth").text), second)
        XCTAssertEqual(try redis.command(["GET", "steemauth:c:" + second]).string, id)
    }

    func testMemoPrefixIsPartOfTheMemo() throws {
        cluster = try Cluster(extraEnv: ["STEEMAUTH_MEMO_PREFIX": "sa-"])
        try cluster.startAll()
        let memo = try Browser(cluster.baseURL).startLogin()
        XCTAssertTrue(memo.hasPrefix("sa-"))
        XCTAssertNotNil(LoginCode.fromMemo(memo, prefix: "sa-"))
    }

    func testHealthzReportsAStaleOrLaggingWatcher() throws {
        cluster = try Cluster(extraEnv: ["STEEMAUTH_MAX_LAG": "30"])
        try cluster.startAll()
        let c = HTTPClient(), redis = cluster.redis()
        XCTAssertEqual(try c.request(url: cluster.baseURL + "/healthz").status, 200, "no watcher yet")
        _ = try redis.command(["HSET", "steemauth:w:steem", "behind", "3", "updated", String(unixSeconds())])
        XCTAssertEqual(try c.request(url: cluster.baseURL + "/healthz").status, 200)
        _ = try redis.command(["HSET", "steemauth:w:steem", "behind", "300"])
        let lagging = try c.request(url: cluster.baseURL + "/healthz")
        XCTAssertEqual(lagging.status, 503)
        XCTAssertTrue(lagging.text.contains("behind"))
        _ = try redis.command(["HSET", "steemauth:w:steem", "behind", "3", "updated", String(unixSeconds() - 100)])
        let silent = try c.request(url: cluster.baseURL + "/healthz")
        XCTAssertEqual(silent.status, 503)
        XCTAssertTrue(silent.text.contains("stopped publishing"))
    }
}

extension WebTierEdgeTests {
    func runAdmin(_ args: [String]) throws -> (Int32, String) {
        let p = try cluster.launch("admin", ["admin"] + args, log: cluster.dir + "/admin.out", executable: Cluster.binary("steemauth-web"),
                                   environment: cluster.env)
        p.waitUntilExit()
        return (p.terminationStatus, cluster.log("admin.out"))
    }

    func testAdminListsAndRevokesAnAccountsSessions() throws {
        cluster = try Cluster()
        try cluster.startAll(devchain: true)
        try cluster.devchain(["seed", "--account", "alice", "--follows", "2", "--stale", "1", "--never", "0"])
        var browsers: [Browser] = []
        for i in 0..<2 {
            let b = Browser(cluster.baseURL)
            let memo = try b.startLogin()
            XCTAssertEqual(try cluster.claim(memo: memo, account: "alice", block: Int64(10 + i), transactionID: "tx\(i)",
                                                     blockTime: "2026-11-23T10:00:00", boundTTL: 3600, now: 1), .bound)
            XCTAssertEqual(try b.status().1["account"] as? String, "alice")   // rotates the id
            browsers.append(b)
        }
        let other = Browser(cluster.baseURL)
        let memo = try other.startLogin()
        _ = try cluster.claim(memo: memo, account: "bob", block: 12, transactionID: "tx-bob", blockTime: "t", boundTTL: 3600, now: 1)
        let (listed, listing) = try runAdmin(["sessions", "@alice"])
        XCTAssertEqual(listed, 0, listing)
        XCTAssertTrue(listing.contains("@alice: 2 live session(s)"), listing)
        XCTAssertTrue(listing.contains("tx0") && listing.contains("tx1"))
        let fullIDs = browsers.compactMap { $0.cookie.map { String($0.prefix(32)) } }
        for id in fullIDs { XCTAssertFalse(listing.contains(id), "full session ids are never printed") }
        // Every worker has served these bound pages (and remembers which account each session had).
        for b in browsers { for _ in 0..<6 { XCTAssertTrue(try b.get("/steemauth").text.contains("Logged in as @alice")) } }
        let (revoked, out) = try runAdmin(["revoke", "alice"])
        XCTAssertEqual(revoked, 0, out)
        XCTAssertTrue(out.contains("2 session(s) revoked"), out)
        for b in browsers { XCTAssertEqual(try b.status().0, 401, "revoked everywhere") }
        // What a worker remembers never outlives the session: the page starts over on every worker.
        for b in browsers {
            let cookie = try XCTUnwrap(b.cookie)
            for _ in 0..<6 {
                let page = try HTTPClient().request(url: cluster.baseURL + "/steemauth", headers: ["Cookie: \(CookieSigner.name)=\(cookie)"])
                XCTAssertEqual(page.status, 302)
                XCTAssertFalse(page.text.contains("Logged in"))
            }
        }
        XCTAssertEqual(try other.status().1["account"] as? String, "bob", "other accounts untouched")
        XCTAssertNotEqual(try runAdmin(["sessions", "not an account"]).0, 0)
    }
}
