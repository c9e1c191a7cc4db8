import Foundation
import SteemAuthAdapters
import SteemAuthCore
import XCTest

/// OpenID Connect used against the visitor, driven as an attacker would through nginx with the real
/// pool, Redis, the devchain and the watcher: a cross-site GET to authorize must not end a login or
/// give a public client a silent code, an authorization parked in one browser must not fire in
/// another, logout and revocation must end access tokens, and `acr_values=active` must not be met by
/// a posting key.
final class OIDCVisitorTests: XCTestCase {
    var cluster: Cluster!
    static let secret = "grafana-secret-0123456789abcdef"
    static let grafanaRedirect = "http://127.0.0.1:3000/login/generic_oauth"
    static let cliRedirect = "http://127.0.0.1:8765/callback"
    let verifier = String(repeating: "v", count: 50)
    /// The PKCE challenge an attacker chose (the attacker holds its verifier).
    let attackerVerifier = String(repeating: "m", count: 50)

    override func setUpWithError() throws {
        cluster = try Cluster()
        try cluster.startRedis()
        try cluster.startDevchain()
        try cluster.startNginx()
        try OIDCTests.makeKey(cluster.dir + "/oidc-key.pem")
        let clients: [[String: Any]] = [
            ["client_id": "grafana", "client_secret": Self.secret, "client_name": "Grafana", "redirect_uris": [Self.grafanaRedirect],
             "token_endpoint_auth_method": "client_secret_basic"],
            ["client_id": "portal", "client_secret": "portal-secret-0123456789abcdef", "client_name": "Portal", "require_consent": true,
             "redirect_uris": ["https://portal.example.org/cb"], "token_endpoint_auth_method": "client_secret_basic"],
            ["client_id": "cli", "client_name": "the CLI", "redirect_uris": [Self.cliRedirect], "token_endpoint_auth_method": "none"],
        ]
        try JSONSerialization.data(withJSONObject: clients).write(to: URL(fileURLWithPath: cluster.dir + "/clients.json"))
        try cluster.startPool(extraEnv: ["STEEMAUTH_OIDC_ISSUER": cluster.baseURL, "STEEMAUTH_OIDC_CLIENTS": cluster.dir + "/clients.json",
                                         "STEEMAUTH_OIDC_KEY": cluster.dir + "/oidc-key.pem"])
        _ = try cluster.startWatcher()
    }

    override func tearDown() {
        if let cluster, (testRun?.failureCount ?? 0) > 0 { print("--- pool log ---\n" + cluster.poolLog().suffix(4000)) }
        cluster?.tearDown()
    }

    // MARK: helpers

    func authorizeURL(client: String = "grafana", redirect: String = grafanaRedirect, verifier: String? = nil,
                      _ extra: [(String, String)] = []) -> String {
        let params = [("response_type", "code"), ("client_id", client), ("redirect_uri", redirect), ("scope", "openid profile"),
                      ("state", "st-1"), ("nonce", "n-1"),
                      ("code_challenge", Base64URL.encode(OpenSSLDigest.sha256(Array((verifier ?? self.verifier).utf8)))),
                      ("code_challenge_method", "S256")] + extra
        return OIDCEndpoints.authorize + "?" + params.map { FormURLEncoded.encode($0.0) + "=" + FormURLEncoded.encode($0.1) }.joined(separator: "&")
    }

    static func query(_ location: String?) -> [String: String] {
        guard let location, let q = location.split(separator: "?", maxSplits: 1).dropFirst().first,
              let pairs = FormURLEncoded.parse(String(q)) else { return [:] }
        return Dictionary(pairs) { a, _ in a }
    }

    func pay(_ memo: String, from account: String) throws {
        try cluster.devchain(["transfer", "--from", account, "--to", "steemauth.demo", "--amount", "0.001 STEEM", "--memo", memo, "--now"])
    }

    /// A browser logged in as `account` by a transfer, through Grafana's authorization: its code.
    func loggedIn(_ account: String) throws -> (Browser, String) {
        let b = Browser(cluster.baseURL)
        XCTAssertEqual(try b.get(authorizeURL()).header("Location"), "/steemauth")
        try pay(try b.startLoginPage(), from: account)
        try waitUntil("the session is bound", seconds: 30) { (try b.status().1["bound"] as? Bool) == true }
        let onward = try b.get("/steemauth")
        XCTAssertEqual(onward.status, 302)
        return (b, try XCTUnwrap(Self.query(onward.header("Location"))["code"]))
    }

    func token(_ code: String, verifier: String? = nil) throws -> [String: Any] {
        let form = [("grant_type", "authorization_code"), ("code", code), ("redirect_uri", Self.grafanaRedirect), ("code_verifier", verifier ?? self.verifier)]
        let body = form.map { FormURLEncoded.encode($0.0) + "=" + FormURLEncoded.encode($0.1) }.joined(separator: "&")
        let r = try HTTPClient().request("POST", url: cluster.baseURL + OIDCEndpoints.token,
                                         headers: ["Content-Type: application/x-www-form-urlencoded",
                                                   "Authorization: Basic " + Data("grafana:\(Self.secret)".utf8).base64EncodedString()],
                                         body: Array(body.utf8))
        return (try? JSONSerialization.jsonObject(with: Data(r.body))) as? [String: Any] ?? ["status": r.status]
    }

    func claims(_ idToken: String) throws -> [String: Any] {
        let payload = try XCTUnwrap(Base64URL.decode(String(idToken.split(separator: ".")[1])))
        return try XCTUnwrap(JSONSerialization.jsonObject(with: Data(payload)) as? [String: Any])
    }

    func userinfo(_ accessToken: String) throws -> HTTPClient.Response {
        try HTTPClient().request(url: cluster.baseURL + OIDCEndpoints.userinfo, headers: ["Authorization: Bearer " + accessToken])
    }

    /// The fresh-proof page's poll.
    func freshStatus(_ b: Browser) throws -> [String: Any] {
        try XCTUnwrap(JSONSerialization.jsonObject(with: Data(try b.get(OIDCEndpoints.freshStatus).body)) as? [String: Any])
    }

    /// Still logged in as `account`, for the pages and for the apps behind `auth_request`.
    func assertStillLoggedIn(_ b: Browser, _ account: String, _ what: String) throws {
        let (_, status) = try b.status()
        XCTAssertEqual(status["bound"] as? Bool, true, what)
        XCTAssertEqual(status["account"] as? String, account, what)
        XCTAssertEqual(try b.get("/steemauth/verify").header("X-SteemAuth-Account"), account, what)
    }

    // MARK: attacks

    /// A cross-site link to authorize with `prompt=login`, or a `max_age` that has passed (even with
    /// `prompt=none`), used to log the visitor out. Now the login stays; a fresh proof is asked for
    /// beside it, and the code comes only once that proof binds.
    func testAuthorizeGETsWithPromptLoginOrMaxAgeDoNotEndTheLogin() throws {
        let (b, _) = try loggedIn("carol")
        let cookie = try XCTUnwrap(b.cookie)
        for (what, extra) in [("prompt=login", [("prompt", "login")]), ("max_age=0", [("max_age", "0")])] {
            let r = try b.get(authorizeURL(extra), headers: ["Referer: https://evil.example/"])
            XCTAssertEqual(r.header("Location"), "/steemauth", what)
            XCTAssertNil(r.headers("Set-Cookie").first { $0.hasPrefix(CookieSigner.name + "=") }, "\(what): the session cookie is not replaced")
            XCTAssertEqual(b.cookie, cookie, what)
            try assertStillLoggedIn(b, "carol", what)
        }
        let silent = try b.get(authorizeURL([("prompt", "none"), ("max_age", "0")]))
        XCTAssertEqual(Self.query(silent.header("Location"))["error"], "login_required")
        XCTAssertTrue(silent.headers("Set-Cookie").isEmpty, "prompt=none sets nothing")
        try assertStillLoggedIn(b, "carol", "prompt=none with max_age=0")

        // The fresh proof: its own code beside the login; the code comes once it binds.
        let page = try b.get("/steemauth")
        XCTAssertEqual(page.status, 200)
        XCTAssertTrue(page.text.contains("asks for a fresh proof") && page.text.contains("@carol"), page.text)
        let memo = try XCTUnwrap(Browser.memo(in: page.text))
        let fresh = try freshStatus(b)
        XCTAssertEqual(fresh["memo"] as? String, memo)
        XCTAssertEqual(fresh["bound"] as? Bool, false)
        try assertStillLoggedIn(b, "carol", "while the fresh proof waits")
        let askedAt = unixSeconds()
        try pay(memo, from: "carol")
        try waitUntil("the fresh proof binds", seconds: 30) { (try self.freshStatus(b)["bound"] as? Bool) == true }
        let onward = try b.get("/steemauth")
        XCTAssertEqual(onward.status, 302, onward.text)
        let code = try XCTUnwrap(Self.query(onward.header("Location"))["code"])
        let idToken = try XCTUnwrap(try token(code)["id_token"] as? String)
        XCTAssertGreaterThanOrEqual(try claims(idToken)["auth_time"] as? Int64 ?? 0, askedAt - 5, "auth_time is the fresh proof's")
        try assertStillLoggedIn(b, "carol", "after the fresh proof")
    }

    /// A site sends a logged-in visitor to authorize for the public (loopback) client with the
    /// attacker's PKCE challenge: whoever holds that loopback port would redeem a silent code. Now the
    /// visitor gets a consent page naming the client and the redirect host; only its same-origin
    /// POST gives a code. A confidential client marked `require_consent` gets the page too.
    func testAPublicClientsSilentCodeIsRefused() throws {
        let (b, _) = try loggedIn("carol")
        let attack = authorizeURL(client: "cli", redirect: Self.cliRedirect, verifier: attackerVerifier)
        let r = try b.get(attack, headers: ["Referer: https://evil.example/"])
        XCTAssertEqual(r.status, 200, "no redirect with a code")
        XCTAssertNil(r.header("Location"))
        XCTAssertTrue(r.text.contains("Log in to the CLI?") && r.text.contains("sent to <strong>127.0.0.1</strong>") && r.text.contains("@carol"), r.text)
        XCTAssertTrue(r.text.contains(#"<form class="consent" method="post" action="/steemauth/oidc/consent" aria-labelledby="consent-heading">"#))
        XCTAssertTrue(r.text.contains(#"<main class="page""#))
        XCTAssertEqual(r.header("X-Frame-Options"), "DENY", "no clickjacking of the button")
        // Chromium and Safari hold the redirect after the form's POST to form-action too: the app's
        // origin must be there, or the button never reaches the app.
        XCTAssertTrue(r.header("Content-Security-Policy")?.contains("form-action 'self' http://127.0.0.1:*;") == true,
                      r.header("Content-Security-Policy") ?? "no CSP")
        let none = try b.get(authorizeURL(client: "cli", redirect: Self.cliRedirect, verifier: attackerVerifier, [("prompt", "none")]))
        XCTAssertEqual(Self.query(none.header("Location"))["error"], "consent_required")
        let portal = try b.get(authorizeURL(client: "portal", redirect: "https://portal.example.org/cb"))
        XCTAssertEqual(portal.status, 200)
        XCTAssertTrue(portal.text.contains("Log in to Portal?") && portal.text.contains("portal.example.org"))

        // The form's fields, posted from another site: refused. From this site (the click): the code.
        let form = #"<input type="hidden" name="([^"]*)" value="([^"]*)">"#
        let regex = try NSRegularExpression(pattern: form)
        let fields = regex.matches(in: r.text, range: NSRange(r.text.startIndex..., in: r.text)).map { m in
            (String(r.text[Range(m.range(at: 1), in: r.text)!]), String(r.text[Range(m.range(at: 2), in: r.text)!]))
        }
        let body = fields.map { FormURLEncoded.encode($0.0) + "=" + FormURLEncoded.encode($0.1.replacingOccurrences(of: "&amp;", with: "&")) }
            .joined(separator: "&")
        XCTAssertEqual(try b.post(OIDCEndpoints.consent, headers: ["Origin: https://evil.example"], body: body).status, 403)
        XCTAssertEqual(try b.post(OIDCEndpoints.consent, body: body).status, 403, "no Origin, no Referer: refused")
        let garbage = try b.post(OIDCEndpoints.consent, headers: ["Origin: " + cluster.baseURL], body: "client_id=%zz")
        XCTAssertEqual(garbage.status, 400, "a clear refusal, no redirect, no 500")
        XCTAssertNil(garbage.header("Location"))
        let allowed = try b.post(OIDCEndpoints.consent, headers: ["Origin: " + cluster.baseURL], body: body)
        XCTAssertEqual(allowed.status, 302)
        XCTAssertTrue(allowed.header("Location")?.hasPrefix(Self.cliRedirect + "?code=") == true, allowed.header("Location") ?? "")
        XCTAssertTrue(cluster.poolLog().contains("oidc: consent asked"))
    }

    /// Mallory parks an authorization in her own browser, then gets its session into Alice's browser
    /// (a planted cookie, here copied by hand). Alice pays the code her page shows; the page that loads
    /// after the binding must not send Alice's browser on with a code for her account to Mallory's
    /// authorization: it was not started in this browser (no flow cookie).
    func testAParkedAuthorizationFromAnotherBrowserDoesNotFire() throws {
        let mallory = Browser(cluster.baseURL)
        XCTAssertEqual(try mallory.get(authorizeURL(verifier: attackerVerifier)).header("Location"), "/steemauth")
        let planted = try XCTUnwrap(mallory.cookie)
        let alice = HTTPClient()
        var cookie = CookieSigner.name + "=" + planted
        func get(_ path: String) throws -> HTTPClient.Response {
            let r = try alice.request(url: cluster.baseURL + path, headers: ["Cookie: " + cookie])
            if let set = r.headers("Set-Cookie").first(where: { $0.hasPrefix(CookieSigner.name + "=") }) {
                cookie = String(set.split(separator: ";")[0])
            }
            return r
        }
        let page = try get("/steemauth")
        XCTAssertEqual(page.status, 200)
        try pay(try XCTUnwrap(Browser.memo(in: page.text)), from: "carol")
        try waitUntil("the session is bound", seconds: 30) {
            ((try? JSONSerialization.jsonObject(with: Data(get("/steemauth/status").body))) as? [String: Any])?["bound"] as? Bool == true
        }
        let after = try get("/steemauth")
        XCTAssertEqual(after.status, 200, "the report page, not a redirect: \(after.header("Location") ?? "")")
        XCTAssertNil(after.header("Location"))
        XCTAssertTrue(after.text.contains("Logged in as @carol"))
        XCTAssertTrue(cluster.poolLog().contains("oidc: a waiting authorization was started in another browser"))
        XCTAssertFalse(cluster.poolLog().contains("oidc: code issued"), "no code for anyone")
    }

    /// `admin revoke` after a compromise, and a logout: the access tokens those logins gave stop
    /// working at once (userinfo: 401 invalid_token), not an hour later.
    func testRevokeOrLogoutThenUserinfoIsRefused() throws {
        let (revoked, code) = try loggedIn("carol")
        let access = try XCTUnwrap(try token(code)["access_token"] as? String)
        XCTAssertEqual(try userinfo(access).status, 200)
        let p = try cluster.launch("admin", ["admin", "revoke", "@carol"], log: cluster.dir + "/admin.out",
                                   executable: Cluster.binary("steemauth-web"), environment: cluster.env)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, cluster.log("admin.out"))
        let refused = try userinfo(access)
        XCTAssertEqual(refused.status, 401)
        XCTAssertTrue(refused.header("WWW-Authenticate")?.contains(#"error="invalid_token""#) == true)
        XCTAssertNotEqual(try revoked.status().1["bound"] as? Bool, true)

        let (b, code2) = try loggedIn("dave")
        let access2 = try XCTUnwrap(try token(code2)["access_token"] as? String)
        let code3 = try XCTUnwrap(Self.query(try b.get(authorizeURL()).header("Location"))["code"], "single sign-on")
        XCTAssertEqual(try b.post("/steemauth/logout", headers: ["Origin: " + cluster.baseURL]).status, 303)
        XCTAssertEqual(try userinfo(access2).status, 401, "logout ended the login's access token")
        XCTAssertEqual(try token(code3)["error"] as? String, "invalid_grant", "a code from a login that ended gives no token")
    }

    /// An app that needs an active-level proof sends `acr_values=active`. A visitor logged in with a
    /// posting key gets no code: a fresh proof is asked for, a posting key's signature is refused
    /// for it, an active key's gives the code, and the ID token says `acr` active, `amr` signature.
    func testAcrValuesActiveAgainstAPostingKeyLoginGetsNoCode() throws {
        guard FileManager.default.isExecutableFile(atPath: SignInIntegrationTests.python) else {
            throw XCTSkip("beem is not installed (.build/beem-venv; the README's test command installs it)")
        }
        let keys = SignInIntegrationTests.Keys.self
        try cluster.devchain(["authority", "--account", "erin", "--role", "posting", "--key", keys.posting.pub + ":1"])
        try cluster.devchain(["authority", "--account", "erin", "--role", "active", "--key", keys.active.pub + ":1"])
        let b = Browser(cluster.baseURL)
        func signIn(_ wif: String, challenge: String) throws -> HTTPClient.Response {
            let signature = try SignInIntegrationTests.sign(wif, challenge)
            return try b.http.request("POST", url: cluster.baseURL + "/steemauth/signin",
                                      headers: ["Content-Type: application/json", "Origin: " + cluster.baseURL],
                                      body: Array(#"{"account":"erin","signature":"\#(signature)"}"#.utf8))
        }
        // Logged in by a posting key, through Grafana: acr posting.
        XCTAssertEqual(try b.get(authorizeURL()).header("Location"), "/steemauth")
        _ = try b.startLoginPage()
        XCTAssertEqual(try signIn(keys.posting.wif, challenge: try XCTUnwrap(try b.status().1["challenge"] as? String)).status, 200)
        let first = try b.get("/steemauth")
        let postingToken = try XCTUnwrap(try token(try XCTUnwrap(Self.query(first.header("Location"))["code"]))["id_token"] as? String)
        XCTAssertEqual(try claims(postingToken)["acr"] as? String, "posting")

        let none = try b.get(authorizeURL([("prompt", "none"), ("acr_values", "active")]))
        XCTAssertEqual(Self.query(none.header("Location"))["error"], "login_required")
        let r = try b.get(authorizeURL([("acr_values", "active")]))
        XCTAssertEqual(r.header("Location"), "/steemauth", "no code for a posting-level login")
        try assertStillLoggedIn(b, "erin", "while the active-level proof waits")
        let page = try b.get("/steemauth")
        XCTAssertEqual(page.status, 200)
        XCTAssertTrue(page.text.contains("made with your <strong>active</strong> key") && page.text.contains(#"data-key="Active""#), page.text)
        let challenge = try XCTUnwrap(try freshStatus(b)["challenge"] as? String)
        let posting = try signIn(keys.posting.wif, challenge: challenge)
        XCTAssertEqual(posting.status, 401, posting.text)
        XCTAssertTrue(posting.text.contains("active key"), posting.text)
        XCTAssertEqual(try b.get("/steemauth").status, 200, "still no code")
        XCTAssertEqual(try signIn(keys.active.wif, challenge: challenge).status, 200)
        let onward = try b.get("/steemauth")
        XCTAssertEqual(onward.status, 302, onward.text)
        let idToken = try XCTUnwrap(try token(try XCTUnwrap(Self.query(onward.header("Location"))["code"]))["id_token"] as? String)
        XCTAssertEqual(try claims(idToken)["acr"] as? String, "active")
        XCTAssertEqual(try claims(idToken)["amr"] as? [String], ["signature"])
        let d = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(try b.get(OIDCEndpoints.discovery).body)) as? [String: Any])
        XCTAssertEqual(d["acr_values_supported"] as? [String], ["posting", "active"])
    }

    /// A fresh proof is a new login: paid from another account, it replaces the first (the id rotates,
    /// the old account no longer lists it), and the code names the account that proved.
    func testAFreshProofByAnotherAccountIsANewLogin() throws {
        let (b, carolCode) = try loggedIn("carol")
        let carolAccess = try XCTUnwrap(try token(carolCode)["access_token"] as? String)
        let unredeemed = try XCTUnwrap(Self.query(try b.get(authorizeURL()).header("Location"))["code"], "single sign-on as @carol")
        let before = try XCTUnwrap(b.cookie)
        XCTAssertEqual(try b.get(authorizeURL([("prompt", "login")])).header("Location"), "/steemauth")
        let memo = try XCTUnwrap(Browser.memo(in: try b.get("/steemauth").text))
        try pay(memo, from: "dave")
        try waitUntil("the fresh proof binds", seconds: 30) { (try self.freshStatus(b)["bound"] as? Bool) == true }
        let onward = try b.get("/steemauth")
        XCTAssertEqual(onward.status, 302, onward.text)
        XCTAssertNotEqual(b.cookie, before, "a new login: the id rotated")
        let idToken = try XCTUnwrap(try token(try XCTUnwrap(Self.query(onward.header("Location"))["code"]))["id_token"] as? String)
        XCTAssertEqual(try claims(idToken)["sub"] as? String, "dave")
        try assertStillLoggedIn(b, "dave", "after the fresh proof by @dave")
        XCTAssertEqual(try cluster.redis().command(["SCARD", "steemauth:a:carol"]).integer, 0, "@carol no longer lists the session")
        XCTAssertEqual(try cluster.redis().command(["SCARD", "steemauth:a:dave"]).integer, 1)
        XCTAssertEqual(try HTTPClient().request(url: cluster.baseURL + "/steemauth/verify", headers: ["Cookie: \(CookieSigner.name)=\(before)"])
            .header("X-SteemAuth-Account"), nil, "the old id is dead")
        // @carol's login ended with @dave's proof: her access token and her code not yet redeemed too
        // (else `admin revoke @carol`, which finds sessions by account, could no longer reach them).
        XCTAssertEqual(try userinfo(carolAccess).status, 401)
        XCTAssertEqual(try token(unredeemed)["error"] as? String, "invalid_grant")
    }

    /// Another site's navigation parks a second request over a fresh proof the visitor is reading
    /// about: the code shown for the first must not answer the second, so the second gets its own.
    func testAnotherFlowParkingOverAFreshProofGetsItsOwnCode() throws {
        let (b, _) = try loggedIn("carol")
        XCTAssertEqual(try b.get(authorizeURL([("prompt", "login")])).header("Location"), "/steemauth")
        let first = try XCTUnwrap(Browser.memo(in: try b.get("/steemauth").text))
        XCTAssertEqual(try b.get(authorizeURL([("prompt", "login")])).header("Location"), "/steemauth", "a second flow parks")
        let second = try XCTUnwrap(Browser.memo(in: try b.get("/steemauth").text))
        XCTAssertNotEqual(first, second, "the second request has its own code")
        XCTAssertEqual(try cluster.redis().command(["EXISTS", "steemauth:c:" + first]).integer, 0, "the first code answers nothing now")
        try assertStillLoggedIn(b, "carol", "while a fresh proof waits")
    }

    /// A link with `max_age=0` parks an authorization that asks for a fresh proof; the visitor does
    /// not want it. Cancel (a same-origin POST) drops it: the login and its report stay, and the app
    /// hears `access_denied`.
    func testCancellingAFreshProofKeepsTheLoginAndItsReport() throws {
        let (b, _) = try loggedIn("carol")
        XCTAssertEqual(try b.get(authorizeURL([("max_age", "0")])).header("Location"), "/steemauth")
        let page = try b.get("/steemauth")
        XCTAssertTrue(page.text.contains(#"action="/steemauth/oidc/cancel""#), page.text)
        XCTAssertEqual(try b.post(OIDCEndpoints.cancel, headers: ["Origin: https://evil.example"]).status, 403)
        let cancelled = try b.post(OIDCEndpoints.cancel, headers: ["Origin: " + cluster.baseURL])
        XCTAssertEqual(cancelled.status, 303)
        let back = Self.query(cancelled.header("Location"))
        XCTAssertEqual(back["error"], "access_denied")
        XCTAssertEqual(back["state"], "st-1")
        XCTAssertTrue(cancelled.header("Location")?.hasPrefix(Self.grafanaRedirect + "?") == true)
        let report = try b.get("/steemauth")
        XCTAssertEqual(report.status, 200)
        XCTAssertTrue(report.text.contains("Logged in as @carol"))
        try assertStillLoggedIn(b, "carol", "after cancelling")
        XCTAssertEqual(try freshStatus(b)["bound"] as? Bool, true, "nothing waits any more")
    }
}
