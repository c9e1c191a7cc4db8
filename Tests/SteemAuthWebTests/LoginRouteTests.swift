@_spi(Testing) import FastCGIKit
@testable import SteemAuthWeb
import XCTest

/// The front door, the login page's first steps, status and logout: the parts that need no session
/// store (no cookie, a refused request), in process.
final class LoginRouteTests: XCTestCase {
    func testHomeGivesANewVisitorASignedCookieAndSendsThemOn() throws {
        var site = try TestSite()
        let r = site.get("/")
        XCTAssertEqual(r.status, 302)
        XCTAssertEqual(r.header("Location"), "/steemauth")
        XCTAssertEqual(r.header("Cache-Control"), "no-store")
        let cookie = try XCTUnwrap(r.header("Set-Cookie"))
        XCTAssertTrue(cookie.hasPrefix("__Host-"), cookie)
        XCTAssertTrue(cookie.contains("Secure") && cookie.contains("HttpOnly"), cookie)
    }

    func testHomeKeepsAReturningVisitorsCookie() throws {
        var site = try TestSite()
        let cookie = site.newSessionCookie()
        let r = site.get("/", cookie: cookie)
        XCTAssertEqual(r.status, 302)
        XCTAssertEqual(r.header("Location"), "/steemauth")
        XCTAssertNil(r.header("Set-Cookie"))
    }

    func testTwoNewVisitorsGetDifferentSessions() throws {
        var site = try TestSite()
        XCTAssertNotEqual(site.newSessionCookie(), site.newSessionCookie())
    }

    func testHomeUnderAnotherHostIs421() throws {
        var site = try TestSite()
        let r = site.get("/", host: "evil.example.com")
        XCTAssertEqual(r.status, 421)
        XCTAssertNil(r.header("Set-Cookie"))
        XCTAssertTrue(r.text.contains("This login service answers at https://login.example.org."), r.text)
    }

    func testTheHostRuleIgnoresCaseAndPort() throws {
        var site = try TestSite()
        XCTAssertEqual(site.get("/", host: "LOGIN.example.org:8443").status, 302)
        XCTAssertEqual(site.get("/", host: "login.example.org.").status, 302)
    }

    func testPageWithoutACookieRedirectsOnceToTheCookieCheck() throws {
        var site = try TestSite()
        let r = site.get("/steemauth")
        XCTAssertEqual(r.status, 302)
        XCTAssertEqual(r.header("Location"), "/steemauth?c=1")
        XCTAssertNotNil(r.header("Set-Cookie"))
    }

    func testPageStillWithoutACookieExplainsCookies() throws {
        var site = try TestSite()
        let r = site.get("/steemauth", query: "c=1")
        XCTAssertEqual(r.status, 200)
        XCTAssertEqual(r.header("Content-Type"), "text/html; charset=utf-8")
        XCTAssertNotNil(r.header("Content-Security-Policy"))
        XCTAssertNotNil(r.header("Strict-Transport-Security"), "an https public origin adds HSTS")
        XCTAssertTrue(r.text.lowercased().contains("cookie"), r.text)
    }

    func testAForgedCookieIsNoSession() throws {
        var site = try TestSite()
        let cookie = site.newSessionCookie()
        let forged = String(cookie.dropLast()) + (cookie.hasSuffix("A") ? "B" : "A")
        XCTAssertEqual(site.get("/steemauth", cookie: forged).header("Location"), "/steemauth?c=1")
        let status = site.get("/steemauth/status", cookie: forged)
        XCTAssertEqual(status.status, 401)
        XCTAssertEqual(status.text, #"{"error":"no session"}"#)
    }

    func testPageUnderAnotherHostIs421() throws {
        var site = try TestSite()
        XCTAssertEqual(site.get("/steemauth", host: "relay.example.net").status, 421)
    }

    func testStatusWithoutASessionIsAJSON401() throws {
        var site = try TestSite()
        let r = site.get("/steemauth/status")
        XCTAssertEqual(r.status, 401)
        XCTAssertEqual(r.text, #"{"error":"no session"}"#)
        XCTAssertEqual(r.header("Content-Type"), "application/json")
        XCTAssertEqual(r.header("Vary"), "Cookie")
    }

    func testStatusUnderAnotherHostIsA421Page() throws {
        var site = try TestSite()
        let r = site.get("/steemauth/status", host: "relay.example.net")
        XCTAssertEqual(r.status, 421)
        XCTAssertEqual(r.header("Content-Type"), "text/html; charset=utf-8")
    }

    func testStatusRefusesAPost() throws {
        var site = try TestSite()
        let r = site.post("/steemauth/status")
        XCTAssertEqual(r.status, 405)
        XCTAssertEqual(r.header("Allow"), "GET, HEAD")
    }

    func testLogoutFromAnotherSiteIs403() throws {
        var site = try TestSite()
        let r = site.post("/steemauth/logout", cookie: site.newSessionCookie(), origin: "https://evil.example.com")
        XCTAssertEqual(r.status, 403)
        XCTAssertTrue(r.text.contains("This form must be sent from this site."), r.text)
        XCTAssertNil(r.header("Set-Cookie"))
    }

    func testLogoutWithNeitherOriginNorRefererIs403() throws {
        var site = try TestSite()
        XCTAssertEqual(site.post("/steemauth/logout", origin: nil).status, 403)
    }

    func testLogoutFromThisSiteWithoutASessionStartsAFreshOne() throws {
        var site = try TestSite()
        let r = site.post("/steemauth/logout")
        XCTAssertEqual(r.status, 303)
        XCTAssertEqual(r.header("Location"), "/")
        XCTAssertNotNil(r.header("Set-Cookie"))
    }

    func testLogoutByGetIs405() throws {
        var site = try TestSite()
        let r = site.get("/steemauth/logout")
        XCTAssertEqual(r.status, 405)
        XCTAssertEqual(r.header("Allow"), "POST")
    }
}
