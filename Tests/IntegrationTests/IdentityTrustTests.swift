import Foundation
import SteemAuthAdapters
import SteemAuthCore
import XCTest

/// Attacks on who a browser is, driven through nginx with the real pool and Redis: a planted second
/// cookie, a relaying site's Host, a TLS-terminating proxy, and floods of fresh cookies that must not
/// grow Redis. Each assertion names the rule it holds.
final class IdentityTrustTests: XCTestCase {
    var cluster: Cluster!

    override func tearDown() {
        if let cluster, (testRun?.failureCount ?? 0) > 0 { print("--- pool log ---\n" + cluster.poolLog().suffix(4000)) }
        cluster?.tearDown()
    }

    /// Requests to scale with STEEMAUTH_TEST_SCALE (1 by default).
    static func scaled(_ n: Int) -> Int { n * max(1, Int(ProcessInfo.processInfo.environment["STEEMAUTH_TEST_SCALE"] ?? "1") ?? 1) }

    var signer: CookieSigner {
        CookieSigner(currentKey: Hex.decodeLower(Array(cluster.secret.utf8))!, previousKey: nil, mac: Blake2b.cookieMAC)
    }
    /// A validly signed cookie for a session id no one has used: what anyone gets from `GET /`.
    func freshCookie() -> String { "\(CookieSigner.name)=\(signer.value(for: SystemRandom.sessionID()))" }

    func dbsize() throws -> Int64 { try XCTUnwrap(cluster.redis().command(["DBSIZE"]).integer) }

    /// A sibling subdomain or a plain-http attacker plants their own session cookie beside the
    /// victim's. With two session cookies the request has no session: it never shows, binds or rotates
    /// either, so the attacker cannot have the victim pay the attacker's code and then poll it.
    func testAPlantedSecondCookieGivesNoSession() throws {
        cluster = try Cluster()
        try cluster.startAll()
        let attacker = Browser(cluster.baseURL), victim = Browser(cluster.baseURL)
        let attackerMemo = try attacker.startLogin(), victimMemo = try victim.startLogin()
        let both = "Cookie: \(CookieSigner.name)=\(try XCTUnwrap(attacker.cookie)); \(CookieSigner.name)=\(try XCTUnwrap(victim.cookie))"
        let c = HTTPClient()
        let page = try c.request(url: cluster.baseURL + "/steemauth", headers: [both])
        XCTAssertEqual(page.status, 302, "two session cookies: a fresh start, as for a new visitor")
        XCTAssertEqual(page.header("Location"), "/steemauth?c=1")
        XCTAssertNotNil(page.header("Set-Cookie"))
        XCTAssertFalse(page.text.contains(attackerMemo) || page.text.contains(victimMemo))
        XCTAssertEqual(try c.request(url: cluster.baseURL + "/steemauth/status", headers: [both]).status, 401)

        // The attacker's session gets bound (the victim paid the attacker's code in an earlier view):
        // a request carrying both cookies still reads neither, and rotates nothing.
        XCTAssertEqual(try cluster.claim(memo: attackerMemo, account: "victim", block: 1, transactionID: String(repeating: "a", count: 40),
                                       blockTime: "2026-01-01T00:00:00", boundTTL: 3600, now: unixSeconds()), .bound)
        let status = try c.request(url: cluster.baseURL + "/steemauth/status", headers: [both])
        XCTAssertEqual(status.status, 401)
        XCTAssertFalse(status.text.contains("victim"))
        XCTAssertNil(status.header("Set-Cookie"), "no rotation hands the attacker a new id")
        let verify = try c.request(url: cluster.baseURL + "/steemauth/verify", headers: [both])
        XCTAssertEqual(verify.status, 401)
        XCTAssertNil(verify.header("X-SteemAuth-Account"))
        // Each browser alone still has its own session.
        XCTAssertEqual(try victim.status().1["memo"] as? String, victimMemo)
        XCTAssertEqual(try attacker.status().1["account"] as? String, "victim")
    }

    /// A phishing site relays the flow to our nginx under its own Host. Pages, status and forms asked
    /// for under another host answer 421, so the wallet is never shown a challenge naming it; the
    /// challenge names the configured public host whatever the Host header says. verify, /ping and
    /// /healthz are exempt (nginx's subrequests and probes).
    func testARelayedHostGetsNothingAndTheChallengeNamesThePublicHost() throws {
        cluster = try Cluster()
        // The OpenID Connect provider on, so its browser routes are asked under the relayed Host too.
        try OIDCTests.makeKey(cluster.dir + "/oidc-key.pem")
        try #"[{"client_id": "app", "client_secret": "app-secret-0123456789abcdef", "redirect_uris": ["https://app.example/cb"], "token_endpoint_auth_method": "client_secret_basic"}]"#
            .write(toFile: cluster.dir + "/clients.json", atomically: true, encoding: .utf8)
        cluster.env.merge(["STEEMAUTH_PUBLIC_ORIGIN": "https://login.example.test", "STEEMAUTH_OIDC_ISSUER": "https://login.example.test",
                           "STEEMAUTH_OIDC_CLIENTS": cluster.dir + "/clients.json", "STEEMAUTH_OIDC_KEY": cluster.dir + "/oidc-key.pem"]) { $1 }
        try cluster.startAll()
        let c = HTTPClient()
        let phish = "Host: login-example.phish"
        for (method, path) in [("GET", "/"), ("GET", "/steemauth"), ("GET", "/steemauth/status"), ("POST", "/steemauth/logout"),
                               ("GET", "/steemauth/report.json"), ("POST", "/steemauth/signin"), ("POST", "/steemauth/refresh"),
                               ("GET", "/steemauth/oidc/authorize?client_id=x"), ("GET", "/steemauth/oidc/fresh"),
                               ("POST", "/steemauth/oidc/consent"), ("POST", "/steemauth/oidc/cancel"), ("GET", "/steemauth/oidc/logout")] {
            let r = try c.request(method, url: cluster.baseURL + path, headers: [phish, "Origin: https://login.example.test", freshCookieHeader()],
                                  body: method == "POST" ? Array("{}".utf8) : nil)
            XCTAssertEqual(r.status, 421, "\(method) \(path) under a relayed Host")
            XCTAssertTrue(r.text.contains("https://login.example.test"), "the page says where the service answers")
        }
        for path in ["/ping", "/healthz", "/steemauth/verify", "/.well-known/openid-configuration", "/steemauth/oidc/jwks"] {
            XCTAssertNotEqual(try c.request(url: cluster.baseURL + path, headers: [phish]).status, 421, path)
        }
        XCTAssertEqual(try dbsize(), 0, "a relayed page created no session")

        // Under the public host (any case, any port: a proxy may map 443 elsewhere) the flow works, and
        // the challenge names the configured host, not the Host header. (The cookie is sent by hand:
        // a client's jar keeps a Secure cookie from sending over plain http to a name not on loopback.)
        let visitor = [freshCookieHeader(), "Host: LOGIN.example.test:8443"]
        XCTAssertEqual(try c.request(url: cluster.baseURL + "/steemauth", headers: visitor).status, 200)
        let status = try c.request(url: cluster.baseURL + "/steemauth/status", headers: visitor)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(status.body)) as? [String: Any])
        let challenge = try XCTUnwrap(json["challenge"] as? String)
        XCTAssertTrue(challenge.hasPrefix("steemauth login to login.example.test\n"), challenge)
    }

    /// Behind a TLS-terminating proxy nginx sees plain http and its own port; the browser's Origin is
    /// the public https origin. Forms are accepted by that origin alone, and pages carry HSTS.
    func testBehindATLSProxyFormsAreCheckedAgainstThePublicOrigin() throws {
        cluster = try Cluster(extraEnv: ["STEEMAUTH_PUBLIC_ORIGIN": "https://login.example.test"])
        try cluster.startAll()
        let proxied = ["Host: login.example.test", "X-Forwarded-Proto: https"]
        let c = HTTPClient()
        let cookie = freshCookieHeader()
        let page = try c.request(url: cluster.baseURL + "/steemauth", headers: proxied + [cookie])
        XCTAssertEqual(page.status, 200)
        XCTAssertEqual(page.header("Strict-Transport-Security"), "max-age=31536000")
        for origin in ["http://login.example.test", "https://login.example.test:8443", "https://evil.example", "null"] {
            let refused = try c.request("POST", url: cluster.baseURL + "/steemauth/logout", headers: proxied + [cookie, "Origin: \(origin)"])
            XCTAssertEqual(refused.status, 403, origin)
        }
        XCTAssertEqual(try c.request(url: cluster.baseURL + "/steemauth/status", headers: proxied + [cookie]).status, 200,
                       "refused logouts ended nothing")
        let logout = try c.request("POST", url: cluster.baseURL + "/steemauth/logout", headers: proxied + [cookie, "Origin: https://login.example.test"])
        XCTAssertEqual(logout.status, 303, "the public origin's own form")
        XCTAssertEqual(try c.request(url: cluster.baseURL + "/steemauth/status", headers: proxied + [cookie]).status, 401, "logged out")
    }

    /// A logout with a freshly minted cookie (no session behind it) writes nothing: a thousand of them
    /// leave Redis as it was. The one that ends a real session deny-lists its id.
    func testALogoutFloodWritesNothingToRedis() throws {
        cluster = try Cluster()
        try cluster.startAll()
        let c = HTTPClient()
        let origin = "Origin: \(cluster.baseURL)"
        for _ in 0..<Self.scaled(1000) {
            let r = try c.request("POST", url: cluster.baseURL + "/steemauth/logout", headers: [origin, "Cookie: " + freshCookie()])
            XCTAssertEqual(r.status, 303)
        }
        XCTAssertEqual(try dbsize(), 0, "no deny-list key for sessions that never existed")
        let b = Browser(cluster.baseURL)
        _ = try b.startLogin()
        let id = try XCTUnwrap(signer.verify(value: Array(try XCTUnwrap(b.cookie).utf8)))
        XCTAssertEqual(try b.post("/steemauth/logout", headers: [origin]).status, 303)
        XCTAssertEqual(try cluster.redis().command(["EXISTS", "steemauth:d:" + id.hex]).integer, 1, "a real session's id is deny-listed")
        XCTAssertEqual(try dbsize(), 1)
    }

    /// Every route flooded with fresh cookies: Redis holds no more keys than the sessions that were
    /// really created (a session and its login code; only the ask page creates them).
    func testFloodingEveryRouteWithFreshCookiesCreatesOnlyRealSessions() throws {
        cluster = try Cluster()
        try cluster.startAll(devchain: true)
        let c = HTTPClient()
        let origin = "Origin: \(cluster.baseURL)"
        let each = Self.scaled(100)
        let routes: [(String, String, [String], [UInt8]?)] = [
            ("GET", "/", [], nil), ("GET", "/steemauth/status", [], nil), ("POST", "/steemauth/logout", [origin], nil),
            ("GET", "/steemauth/report.json", [], nil), ("GET", "/steemauth/report.csv", [], nil), ("GET", "/steemauth/verify", [], nil),
            ("GET", "/steemauth/unfollow?account=alice", [], nil), ("POST", "/steemauth/refresh", [origin], nil),
            ("POST", "/steemauth/signin", [origin, "Content-Type: application/json"],
             Array(#"{"account":"alice","signature":"1f\#(String(repeating: "ab", count: 64))"}"#.utf8)),
        ]
        for (method, path, headers, body) in routes {
            for _ in 0..<each {
                let r = try c.request(method, url: cluster.baseURL + path, headers: headers + ["Cookie: " + freshCookie()], body: body)
                XCTAssertLessThan(r.status, 500, "\(method) \(path)")
            }
            XCTAssertEqual(try dbsize(), 0, "\(method) \(path) with fresh cookies wrote to Redis")
        }
        for _ in 0..<each {
            XCTAssertEqual(try c.request(url: cluster.baseURL + "/steemauth", headers: ["Cookie: " + freshCookie()]).status, 200)
        }
        XCTAssertEqual(try dbsize(), Int64(3 * each), "one session, its login code and the code's chain-time grace key per ask page, nothing else")
    }

    /// The sign-in attempt counter counts only for an unbound session that still exists: a session
    /// ended between the sign-in's first read and its count is not recreated without a lifetime.
    func testASignInAttemptOnAnEndedSessionRecreatesNothing() throws {
        cluster = try Cluster()
        try cluster.startAll()
        let store = cluster.store()
        let (id, _) = try cluster.newSession(store: store)
        XCTAssertEqual(try store.countSignInAttempt(id: id), 1)
        try store.logout(id: id, denyTTL: 60)
        XCTAssertNil(try store.countSignInAttempt(id: id), "no session: not counted")
        XCTAssertEqual(try cluster.redis().command(["EXISTS", "steemauth:s:" + id.hex]).integer, 0, "the ended session stays ended")
        // Nor for a bound one (its hash lives for the login; a counter has no business there).
        let (bound, memo) = try cluster.newSession(store: store)
        XCTAssertEqual(try cluster.claim(memo: memo, account: "alice", block: 1, transactionID: String(repeating: "b", count: 40),
                                       blockTime: "2026-01-01T00:00:00", boundTTL: 3600, now: unixSeconds()), .bound)
        XCTAssertNil(try store.countSignInAttempt(id: bound))
        XCTAssertNil(try cluster.redis().command(["HGET", "steemauth:s:" + bound.hex, "tries"]).string)
    }

    /// An account's set of logins expires with the longest login it holds, so a login that was never
    /// logged out leaves nothing behind.
    func testAnAccountsLoginSetExpiresWithItsLogins() throws {
        cluster = try Cluster()
        try cluster.startAll()
        let store = cluster.store()
        let (_, memo) = try cluster.newSession(store: store)
        XCTAssertEqual(try cluster.claim(memo: memo, account: "alice", block: 1, transactionID: String(repeating: "c", count: 40),
                                       blockTime: "2026-01-01T00:00:00", boundTTL: 3600, now: unixSeconds()), .bound)
        let ttl = try XCTUnwrap(cluster.redis().command(["TTL", "steemauth:a:alice"]).integer)
        XCTAssertTrue((1...3600).contains(ttl), "a:alice expires (TTL \(ttl))")
        // The first view after the login rotates the id; the set keeps its expiry.
        let b = Browser(cluster.baseURL)
        let bound = try XCTUnwrap(cluster.newSession(store: store)) as (SessionID, String)
        XCTAssertEqual(try cluster.claim(memo: bound.1, account: "bob", block: 2, transactionID: String(repeating: "d", count: 40),
                                       blockTime: "2026-01-01T00:00:00", boundTTL: 3600, now: unixSeconds()), .bound)
        XCTAssertEqual(try b.get("/steemauth/status", headers: ["Cookie: \(CookieSigner.name)=\(signer.value(for: bound.0))"]).status, 200)
        XCTAssertEqual(try cluster.redis().command(["SCARD", "steemauth:a:bob"]).integer, 1, "rotated: the new id replaced the old")
        let rotated = try XCTUnwrap(cluster.redis().command(["TTL", "steemauth:a:bob"]).integer)
        XCTAssertTrue((1...3600).contains(rotated), "a:bob keeps its expiry through the rotation (TTL \(rotated))")
    }

    /// A logout deny-lists the id only for the life its session had left: logging out of a two-hour
    /// unbound session never leaves a thirty-day key.
    func testALogoutDenyListsOnlyForTheSessionsRemainingLife() throws {
        cluster = try Cluster()
        try cluster.startAll()
        let b = Browser(cluster.baseURL)
        _ = try b.startLogin()
        let id = try XCTUnwrap(signer.verify(value: Array(try XCTUnwrap(b.cookie).utf8)))
        XCTAssertEqual(try b.post("/steemauth/logout", headers: ["Origin: \(cluster.baseURL)"]).status, 303)
        let ttl = try XCTUnwrap(cluster.redis().command(["TTL", "steemauth:d:" + id.hex]).integer)
        XCTAssertTrue((1...7200).contains(ttl), "the deny-list key lives no longer than the unbound session would have (TTL \(ttl))")
    }

    /// Cookie headers on two lines (a client, or a proxy that forwards HTTP/2 cookie crumbs as lines)
    /// are one Cookie header to the pool: two session cookies, so no session.
    func testTwoCookieHeaderLinesAreTwoSessionCookies() throws {
        cluster = try Cluster()
        try cluster.startAll()
        let attacker = Browser(cluster.baseURL), victim = Browser(cluster.baseURL)
        _ = try attacker.startLogin(); _ = try victim.startLogin()
        let lines = ["Cookie: \(CookieSigner.name)=\(try XCTUnwrap(attacker.cookie))", "Cookie: \(CookieSigner.name)=\(try XCTUnwrap(victim.cookie))"]
        XCTAssertEqual(try HTTPClient().request(url: cluster.baseURL + "/steemauth/status", headers: lines).status, 401)
    }

    /// /healthz says only ok or unavailable, except to the addresses allowed /metrics: the watcher's
    /// lag tells an outsider when logins are slow.
    func testHealthzGivesReasonsOnlyToMetricsClients() throws {
        cluster = try Cluster(extraEnv: ["STEEMAUTH_METRICS_ALLOW": "192.0.2.1"])
        try cluster.startAll()
        // A watcher that stopped publishing an hour ago.
        _ = try cluster.redis().command(["HSET", "steemauth:w:steem", "updated", String(unixSeconds() - 3600), "behind", "3600"])
        let outsider = try HTTPClient().request(url: cluster.baseURL + "/healthz")
        XCTAssertEqual(outsider.status, 503, "no watcher has published")
        XCTAssertEqual(outsider.text, "unavailable\n")
        cluster.tearDownPool()
        try cluster.startPool(extraEnv: ["STEEMAUTH_METRICS_ALLOW": "127.0.0.1"])
        let insider = try HTTPClient().request(url: cluster.baseURL + "/healthz")
        XCTAssertEqual(insider.status, 503)
        XCTAssertTrue(insider.text.contains("watcher"), insider.text)
    }

    /// The shipped site limits each route an address could use to write to Redis or reach the chain,
    /// and closes connections for any other Host name.
    func testTheShippedSiteRateLimitsTheWritingRoutesAndDropsOtherHosts() throws {
        let site = try String(contentsOf: Cluster.repoRoot.appendingPathComponent("nginx/steemauth.site.conf"))
        let blocks = site.components(separatedBy: "location ")
        func limited(_ path: String) -> Bool {
            blocks.contains { block in
                let head = block.prefix { $0 != "{" }
                let matches = head.hasPrefix("= " + path + " ") || (head.hasPrefix("~ ") && (try? Regex(String(head.dropFirst(2)).trimmingCharacters(in: .whitespaces)))
                    .map { path.wholeMatch(of: $0) != nil || path.firstMatch(of: $0) != nil } == true)
                return matches && block.contains("limit_req zone=")
            }
        }
        for path in ["/steemauth", "/steemauth/status", "/steemauth/logout", "/steemauth/refresh", "/steemauth/report.json",
                     "/steemauth/report.csv", "/steemauth/signin", "/steemauth/oidc/token", "/steemauth/oidc/authorize",
                     "/steemauth/oidc/logout", "/steemauth/oidc/consent", "/steemauth/oidc/cancel", "/steemauth/oidc/fresh"] {
            XCTAssertTrue(limited(path), "\(path) has a limit_req in the shipped site")
        }
        XCTAssertTrue(site.contains("listen 80 default_server;") && site.contains("listen 443 ssl default_server;") && site.contains("return 444;"),
                      "a catch-all server closes other hosts, on http and https")
        // Every FastCGI location joins Cookie lines into one param (the pool reads the first copy of a param).
        XCTAssertEqual(site.components(separatedBy: "include fastcgi_params;").count,
                       site.components(separatedBy: "fastcgi_param HTTP_COOKIE $http_cookie if_not_empty;").count)
    }

    func freshCookieHeader() -> String { "Cookie: " + freshCookie() }
}
