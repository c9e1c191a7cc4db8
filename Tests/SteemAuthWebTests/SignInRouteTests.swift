@_spi(Testing) import FastCGIKit
@testable import SteemAuthWeb
import XCTest

/// `POST /steemauth/signin`'s refusals before any store or node work: JSON reasons, never a 500.
final class SignInRouteTests: XCTestCase {
    let signature = String(repeating: "1f", count: 65)

    func testACrossSiteSignInIs403JSON() throws {
        var site = try TestSite()
        let r = site.post("/steemauth/signin", cookie: site.newSessionCookie(), origin: "https://evil.example.com",
                          contentType: "application/json", body: #"{"account":"alice","signature":"\#(signature)"}"#)
        XCTAssertEqual(r.status, 403)
        XCTAssertEqual(r.text, #"{"error":"this request must come from this site"}"#)
        XCTAssertEqual(r.header("Content-Type"), "application/json")
    }

    func testASignInWithoutASessionIs401() throws {
        var site = try TestSite()
        let r = site.post("/steemauth/signin", contentType: "application/json", body: #"{"account":"alice","signature":"\#(signature)"}"#)
        XCTAssertEqual(r.status, 401)
        XCTAssertEqual(r.text, #"{"error":"no session: reload the page and try again"}"#)
    }

    func testASignInThatIsNotJSONIs400() throws {
        var site = try TestSite()
        let r = site.post("/steemauth/signin", cookie: site.newSessionCookie(), contentType: "application/x-www-form-urlencoded",
                          body: "account=alice")
        XCTAssertEqual(r.status, 400)
        XCTAssertEqual(r.text, #"{"error":"send the sign-in as application/json"}"#)
    }

    func testAMalformedSignInIs400WithAReason() throws {
        var site = try TestSite()
        let cookie = site.newSessionCookie()
        for body in ["{", "{}", #"{"account":"alice"}"#, #"{"account":"NOT VALID","signature":"\#(signature)"}"#, #"{"account":"alice","signature":"zz"}"#] {
            let r = site.post("/steemauth/signin", cookie: cookie, contentType: "application/json", body: body)
            XCTAssertEqual(r.status, 400, body)
            XCTAssertTrue(r.text.hasPrefix(#"{"error":""#), r.text)
        }
    }

    func testASignInByGetIs405() throws {
        var site = try TestSite()
        let r = site.get("/steemauth/signin")
        XCTAssertEqual(r.status, 405)
        XCTAssertEqual(r.header("Allow"), "POST")
    }

    func testASignInUnderAnotherHostIs421() throws {
        var site = try TestSite()
        let r = site.request("POST", "/steemauth/signin", origin: TestSite.publicOrigin, host: "relay.example.net")
        XCTAssertEqual(r.status, 421)
    }
}
