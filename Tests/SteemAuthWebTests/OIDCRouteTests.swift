@_spi(Testing) import FastCGIKit
@testable import SteemAuthWeb
import XCTest

/// The OpenID Connect provider's routes: off, public documents, and the OAuth error shapes.
final class OIDCRouteTests: XCTestCase {
    func testTheProvidersRoutesAre404WhileItIsOff() throws {
        var site = try TestSite()
        for path in ["/.well-known/openid-configuration", "/steemauth/oidc/jwks.json", "/steemauth/oidc/token", "/steemauth/oidc/authorize"] {
            XCTAssertEqual(site.get(path).status, 404, path)
        }
    }

    func testDiscoveryNamesTheIssuersEndpoints() throws {
        var site = try TestSite(oidc: true)
        let r = site.get("/.well-known/openid-configuration")
        XCTAssertEqual(r.status, 200)
        XCTAssertEqual(r.header("Access-Control-Allow-Origin"), "*")
        XCTAssertTrue(r.text.contains(#""token_endpoint":"https://login.example.org/steemauth/oidc/token""#), r.text)
    }

    func testTheKeySetPublishesTheSigningKey() throws {
        var site = try TestSite(oidc: true)
        let r = site.get("/steemauth/oidc/jwks.json")
        XCTAssertEqual(r.status, 200)
        XCTAssertTrue(r.text.contains(#""kty":"RSA""#) && r.text.contains(#""alg":"RS256""#), r.text)
    }

    func testTheTokenEndpointTakesOnlyPost() throws {
        var site = try TestSite(oidc: true)
        let r = site.get("/steemauth/oidc/token")
        XCTAssertEqual(r.status, 405)
        XCTAssertEqual(r.header("Allow"), "POST")
    }

    func testATokenRequestThatIsNotAFormIsInvalidRequest() throws {
        var site = try TestSite(oidc: true)
        let r = site.post("/steemauth/oidc/token", origin: nil, contentType: "application/json", body: "{}")
        XCTAssertEqual(r.status, 400)
        XCTAssertEqual(r.text, #"{"error":"invalid_request","error_description":"send the token request as application/x-www-form-urlencoded"}"#)
        XCTAssertEqual(r.header("Cache-Control"), "no-store")
        XCTAssertEqual(r.header("Pragma"), "no-cache")
    }

    func testATokenRequestFromAnUnknownClientIsInvalidClient() throws {
        var site = try TestSite(oidc: true)
        let r = site.post("/steemauth/oidc/token", origin: nil, contentType: "application/x-www-form-urlencoded",
                          body: "grant_type=authorization_code&code=x&redirect_uri=http%3A%2F%2F127.0.0.1%3A8765%2Fcallback&client_id=nobody")
        XCTAssertEqual(r.status, 401)
        XCTAssertTrue(r.text.hasPrefix(#"{"error":"invalid_client","#), r.text)
    }

    func testATokenRequestWithARepeatedParameterIsInvalidRequest() throws {
        var site = try TestSite(oidc: true)
        let r = site.post("/steemauth/oidc/token", origin: nil, contentType: "application/x-www-form-urlencoded",
                          body: "client_id=cli&client_id=cli")
        XCTAssertEqual(r.status, 400)
        XCTAssertEqual(r.text, #"{"error":"invalid_request","error_description":"a parameter appears more than once"}"#)
    }

    func testUserinfoWithoutABearerTokenAsksForOne() throws {
        var site = try TestSite(oidc: true)
        let r = site.get("/steemauth/oidc/userinfo")
        XCTAssertEqual(r.status, 401)
        XCTAssertEqual(r.text, #"{"error":"invalid_request","error_description":"a Bearer access token is required"}"#)
        XCTAssertEqual(r.header("WWW-Authenticate"), #"Bearer realm="steemauth""#)
    }

    func testUserinfoWithAMalformedTokenIsInvalidToken() throws {
        var site = try TestSite(oidc: true)
        let r = site.request("GET", "/steemauth/oidc/userinfo", params: [("HTTP_AUTHORIZATION", "Bearer not/a+token")])
        XCTAssertEqual(r.status, 401)
        XCTAssertTrue(r.text.hasPrefix(#"{"error":"invalid_token","#), r.text)
        XCTAssertTrue(r.header("WWW-Authenticate")?.contains(#"error="invalid_token""#) == true)
    }

    func testAnAuthorizationForAnUnknownClientIsA400Page() throws {
        var site = try TestSite(oidc: true)
        let r = site.get("/steemauth/oidc/authorize", query: "client_id=nobody&response_type=code&scope=openid&redirect_uri=https%3A%2F%2Fx.example%2Fcb")
        XCTAssertEqual(r.status, 400)
        XCTAssertEqual(r.header("Content-Type"), "text/html; charset=utf-8")
        XCTAssertTrue(r.text.contains("This login request cannot be used"), r.text)
    }

    func testAnAuthorizationUnderAnotherHostIs421() throws {
        var site = try TestSite(oidc: true)
        XCTAssertEqual(site.get("/steemauth/oidc/authorize", host: "relay.example.net").status, 421)
    }

    func testConsentAndCancelFromAnotherSiteAre403() throws {
        var site = try TestSite(oidc: true)
        for path in ["/steemauth/oidc/consent", "/steemauth/oidc/cancel"] {
            let r = site.post(path, cookie: site.newSessionCookie(), origin: "https://evil.example.com")
            XCTAssertEqual(r.status, 403, path)
        }
    }

    func testALogoutRequestNotValidlyEncodedIsA400Page() throws {
        var site = try TestSite(oidc: true)
        let r = site.get("/steemauth/oidc/logout", query: "client_id=%zz")
        XCTAssertEqual(r.status, 400)
        XCTAssertTrue(r.text.contains("Its parameters are not validly encoded."), r.text)
    }

    func testTheFreshProofPollWithoutASessionIsAJSON401() throws {
        var site = try TestSite(oidc: true)
        let r = site.get("/steemauth/oidc/fresh")
        XCTAssertEqual(r.status, 401)
        XCTAssertEqual(r.text, #"{"error":"no session"}"#)
    }
}
