import Foundation
import SteemAuthAdapters
import SteemAuthCore
import XCTest

/// The OpenID Connect provider through nginx, with the devchain and the watcher: Authlib (a relying
/// party no one here wrote) runs the flows, PyJWT checks the ID tokens, and the refusals are checked
/// here on the wire.
final class OIDCTests: XCTestCase {
    var cluster: Cluster!
    var devchainURL = ""
    static let confidentialSecret = "grafana-secret-0123456789abcdef"
    static var python: String { Cluster.repoRoot.appendingPathComponent(".build/oidc-venv/bin/python").path }

    override func setUpWithError() throws {
        cluster = try Cluster()
        try cluster.startRedis()
        devchainURL = try cluster.startDevchain()[0]
        // nginx first: its address is the issuer the pool is configured with.
        try cluster.startNginx()
        try Self.makeKey(cluster.dir + "/oidc-key.pem")
        try Self.makeKey(cluster.dir + "/oidc-previous.pem")
        try writeClients(extra: [])
        try cluster.startPool(extraEnv: oidcEnv)
        _ = try cluster.startWatcher()
    }

    override func tearDown() { cluster?.tearDown() }

    var oidcEnv: [String: String] {
        ["STEEMAUTH_OIDC_ISSUER": cluster.baseURL, "STEEMAUTH_OIDC_CLIENTS": cluster.dir + "/clients.json",
         "STEEMAUTH_OIDC_KEY": cluster.dir + "/oidc-key.pem", "STEEMAUTH_OIDC_PREVIOUS_KEY": cluster.dir + "/oidc-previous.pem"]
    }

    static func makeKey(_ path: String, bits: Int = 2048, algorithm: String = "RSA") throws {
        let options = algorithm == "RSA" ? ["-pkeyopt", "rsa_keygen_bits:\(bits)"] : ["-pkeyopt", "ec_paramgen_curve:P-256"]
        let (status, output) = try Cluster.run(Cluster.which("openssl") ?? "/usr/bin/openssl",
                                               ["genpkey", "-algorithm", algorithm] + options + ["-out", path])
        XCTAssertEqual(status, 0, output)
    }

    func writeClients(extra: [[String: Any]]) throws {
        let clients: [[String: Any]] = [
            ["client_id": "grafana", "client_secret": Self.confidentialSecret, "client_name": "Grafana",
             "redirect_uris": ["http://127.0.0.1:3000/login/generic_oauth"], "token_endpoint_auth_method": "client_secret_basic",
             "post_logout_redirect_uris": ["http://127.0.0.1:3000/login"]],
            ["client_id": "gitea", "client_secret": "gitea-secret-0123456789abcdef", "client_name": "Gitea",
             "redirect_uris": ["https://git.example.org/user/oauth2/steem/callback"], "token_endpoint_auth_method": "client_secret_post"],
            ["client_id": "cli", "redirect_uris": ["http://127.0.0.1:8765/callback"], "token_endpoint_auth_method": "none"],
        ] + extra
        try JSONSerialization.data(withJSONObject: clients).write(to: URL(fileURLWithPath: cluster.dir + "/clients.json"))
    }

    func runRelyingParty(_ scenario: String, client: String, secret: String?, method: String, redirect: String, app: String) throws {
        guard FileManager.default.isExecutableFile(atPath: Self.python) else {
            throw XCTSkip("Authlib is not installed (.build/oidc-venv; the README's test command installs it)")
        }
        var args = [Cluster.repoRoot.appendingPathComponent("Tests/clients/oidc_rp.py").path, scenario, "--base", cluster.baseURL,
                    "--devchain", devchainURL, "--client-id", client, "--auth-method", method, "--redirect", redirect, "--app-name", app]
        if let secret { args += ["--secret", secret] }
        let (status, output) = try Cluster.run(Self.python, args)
        XCTAssertEqual(status, 0, output + "\n--- pool log ---\n" + String(cluster.poolLog().suffix(3000)))
        XCTAssertTrue(output.contains("scenario \(scenario): all checks passed"), output)
    }

    func testAuthlibRunsTheWholeFlowAgainstAConfidentialClient() throws {
        try runRelyingParty("flow", client: "grafana", secret: Self.confidentialSecret, method: "client_secret_basic",
                            redirect: "http://127.0.0.1:3000/login/generic_oauth", app: "Grafana")
        let log = cluster.poolLog()
        XCTAssertTrue(log.contains("oidc: a code was used twice"), "a replay is logged")
        let metrics = try Browser(cluster.baseURL).get("/metrics").text
        XCTAssertTrue(metrics.contains("steemauth_oidc_code_replays_total 1"), metrics)
    }

    func testAuthlibWithAPublicClientNeedsPKCE() throws {
        try runRelyingParty("public", client: "cli", secret: nil, method: "none", redirect: "http://127.0.0.1:8765/callback", app: "cli")
    }

    // MARK: refusals on the wire

    func authorizeURL(_ params: [(String, String)]) -> String {
        OIDCEndpoints.authorize + "?" + params.map { FormURLEncoded.encode($0.0) + "=" + FormURLEncoded.encode($0.1) }.joined(separator: "&")
    }

    static let grafanaRedirect = "http://127.0.0.1:3000/login/generic_oauth"
    var goodParams: [(String, String)] {
        [("response_type", "code"), ("client_id", "grafana"), ("redirect_uri", Self.grafanaRedirect), ("scope", "openid profile"),
         ("state", "st-1"), ("nonce", "n-1"), ("code_challenge", Base64URL.encode(OpenSSLDigest.sha256(Array(verifier.utf8)))),
         ("code_challenge_method", "S256")]
    }
    let verifier = String(repeating: "v", count: 50)

    func replacing(_ name: String, with value: String?) -> [(String, String)] {
        var params = goodParams.filter { $0.0 != name }
        if let value { params.append((name, value)) }
        return params
    }

    func testAnUnknownClientOrAnUnregisteredRedirectURIGetsAPageNeverARedirect() throws {
        let b = Browser(cluster.baseURL)
        for (what, params) in [("unknown client", replacing("client_id", with: "nobody")),
                               ("no client", replacing("client_id", with: nil)),
                               ("unregistered redirect", replacing("redirect_uri", with: "https://evil.example/cb")),
                               ("redirect with a trailing slash", replacing("redirect_uri", with: Self.grafanaRedirect + "/")),
                               ("redirect with an extra query", replacing("redirect_uri", with: Self.grafanaRedirect + "?x=1")),
                               ("no redirect", replacing("redirect_uri", with: nil)),
                               ("another client's redirect", replacing("redirect_uri", with: "http://127.0.0.1:8765/callback"))] {
            let r = try b.get(authorizeURL(params))
            XCTAssertEqual(r.status, 400, what)
            XCTAssertNil(r.header("Location"), what)
            XCTAssertTrue(r.header("Content-Type")?.hasPrefix("text/html") == true && r.text.contains("<h1>"), what)
        }
        XCTAssertEqual(try b.get(OIDCEndpoints.authorize + "?client_id=%zz").status, 400)
    }

    func testOtherAuthorizeErrorsGoBackToTheClientWithState() throws {
        let b = Browser(cluster.baseURL)
        for (params, error) in [(replacing("response_type", with: "token"), "unsupported_response_type"),
                                (replacing("scope", with: "profile"), "invalid_scope"),
                                (replacing("code_challenge_method", with: "plain"), "invalid_request"),
                                (replacing("code_challenge", with: "short"), "invalid_request"),
                                (goodParams + [("state", "twice")], "invalid_request"),
                                (replacing("prompt", with: "none login"), "invalid_request"),
                                (replacing("request", with: "eyJ.x.y"), "request_not_supported")] {
            let r = try b.get(authorizeURL(params))
            XCTAssertEqual(r.status, 302, error)
            let location = try XCTUnwrap(r.header("Location"))
            XCTAssertTrue(location.hasPrefix(Self.grafanaRedirect + "?error=" + error), location)
            XCTAssertTrue(location.contains("&state=st-1") || error == "invalid_request", location)
            XCTAssertTrue(location.contains("&iss=" + FormURLEncoded.encode(cluster.baseURL)), location)
        }
        // prompt=none from a browser with no session: login_required, nothing created.
        let r = try b.get(authorizeURL(replacing("prompt", with: "none")))
        XCTAssertTrue(r.header("Location")?.hasPrefix(Self.grafanaRedirect + "?error=login_required") == true)
        XCTAssertNil(r.header("Set-Cookie"))
    }

    /// A code for grafana, from a browser proven by a real transfer.
    func provenCode(_ b: Browser, account: String = "carol") throws -> String {
        let r = try b.get(authorizeURL(goodParams))
        XCTAssertEqual(r.header("Location"), "/steemauth")
        let memo = try b.startLoginPage()
        try cluster.devchain(["transfer", "--from", account, "--to", "steemauth.demo", "--amount", "0.001 STEEM", "--memo", memo, "--now"])
        try waitUntil("the session is bound", seconds: 30) { (try b.status().1["bound"] as? Bool) == true }
        let onward = try b.get("/steemauth")
        XCTAssertEqual(onward.status, 302)
        let location = try XCTUnwrap(onward.header("Location"))
        let query = try XCTUnwrap(location.split(separator: "?", maxSplits: 1).last)
        return try XCTUnwrap(FormURLEncoded.parse(String(query))?.first { $0.0 == "code" }?.1)
    }

    func tokenRequest(_ form: [(String, String)], basic: (String, String)? = nil) throws -> (Int, [String: Any], HTTPClient.Response) {
        var headers = ["Content-Type: application/x-www-form-urlencoded"]
        if let (id, secret) = basic {
            headers.append("Authorization: Basic " + Data("\(FormURLEncoded.encode(id)):\(FormURLEncoded.encode(secret))".utf8).base64EncodedString())
        }
        let body = form.map { FormURLEncoded.encode($0.0) + "=" + FormURLEncoded.encode($0.1) }.joined(separator: "&")
        let r = try HTTPClient().request("POST", url: cluster.baseURL + OIDCEndpoints.token, headers: headers, body: Array(body.utf8))
        let json = (try? JSONSerialization.jsonObject(with: Data(r.body))) as? [String: Any] ?? [:]
        return (r.status, json, r)
    }

    func testTokenRefusesAWrongSecretAWrongVerifierAndAReplayedCode() throws {
        let b = Browser(cluster.baseURL)
        let code = try provenCode(b)
        let form = [("grant_type", "authorization_code"), ("code", code), ("redirect_uri", Self.grafanaRedirect), ("code_verifier", verifier)]
        // The wrong secret is refused before the code is looked at: the code stays usable.
        var (status, json, r) = try tokenRequest(form, basic: ("grafana", "wrong-secret-0123456789"))
        XCTAssertEqual(status, 401); XCTAssertEqual(json["error"] as? String, "invalid_client")
        XCTAssertEqual(r.header("WWW-Authenticate"), #"Basic realm="steemauth""#)
        (status, json, _) = try tokenRequest(form + [("client_id", "grafana"), ("client_secret", Self.confidentialSecret)])
        XCTAssertEqual(status, 401, "grafana is registered for client_secret_basic, not post")
        (status, json, _) = try tokenRequest(form + [("client_id", "grafana")])
        XCTAssertEqual(status, 401, "no authentication at all")
        (status, json, _) = try tokenRequest(form, basic: ("nobody", "whatever-0123456789"))
        XCTAssertEqual(status, 401); XCTAssertEqual(json["error"] as? String, "invalid_client")

        (status, json, r) = try tokenRequest(form, basic: ("grafana", Self.confidentialSecret))
        XCTAssertEqual(status, 200, "\(json)")
        XCTAssertEqual(r.header("Cache-Control"), "no-store")
        XCTAssertEqual(r.header("Pragma"), "no-cache")
        let access = try XCTUnwrap(json["access_token"] as? String)
        (status, json, _) = try tokenRequest(form, basic: ("grafana", Self.confidentialSecret))
        XCTAssertEqual(status, 400); XCTAssertEqual(json["error"] as? String, "invalid_grant")
        let info = try HTTPClient().request(url: cluster.baseURL + OIDCEndpoints.userinfo, headers: ["Authorization: Bearer " + access])
        XCTAssertEqual(info.status, 401, "the replay revoked the token")

        // A wrong verifier: invalid_grant, and the code is spent.
        let code2 = try proveAgain(b)
        let form2 = [("grant_type", "authorization_code"), ("code", code2), ("redirect_uri", Self.grafanaRedirect)]
        (status, json, _) = try tokenRequest(form2 + [("code_verifier", String(repeating: "w", count: 50))], basic: ("grafana", Self.confidentialSecret))
        XCTAssertEqual(status, 400); XCTAssertEqual(json["error"] as? String, "invalid_grant")
        (status, json, _) = try tokenRequest(form2 + [("code_verifier", verifier)], basic: ("grafana", Self.confidentialSecret))
        XCTAssertEqual(status, 400, "spent by the wrong verifier")

        // A redirect_uri that differs from the authorization's, a made-up code, a bad grant type, a bad body.
        let code3 = try proveAgain(b)
        (status, json, _) = try tokenRequest([("grant_type", "authorization_code"), ("code", code3), ("redirect_uri", "http://127.0.0.1:3000/other"),
                                              ("code_verifier", verifier)], basic: ("grafana", Self.confidentialSecret))
        XCTAssertEqual(status, 400); XCTAssertEqual(json["error"] as? String, "invalid_grant")
        (status, json, _) = try tokenRequest([("grant_type", "authorization_code"), ("code", "made-up"), ("redirect_uri", Self.grafanaRedirect)],
                                             basic: ("grafana", Self.confidentialSecret))
        XCTAssertEqual(json["error"] as? String, "invalid_grant")
        (status, json, _) = try tokenRequest([("grant_type", "password"), ("username", "x")], basic: ("grafana", Self.confidentialSecret))
        XCTAssertEqual(status, 400); XCTAssertEqual(json["error"] as? String, "unsupported_grant_type")
        (status, json, _) = try tokenRequest([("grant_type", "authorization_code"), ("grant_type", "authorization_code")], basic: ("grafana", Self.confidentialSecret))
        XCTAssertEqual(json["error"] as? String, "invalid_request")
        let raw = try HTTPClient().request("POST", url: cluster.baseURL + OIDCEndpoints.token, headers: ["Content-Type: application/json"], body: Array("{}".utf8))
        XCTAssertEqual(raw.status, 400)
        let getToken = try HTTPClient().request(url: cluster.baseURL + OIDCEndpoints.token)
        XCTAssertEqual(getToken.status, 405); XCTAssertEqual(getToken.header("Allow"), "POST")
        let putUserinfo = try HTTPClient().request("PUT", url: cluster.baseURL + OIDCEndpoints.userinfo)
        XCTAssertEqual(putUserinfo.status, 405); XCTAssertEqual(putUserinfo.header("Allow"), "GET, POST")
        XCTAssertFalse(cluster.poolLog().contains("Status: 500"))
    }

    /// A proven browser's next authorization: a code at once.
    func proveAgain(_ b: Browser) throws -> String {
        let r = try b.get(authorizeURL(goodParams))
        let location = try XCTUnwrap(r.header("Location"))
        XCTAssertTrue(location.hasPrefix(Self.grafanaRedirect + "?code="), location)
        return try XCTUnwrap(FormURLEncoded.parse(String(location.split(separator: "?", maxSplits: 1)[1]))?.first { $0.0 == "code" }?.1)
    }

    /// Logging in by a wallet signature (Keychain's requestSignBuffer, signed here by beem) continues
    /// the authorization too, and the ID token says so in `amr`.
    func testASignatureLoginContinuesTheAuthorizationWithAmrSignature() throws {
        guard FileManager.default.isExecutableFile(atPath: SignInIntegrationTests.python) else {
            throw XCTSkip("beem is not installed (.build/beem-venv; the README's test command installs it)")
        }
        let key = SignInIntegrationTests.Keys.posting
        try cluster.devchain(["authority", "--account", "erin", "--role", "posting", "--key", key.pub + ":1"])
        let b = Browser(cluster.baseURL)
        XCTAssertEqual(try b.get(authorizeURL(goodParams)).header("Location"), "/steemauth")
        let page = try b.get("/steemauth")
        XCTAssertTrue(page.text.contains("to log in to <strong>Grafana</strong>"), page.text)
        let challenge = try XCTUnwrap(try b.status().1["challenge"] as? String)
        let signature = try SignInIntegrationTests.sign(key.wif, challenge)
        let signIn = try b.http.request("POST", url: cluster.baseURL + "/steemauth/signin",
                                        headers: ["Content-Type: application/json", "Origin: " + cluster.baseURL],
                                        body: Array(#"{"account":"erin","signature":"\#(signature)"}"#.utf8))
        XCTAssertEqual(signIn.status, 200, signIn.text)
        let onward = try b.get("/steemauth")
        XCTAssertEqual(onward.status, 302)
        let location = try XCTUnwrap(onward.header("Location"))
        XCTAssertNotNil(onward.header("Set-Cookie"), "the binding rotated the session id on the way")
        let code = try XCTUnwrap(FormURLEncoded.parse(String(location.split(separator: "?", maxSplits: 1)[1]))?.first { $0.0 == "code" }?.1)
        let (status, json, _) = try tokenRequest([("grant_type", "authorization_code"), ("code", code), ("redirect_uri", Self.grafanaRedirect),
                                                  ("code_verifier", verifier)], basic: ("grafana", Self.confidentialSecret))
        XCTAssertEqual(status, 200, "\(json)")
        let idToken = try XCTUnwrap(json["id_token"] as? String)
        let payload = try XCTUnwrap(Base64URL.decode(String(idToken.split(separator: ".")[1])))
        let claims = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(payload)) as? [String: Any])
        XCTAssertEqual(claims["sub"] as? String, "erin")
        XCTAssertEqual(claims["amr"] as? [String], ["signature"])
        XCTAssertEqual(claims["acr"] as? String, "posting", "a posting key's signature")
        XCTAssertEqual(claims["nonce"] as? String, "n-1")
        // The page after that is the report again: the authorization was taken once.
        XCTAssertEqual(try b.get("/steemauth").status, 200)
    }

    func testUserinfoRefusesAMadeUpOrMissingToken() throws {
        let client = HTTPClient()
        for header in ["Authorization: Bearer " + Base64URL.encode(SystemRandom.bytes(32)), "Authorization: Bearer not a token!",
                       "Authorization: Bearer " + String(repeating: "A", count: 5000)] {
            let r = try client.request(url: cluster.baseURL + OIDCEndpoints.userinfo, headers: [header])
            XCTAssertEqual(r.status, 401, header.prefix(40).description)
            XCTAssertEqual(r.header("WWW-Authenticate"), #"Bearer realm="steemauth", error="invalid_token", error_description="the access token is unknown or expired""#)
        }
        let none = try client.request(url: cluster.baseURL + OIDCEndpoints.userinfo)
        XCTAssertEqual(none.status, 401)
        XCTAssertEqual(none.header("WWW-Authenticate"), #"Bearer realm="steemauth""#)
    }

    func testDiscoveryAndJWKSPublishBothKeysDuringARotation() throws {
        let b = Browser(cluster.baseURL)
        let discovery = try b.get(OIDCEndpoints.discovery)
        XCTAssertEqual(discovery.status, 200)
        let d = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(discovery.body)) as? [String: Any])
        XCTAssertEqual(d["issuer"] as? String, cluster.baseURL)
        XCTAssertEqual(d["subject_types_supported"] as? [String], ["public"])
        XCTAssertEqual(d["scopes_supported"] as? [String], ["openid", "profile"])
        XCTAssertEqual(d["grant_types_supported"] as? [String], ["authorization_code"])
        XCTAssertEqual(d["token_endpoint_auth_methods_supported"] as? [String], ["client_secret_basic", "client_secret_post", "none"])
        XCTAssertTrue((d["claims_supported"] as? [String] ?? []).contains("preferred_username"))
        let jwks = try b.get(OIDCEndpoints.jwks)
        let keys = try XCTUnwrap((JSONSerialization.jsonObject(with: Data(jwks.body)) as? [String: Any])?["keys"] as? [[String: Any]])
        XCTAssertEqual(keys.count, 2)
        XCTAssertEqual(Set(keys.compactMap { $0["kid"] as? String }).count, 2)
        XCTAssertTrue(keys.allSatisfy { $0["kty"] as? String == "RSA" && $0["alg"] as? String == "RS256" && $0["d"] == nil })
    }

    func testEndSessionConfirmsThenReturnsToARegisteredAddress() throws {
        let b = Browser(cluster.baseURL)
        _ = try provenCode(b, account: "dave")
        let query = "client_id=grafana&post_logout_redirect_uri=" + FormURLEncoded.encode("http://127.0.0.1:3000/login") + "&state=bye"
        let confirm = try b.get(OIDCEndpoints.endSession + "?" + query)
        XCTAssertEqual(confirm.status, 200)
        XCTAssertTrue(confirm.text.contains("id=\"confirm-logout\"") && confirm.text.contains("Grafana"))
        XCTAssertEqual(try b.status().1["bound"] as? Bool, true, "a GET logs no one out")
        let crossSite = try b.post(OIDCEndpoints.endSession, headers: ["Origin: https://evil.example"], body: query)
        XCTAssertEqual(crossSite.status, 403)
        let done = try b.post(OIDCEndpoints.endSession, headers: ["Origin: " + cluster.baseURL], body: query)
        XCTAssertEqual(done.status, 303)
        XCTAssertEqual(done.header("Location"), "http://127.0.0.1:3000/login?state=bye")
        XCTAssertNotEqual(try b.status().1["bound"] as? Bool, true)
        let bad = try b.get(OIDCEndpoints.endSession + "?client_id=grafana&post_logout_redirect_uri=" + FormURLEncoded.encode("https://evil.example/"))
        XCTAssertEqual(bad.status, 400)
        XCTAssertNil(bad.header("Location"))
    }

    func testSIGHUPRereadsTheClientsFile() throws {
        let b = Browser(cluster.baseURL)
        let params = [("response_type", "code"), ("client_id", "late"), ("redirect_uri", "https://late.example/cb"), ("scope", "openid"),
                      ("code_challenge", Base64URL.encode(OpenSSLDigest.sha256(Array(verifier.utf8)))), ("code_challenge_method", "S256")]
        XCTAssertEqual(try b.get(authorizeURL(params)).status, 400)
        try writeClients(extra: [["client_id": "late", "redirect_uris": ["https://late.example/cb"], "token_endpoint_auth_method": "none"]])
        let before = Set(cluster.workerPIDs())
        kill(cluster.poolProcess!.processIdentifier, SIGHUP)
        try waitUntil("both workers are replaced", seconds: 60) {
            let now = self.cluster.workerPIDs()
            return now.count == 2 && before.isDisjoint(with: now)
        }
        for _ in 0..<4 { XCTAssertEqual(try b.get(authorizeURL(params)).status, 302) }
        // A broken file on reload keeps the running configuration.
        try "not json".write(toFile: cluster.dir + "/clients.json", atomically: true, encoding: .utf8)
        kill(cluster.poolProcess!.processIdentifier, SIGHUP)
        try waitUntil("the reload is refused", seconds: 30) { self.cluster.poolLog().contains("reload refused") }
        XCTAssertTrue(cluster.poolLog().contains("STEEMAUTH_OIDC_CLIENTS"))
        XCTAssertEqual(try b.get(authorizeURL(params)).status, 302)
    }
}

/// `steemauth-web --check-config` on every bad OIDC setting: a message naming the key, exit 1.
final class OIDCConfigCheckTests: XCTestCase {
    func testBadFilesStopStartUpNamingTheKey() throws {
        let cluster = try Cluster()
        defer { cluster.tearDown() }
        let dir = cluster.dir
        try OIDCTests.makeKey(dir + "/good.pem")
        try OIDCTests.makeKey(dir + "/small.pem", bits: 1024)
        try OIDCTests.makeKey(dir + "/ec.pem", algorithm: "EC")
        try "not a key".write(toFile: dir + "/garbage.pem", atomically: true, encoding: .utf8)
        let goodClients = #"[{"client_id":"a","redirect_uris":["https://a.example/cb"],"token_endpoint_auth_method":"none"}]"#
        let files: [String: String] = [
            "good.json": goodClients,
            "invalid.json": "[{",
            "duplicate.json": #"[{"client_id":"a","redirect_uris":["https://a.example/cb"],"token_endpoint_auth_method":"none"},{"client_id":"a","redirect_uris":["https://b.example/cb"],"token_endpoint_auth_method":"none"}]"#,
            "relative.json": #"[{"client_id":"a","redirect_uris":["/cb"],"token_endpoint_auth_method":"none"}]"#,
            "plainhttp.json": #"[{"client_id":"a","redirect_uris":["http://a.example/cb"],"token_endpoint_auth_method":"none"}]"#,
        ]
        for (name, text) in files { try text.write(toFile: dir + "/" + name, atomically: true, encoding: .utf8) }
        let base = ["STEEMAUTH_OIDC_ISSUER": "https://login.example.org", "STEEMAUTH_OIDC_CLIENTS": dir + "/good.json",
                    "STEEMAUTH_OIDC_KEY": dir + "/good.pem"]
        func check(_ change: [String: String?], _ expected: [String]) throws -> (Int32, String) {
            var env = cluster.env.merging(base) { $1 }
            for (k, v) in change { env[k] = v }
            let log = dir + "/check-\(UUID().uuidString).log"
            let p = try cluster.launch("check", ["--check-config"], log: log, executable: Cluster.binary("steemauth-web"), environment: env)
            p.waitUntilExit()
            let text = (try? String(contentsOfFile: log)) ?? ""
            for e in expected { XCTAssertTrue(text.contains(e), "\(change): expected '\(e)' in: \(text)") }
            return (p.terminationStatus, text)
        }
        let (okStatus, okText) = try check([:], ["OpenID Connect provider https://login.example.org with 1 client(s)"])
        XCTAssertEqual(okStatus, 0, okText)
        // The README's example clients file is a valid one.
        let example = Cluster.repoRoot.appendingPathComponent("deploy/oidc-clients.example.json").path
        let (exampleStatus, exampleText) = try check(["STEEMAUTH_OIDC_CLIENTS": example], ["with 3 client(s)"])
        XCTAssertEqual(exampleStatus, 0, exampleText)
        let bad: [([String: String?], [String])] = [
            (["STEEMAUTH_OIDC_CLIENTS": dir + "/missing.json"], ["STEEMAUTH_OIDC_CLIENTS", "cannot be read"]),
            (["STEEMAUTH_OIDC_CLIENTS": dir + "/invalid.json"], ["STEEMAUTH_OIDC_CLIENTS", "JSON"]),
            (["STEEMAUTH_OIDC_CLIENTS": dir + "/duplicate.json"], ["STEEMAUTH_OIDC_CLIENTS", "twice"]),
            (["STEEMAUTH_OIDC_CLIENTS": dir + "/relative.json"], ["STEEMAUTH_OIDC_CLIENTS", "not an absolute URI"]),
            (["STEEMAUTH_OIDC_CLIENTS": dir + "/plainhttp.json"], ["STEEMAUTH_OIDC_CLIENTS", "plain http"]),
            (["STEEMAUTH_OIDC_CLIENTS": nil], ["STEEMAUTH_OIDC_CLIENTS", "is required"]),
            (["STEEMAUTH_OIDC_KEY": nil], ["STEEMAUTH_OIDC_KEY", "is required"]),
            (["STEEMAUTH_OIDC_KEY": dir + "/missing.pem"], ["STEEMAUTH_OIDC_KEY", "cannot be read"]),
            (["STEEMAUTH_OIDC_KEY": dir + "/small.pem"], ["STEEMAUTH_OIDC_KEY", "1024-bit"]),
            (["STEEMAUTH_OIDC_KEY": dir + "/ec.pem"], ["STEEMAUTH_OIDC_KEY", "not an RSA key"]),
            (["STEEMAUTH_OIDC_KEY": dir + "/garbage.pem"], ["STEEMAUTH_OIDC_KEY", "not a PEM RSA key"]),
            (["STEEMAUTH_OIDC_PREVIOUS_KEY": dir + "/garbage.pem"], ["STEEMAUTH_OIDC_PREVIOUS_KEY"]),
            (["STEEMAUTH_OIDC_ISSUER": "https://login.example.org/"], ["STEEMAUTH_OIDC_ISSUER", "slash"]),
            (["STEEMAUTH_OIDC_ISSUER": "http://login.example.org"], ["STEEMAUTH_OIDC_ISSUER", "https"]),
        ]
        for (change, expected) in bad {
            let (status, text) = try check(change, expected)
            XCTAssertNotEqual(status, 0, "\(change): \(text)")
        }
    }
}

extension Browser {
    /// The ask page a waiting authorization was sent to: its memo.
    func startLoginPage() throws -> String {
        let page = try get("/steemauth")
        XCTAssertEqual(page.status, 200, page.text)
        return try XCTUnwrap(Browser.memo(in: page.text), "no memo on the page")
    }
}
