@_spi(Testing) import FastCGIKit
@testable import SteemAuthWeb
import XCTest

/// The logged-in side's refusals: each route's face (JSON, plain text, a bare status, a page).
final class ReportRouteTests: XCTestCase {
    func testReportJSONWithoutASessionIsAJSON401() throws {
        var site = try TestSite()
        let r = site.get("/steemauth/report.json")
        XCTAssertEqual(r.status, 401)
        XCTAssertEqual(r.text, #"{"error":"not logged in"}"#)
        XCTAssertEqual(r.header("Content-Type"), "application/json")
    }

    func testReportCSVWithoutASessionIsPlainText401() throws {
        var site = try TestSite()
        let r = site.get("/steemauth/report.csv")
        XCTAssertEqual(r.status, 401)
        XCTAssertEqual(r.text, "not logged in\n")
        XCTAssertEqual(r.header("Content-Type"), "text/plain; charset=utf-8")
    }

    func testVerifyWithoutASessionIsABare401() throws {
        var site = try TestSite()
        let r = site.get("/steemauth/verify")
        XCTAssertEqual(r.status, 401)
        XCTAssertTrue(r.body.isEmpty)
        XCTAssertNil(r.header("X-SteemAuth-Account"))
    }

    func testVerifyAnswersWhateverTheHost() throws {
        var site = try TestSite()
        XCTAssertEqual(site.get("/steemauth/verify", host: "app.example.org").status, 401, "nginx's subrequest keeps the app's host")
    }

    func testRefreshFromAnotherSiteIs403() throws {
        var site = try TestSite()
        let r = site.post("/steemauth/refresh", origin: "https://evil.example.com")
        XCTAssertEqual(r.status, 403)
        XCTAssertTrue(r.text.contains("This form must be sent from this site."), r.text)
    }

    func testRefreshWithoutASessionGoesBackToThePage() throws {
        var site = try TestSite()
        let r = site.post("/steemauth/refresh")
        XCTAssertEqual(r.status, 303)
        XCTAssertEqual(r.header("Location"), "/steemauth")
    }

    func testRefreshByGetIs405() throws {
        var site = try TestSite()
        XCTAssertEqual(site.get("/steemauth/refresh").header("Allow"), "POST")
    }

    func testUnfollowOfANonAccountIsA400Page() throws {
        var site = try TestSite()
        for query in ["", "account=", "account=UPPER", "account=a%20b"] {
            let r = site.get("/steemauth/unfollow", query: query)
            XCTAssertEqual(r.status, 400, query)
            XCTAssertTrue(r.text.contains("That is not an account name."), r.text)
        }
    }

    func testUnfollowWithoutASessionGoesBackToThePage() throws {
        var site = try TestSite()
        let r = site.get("/steemauth/unfollow", query: "account=alice")
        XCTAssertEqual(r.status, 303)
        XCTAssertEqual(r.header("Location"), "/steemauth")
    }

    func testReportRoutesUnderAnotherHostAre421() throws {
        var site = try TestSite()
        for path in ["/steemauth/report.json", "/steemauth/report.csv", "/steemauth/unfollow"] {
            XCTAssertEqual(site.get(path, host: "relay.example.net").status, 421, path)
        }
    }
}
