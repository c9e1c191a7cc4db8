@_spi(Testing) import FastCGIKit
import FoundationEssentials
import SteemAuthAdapters
import SteemAuthCore
@testable import SteemAuthWeb
import XCTest

/// The routes with a session, on the in-memory stores: the cookie flow from the front door to the
/// rotated report page, and each route's answer when the store is down or the report is busy.
final class SessionRouteTests: XCTestCase {
    struct Status: Decodable { let bound: Bool; let account: String?; let memo: String? }

    /// A report for `account`, cached as the report route caches one (no node is asked).
    func cacheReport(_ site: TestSite, account: String) throws {
        let json = #"{"account":"\#(account)","computed_at":"2026-12-07T00:00:00","stale_days":30,"following_count":2,"stale":[{"name":"bob","last_post":"2026-01-01T00:00:00","days":340}],"never_posted":["carol"],"basis":"last_post"}"#
        try site.stores.reportCache.cacheReport(account: account, json: Array(json.utf8), html: "<ul><li>@bob</li></ul>", compressedHTML: [], ttl: 600)
    }

    /// A new visitor's session, shown its login code: the cookie and the code.
    func unboundSession(_ site: inout TestSite) throws -> (cookie: String, memo: String) {
        let cookie = site.newSessionCookie()
        XCTAssertEqual(site.get("/steemauth", cookie: cookie).status, 200)
        let status = try JSONDecoder().decode(Status.self, from: Data(site.get("/steemauth/status", cookie: cookie).body))
        return (cookie, try XCTUnwrap(status.memo))
    }

    /// The session bound to `account` by a transfer paying its code, as the watcher binds it.
    func bind(_ site: TestSite, memo: String, account: String) {
        let outcome = site.stores.sessions.bindByTransfer(memo: memo, account: account, block: 1234, transactionID: String(repeating: "ab", count: 20),
                                                          blockTime: ChainTime(secondsSinceEpoch: site.stores.clock.seconds).description,
                                                          boundTTL: site.config.boundTTL, now: site.stores.clock.seconds)
        XCTAssertEqual(outcome, .bound)
    }

    /// A logged-in visitor's cookie (the one the first page after binding rotated to).
    func loggedIn(_ site: inout TestSite, account: String = "alice") throws -> String {
        let (cookie, memo) = try unboundSession(&site)
        bind(site, memo: memo, account: account)
        try cacheReport(site, account: account)
        let page = site.get("/steemauth", cookie: cookie)
        XCTAssertEqual(page.status, 200)
        return String(try XCTUnwrap(page.header("Set-Cookie")).prefix { $0 != ";" })
    }

    func testTheCookieFlowFromTheFrontDoorToTheRotatedReportPage() throws {
        var site = try TestSite()
        let cookie = site.newSessionCookie()
        let ask = site.get("/steemauth", cookie: cookie)
        XCTAssertEqual(ask.status, 200)
        XCTAssertNil(ask.header("Set-Cookie"))
        let unbound = try JSONDecoder().decode(Status.self, from: Data(site.get("/steemauth/status", cookie: cookie).body))
        XCTAssertFalse(unbound.bound)
        let memo = try XCTUnwrap(unbound.memo)
        XCTAssertTrue(ask.text.contains(memo), "the ask page shows the code the status poll names")
        bind(site, memo: memo, account: "alice")
        try cacheReport(site, account: "alice")
        let report = site.get("/steemauth", cookie: cookie)
        XCTAssertEqual(report.status, 200)
        XCTAssertTrue(report.text.contains("alice") && report.text.contains("@bob"), report.text)
        let rotated = String(try XCTUnwrap(report.header("Set-Cookie"), "binding rotates the session").prefix { $0 != ";" })
        XCTAssertNotEqual(rotated, cookie)
        let status = try JSONDecoder().decode(Status.self, from: Data(site.get("/steemauth/status", cookie: rotated).body))
        XCTAssertTrue(status.bound)
        XCTAssertEqual(status.account, "alice")
        XCTAssertEqual(site.get("/steemauth/status", cookie: cookie).status, 401, "the session's old id is denied")
    }

    func testStatusOfANewSessionCarriesTheChallengeToSign() throws {
        var site = try TestSite()
        let (cookie, memo) = try unboundSession(&site)
        let r = site.get("/steemauth/status", cookie: cookie)
        XCTAssertEqual(r.status, 200)
        XCTAssertTrue(r.text.contains(#""challenge":"#) && r.text.contains(memo) && r.text.contains("login.example.org"), r.text)
    }

    func testVerifyNamesTheAccountOfABoundSessionOnly() throws {
        var site = try TestSite()
        let (unbound, _) = try unboundSession(&site)
        XCTAssertEqual(site.get("/steemauth/verify", cookie: unbound).status, 401)
        let cookie = try loggedIn(&site)
        let r = site.get("/steemauth/verify", cookie: cookie)
        XCTAssertEqual(r.status, 200)
        XCTAssertEqual(r.header("X-SteemAuth-Account"), "alice")
    }

    func testReportJSONAndCSVOfALoggedInVisitor() throws {
        var site = try TestSite()
        let cookie = try loggedIn(&site)
        let json = site.get("/steemauth/report.json", cookie: cookie)
        XCTAssertEqual(json.status, 200)
        XCTAssertTrue(json.text.contains(#""account":"alice""#) && json.text.contains(#""behind_seconds""#), json.text)
        let csv = site.get("/steemauth/report.csv", cookie: cookie)
        XCTAssertEqual(csv.status, 200)
        XCTAssertEqual(csv.header("Content-Disposition"), #"attachment; filename="stale-follows-alice.csv""#)
        XCTAssertTrue(csv.text.contains("bob"), csv.text)
    }

    func testUnfollowSendsALoggedInVisitorToTheSigner() throws {
        var site = try TestSite()
        let cookie = try loggedIn(&site)
        let r = site.get("/steemauth/unfollow", query: "account=bob", cookie: cookie)
        XCTAssertEqual(r.status, 303)
        XCTAssertTrue(r.header("Location")?.hasPrefix("https://steemlogin.com/sign/custom-json?") == true, r.header("Location") ?? "-")
    }

    func testRefreshDropsTheCacheAndGoesBackToThePage() throws {
        var site = try TestSite()
        let cookie = try loggedIn(&site)
        let r = site.post("/steemauth/refresh", cookie: cookie)
        XCTAssertEqual(r.status, 303)
        XCTAssertEqual(r.header("Location"), "/steemauth")
    }

    func testLogoutEndsTheSession() throws {
        var site = try TestSite()
        let cookie = try loggedIn(&site)
        let r = site.post("/steemauth/logout", cookie: cookie)
        XCTAssertEqual(r.status, 303)
        XCTAssertEqual(r.header("Location"), "/")
        XCTAssertEqual(site.get("/steemauth/verify", cookie: cookie).status, 401)
    }

    func testASignInOnABoundSessionIs409() throws {
        var site = try TestSite()
        let cookie = try loggedIn(&site)
        let r = site.post("/steemauth/signin", cookie: cookie, contentType: "application/json",
                          body: #"{"account":"alice","signature":"\#(String(repeating: "1f", count: 65))"}"#)
        XCTAssertEqual(r.status, 409)
        XCTAssertEqual(r.text, #"{"error":"this browser is already logged in"}"#)
    }

    func testASignInWithANonSignatureIs400() throws {
        var site = try TestSite()
        let (cookie, _) = try unboundSession(&site)
        let r = site.post("/steemauth/signin", cookie: cookie, contentType: "application/json",
                          body: #"{"account":"alice","signature":"\#(String(repeating: "00", count: 65))"}"#)
        XCTAssertEqual(r.status, 400)
        XCTAssertTrue(r.text.hasPrefix(#"{"error":"the signature is"#), r.text)
    }

    /// The routes and the store read one clock: moved past the code's life, the route refuses the
    /// challenge it handed out, and a later code paid by transfer binds nothing.
    func testACodeOutlivedOnTheSitesClockIsRefusedByRouteAndStoreAlike() throws {
        var site = try TestSite()
        let (cookie, memo) = try unboundSession(&site)
        site.stores.clock.advance(seconds: Int64(site.config.codeTTL) + 1)
        let r = site.post("/steemauth/signin", cookie: cookie, contentType: "application/json",
                          body: #"{"account":"alice","signature":"\#(String(repeating: "1f", count: 65))"}"#)
        XCTAssertEqual(r.status, 401)
        XCTAssertTrue(r.text.contains("the challenge has expired"), r.text)
        let outcome = site.stores.sessions.bindByTransfer(memo: memo, account: "alice", block: 1234, transactionID: String(repeating: "ab", count: 20),
                                                          blockTime: ChainTime(secondsSinceEpoch: site.stores.clock.seconds).description,
                                                          boundTTL: site.config.boundTTL, now: site.stores.clock.seconds)
        XCTAssertNotEqual(outcome, .bound, "an expired code binds no one")
    }

    // MARK: the store down

    func testStoreDownGivesThePageA503PageToRetry() throws {
        var site = try TestSite()
        let cookie = site.newSessionCookie()
        site.stores.keyspace.unavailable = true
        let r = site.get("/steemauth", cookie: cookie)
        XCTAssertEqual(r.status, 503)
        XCTAssertEqual(r.header("Retry-After"), "2")
        XCTAssertTrue(r.text.contains("The login service cannot reach its session store right now."), r.text)
        site.stores.keyspace.unavailable = false
        XCTAssertEqual(site.get("/steemauth", cookie: cookie).status, 200, "and recovers")
    }

    func testStoreDownGivesStatusAJSON503() throws {
        var site = try TestSite()
        let cookie = site.newSessionCookie()
        site.stores.keyspace.unavailable = true
        let r = site.get("/steemauth/status", cookie: cookie)
        XCTAssertEqual(r.status, 503)
        XCTAssertEqual(r.text, #"{"error":"temporarily unavailable"}"#)
        XCTAssertEqual(r.header("Retry-After"), "2")
    }

    func testStoreDownGivesVerifyABare503() throws {
        var site = try TestSite()
        let cookie = site.newSessionCookie()
        site.stores.keyspace.unavailable = true
        let r = site.get("/steemauth/verify", cookie: cookie)
        XCTAssertEqual(r.status, 503)
        XCTAssertTrue(r.body.isEmpty)
    }

    func testStoreDownGivesTheCSVAPlainText503() throws {
        var site = try TestSite()
        let cookie = site.newSessionCookie()
        site.stores.keyspace.unavailable = true
        let r = site.get("/steemauth/report.csv", cookie: cookie)
        XCTAssertEqual(r.status, 503)
        XCTAssertEqual(r.text, "temporarily unavailable\n")
        XCTAssertEqual(r.header("Retry-After"), "2")
    }

    func testStoreDownGivesSignInAJSON503() throws {
        var site = try TestSite()
        let cookie = site.newSessionCookie()
        site.stores.keyspace.unavailable = true
        let r = site.post("/steemauth/signin", cookie: cookie, contentType: "application/json",
                          body: #"{"account":"alice","signature":"\#(String(repeating: "1f", count: 65))"}"#)
        XCTAssertEqual(r.status, 503)
        XCTAssertEqual(r.text, #"{"error":"temporarily unavailable"}"#)
    }

    func testStoreDownGivesLogoutA503Page() throws {
        var site = try TestSite()
        let cookie = site.newSessionCookie()
        site.stores.keyspace.unavailable = true
        let r = site.post("/steemauth/logout", cookie: cookie)
        XCTAssertEqual(r.status, 503)
        XCTAssertEqual(r.header("Content-Type"), "text/html; charset=utf-8")
    }

    func testStoreDownIsCounted() throws {
        let metrics = try XCTUnwrap(SharedCounters(slots: PoolMetrics.slotCount).map(PoolMetrics.init))
        var site = try TestSite(metrics: metrics)
        let cookie = site.newSessionCookie()
        site.stores.keyspace.unavailable = true
        _ = site.get("/steemauth/status", cookie: cookie)
        let text = metrics.render(watcher: nil)
        XCTAssertTrue(text.contains("steemauth_redis_errors_total 1"), text)
        XCTAssertTrue(text.contains(#"steemauth_http_requests_total{route="status",code="503"} 1"#), text)
    }

    // MARK: a report being computed by another request

    /// A visitor just bound whose report another request is computing (its claim is held, nothing
    /// is cached): the first page after binding, and the cookie it rotated the session to.
    func busyReport(_ site: inout TestSite) throws -> (page: ServedResponse, cookie: String) {
        let (cookie, memo) = try unboundSession(&site)
        bind(site, memo: memo, account: "alice")
        guard case .claimed = try site.stores.reportCache.claimReportComputation(account: "alice", token: "another", milliseconds: 60_000) else {
            XCTFail("the claim is free"); return (site.get("/ping"), cookie)
        }
        let page = site.get("/steemauth", cookie: cookie)
        return (page, String((page.header("Set-Cookie") ?? "").prefix { $0 != ";" }))
    }

    func testABusyReportGivesThePageA503ThatRefreshesItselfAndKeepsTheRotatedCookie() throws {
        var site = try TestSite()
        let (r, cookie) = try busyReport(&site)
        XCTAssertEqual(r.status, 503)
        XCTAssertEqual(r.header("Retry-After"), "2")
        XCTAssertTrue(r.text.contains("Your report is being prepared"), r.text)
        XCTAssertTrue(r.text.contains(#"http-equiv="refresh""#), r.text)
        XCTAssertFalse(cookie.isEmpty, "the failure still carries the rotated session's cookie")
        XCTAssertEqual(site.get("/steemauth/verify", cookie: cookie).header("X-SteemAuth-Account"), "alice")
    }

    func testABusyReportGivesReportJSONA503() throws {
        var site = try TestSite()
        let cookie = try busyReport(&site).cookie
        let r = site.get("/steemauth/report.json", cookie: cookie)
        XCTAssertEqual(r.status, 503)
        XCTAssertEqual(r.text, #"{"error":"the report is being computed"}"#)
        XCTAssertEqual(r.header("Retry-After"), "2")
    }

    func testABusyReportGivesTheCSVA503() throws {
        var site = try TestSite()
        let cookie = try busyReport(&site).cookie
        let r = site.get("/steemauth/report.csv", cookie: cookie)
        XCTAssertEqual(r.status, 503)
        XCTAssertEqual(r.text, "the report is being computed: try again in a moment\n")
    }

    // MARK: health

    func testHealthIsOkWhileTheWatcherPublishes() throws {
        var site = try TestSite(environment: ["STEEMAUTH_METRICS_ALLOW": "any"])
        site.stores.health.publish(["updated": String(site.stores.clock.seconds), "behind": "0"])
        let r = site.get("/healthz")
        XCTAssertEqual(r.status, 200)
        XCTAssertEqual(r.text, "ok\n")
    }

    func testHealthSaysUnavailableWhenTheStoreIsDown() throws {
        var site = try TestSite()
        site.stores.keyspace.unavailable = true
        let r = site.get("/healthz")
        XCTAssertEqual(r.status, 503)
        XCTAssertEqual(r.text, "unavailable\n", "the reason only for a metrics client")
    }

    // MARK: OpenID Connect with a store

    func testATokenRequestWithAnUnknownCodeIsInvalidGrant() throws {
        var site = try TestSite(oidc: true)
        let r = site.post("/steemauth/oidc/token", origin: nil, contentType: "application/x-www-form-urlencoded",
                          body: "grant_type=authorization_code&code=nope&redirect_uri=http%3A%2F%2F127.0.0.1%3A8765%2Fcallback&client_id=cli")
        XCTAssertEqual(r.status, 400)
        XCTAssertEqual(r.text, #"{"error":"invalid_grant","error_description":"the code is unknown or expired"}"#)
    }

    func testUserinfoWithAnUnknownTokenIsInvalidToken() throws {
        var site = try TestSite(oidc: true)
        let r = site.request("GET", "/steemauth/oidc/userinfo", params: [("HTTP_AUTHORIZATION", "Bearer " + String(repeating: "A", count: 43))])
        XCTAssertEqual(r.status, 401)
        XCTAssertEqual(r.text, #"{"error":"invalid_token","error_description":"the access token is unknown or expired"}"#)
    }

    func testUserinfoWhileTheStoreIsDownIsAJSON503() throws {
        var site = try TestSite(oidc: true)
        site.stores.keyspace.unavailable = true
        let r = site.request("GET", "/steemauth/oidc/userinfo", params: [("HTTP_AUTHORIZATION", "Bearer " + String(repeating: "A", count: 43))])
        XCTAssertEqual(r.status, 503)
        XCTAssertEqual(r.text, #"{"error":"temporarily unavailable"}"#)
    }

    func testAnAuthorizationFromANewBrowserWaitsForAProof() throws {
        var site = try TestSite(oidc: true)
        let r = site.get("/steemauth/oidc/authorize",
                         query: "client_id=cli&response_type=code&scope=openid&redirect_uri=http%3A%2F%2F127.0.0.1%3A8765%2Fcallback&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256")
        XCTAssertEqual(r.status, 302)
        XCTAssertEqual(r.header("Location"), "/steemauth")
        XCTAssertEqual(r.headers(named: "Set-Cookie").count, 2, "the flow cookie and a new session")
    }
}
