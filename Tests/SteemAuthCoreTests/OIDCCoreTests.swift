import FoundationEssentials
@testable import SteemAuthCore
import XCTest

/// The OpenID Connect provider's pure parts: the clients file, the authorize request, the claims.
final class OIDCCoreTests: XCTestCase {
    func clients(_ json: String) throws(OIDCConfigProblem) -> OIDCClientRegistry { try OIDCClientRegistry.parse(Array(json.utf8)) }

    let good = #"{"client_id":"grafana","client_secret":"0123456789abcdef0123","redirect_uris":["https://grafana.example.org/login/generic_oauth"],"token_endpoint_auth_method":"client_secret_basic","client_name":"Grafana"}"#
    let publicClient = #"{"client_id":"cli","redirect_uris":["http://127.0.0.1:8765/cb","http://localhost/cb","http://[::1]:9/cb"],"token_endpoint_auth_method":"none"}"#

    func testAGoodFileParses() throws {
        let registry = try clients("[\(good),\(publicClient)]")
        XCTAssertEqual(registry["grafana"]?.displayName, "Grafana")
        XCTAssertEqual(registry["grafana"]?.authMethod, .clientSecretBasic)
        XCTAssertEqual(registry["cli"]?.isPublic, true)
        XCTAssertEqual(registry["cli"]?.displayName, "cli")
        XCTAssertNil(registry["nobody"])
    }

    func testEveryBadFileIsRefusedWithAReason() {
        let cases: [(String, String)] = [
            ("not json", "is not a JSON array"),
            ("{}", "is not a JSON array"),
            ("[]", "lists no client"),
            ("[\(good),\(good)]", "lists client 'grafana' twice"),
            (#"[{"client_id":"a","redirect_uris":["/relative/cb"],"token_endpoint_auth_method":"none"}]"#, "is not an absolute URI"),
            (#"[{"client_id":"a","redirect_uris":["cb.example.org/x"],"token_endpoint_auth_method":"none"}]"#, "is not an absolute URI"),
            (#"[{"client_id":"a","redirect_uris":["http://app.example.org/cb"],"token_endpoint_auth_method":"none"}]"#, "plain http to a host other than loopback"),
            (#"[{"client_id":"a","redirect_uris":["http://127.0.0.1.evil.example/cb"],"token_endpoint_auth_method":"none"}]"#, "plain http to a host other than loopback"),
            (#"[{"client_id":"a","redirect_uris":["https://app.example.org/cb#frag"],"token_endpoint_auth_method":"none"}]"#, "fragment"),
            (#"[{"client_id":"a","redirect_uris":["javascript://x/alert(1)"],"token_endpoint_auth_method":"none"}]"#, "is not http(s)"),
            (#"[{"client_id":"a","redirect_uris":[],"token_endpoint_auth_method":"none"}]"#, "redirect_uris is empty"),
            (#"[{"client_id":"a","redirect_uris":["https://a.example/cb"],"token_endpoint_auth_method":"private_key_jwt"}]"#, "invalid value at [0].token_endpoint_auth_method"),
            (#"[{"client_id":"a","redirect_uris":["https://a.example/cb"]}]"#, "missing token_endpoint_auth_method"),
            (#"[{"client_id":"a","redirect_uris":["https://a.example/cb"],"token_endpoint_auth_method":"client_secret_basic"}]"#, "client_secret is missing"),
            (#"[{"client_id":"a","client_secret":"short","redirect_uris":["https://a.example/cb"],"token_endpoint_auth_method":"client_secret_post"}]"#, "shorter than 16"),
            (#"[{"client_id":"a","client_secret":"0123456789abcdef","redirect_uris":["https://a.example/cb"],"token_endpoint_auth_method":"none"}]"#, "has no client_secret"),
            (#"[{"client_id":"","redirect_uris":["https://a.example/cb"],"token_endpoint_auth_method":"none"}]"#, "client_id"),
            (#"[{"client_id":"a b","redirect_uris":["https://a.example/cb"],"token_endpoint_auth_method":"none"}]"#, "client_id"),
            (#"[{"client_id":"a","redirect_uris":["https://a.example/cb"],"post_logout_redirect_uris":["http://a.example/"],"token_endpoint_auth_method":"none"}]"#, "post_logout_redirect_uris[0]"),
        ]
        for (json, expected) in cases {
            do {
                _ = try clients(json)
                XCTFail("accepted: \(json)")
            } catch {
                XCTAssertTrue(error.message.contains(expected), "\(json): \(error.message)")
                XCTAssertFalse(error.message.contains("0123456789abcdef"), "a problem never shows a secret")
            }
        }
    }

    func testIssuerRules() {
        XCTAssertNil(OIDCEndpoints.issuerProblem("https://login.example.org"))
        XCTAssertNil(OIDCEndpoints.issuerProblem("https://login.example.org:8443"))
        XCTAssertNil(OIDCEndpoints.issuerProblem("http://127.0.0.1:8080"))
        for bad in ["https://login.example.org/", "https://login.example.org/auth", "http://login.example.org", "login.example.org",
                    "https://login.example.org?x=1", "ftp://x.example"] {
            XCTAssertNotNil(OIDCEndpoints.issuerProblem(bad), bad)
        }
    }

    // MARK: authorize

    let registry = try! OIDCClientRegistry.parse(Array(#"""
    [{"client_id":"grafana","client_secret":"0123456789abcdef0123","redirect_uris":["https://g.example/cb","https://g.example/cb?tenant=1"],"token_endpoint_auth_method":"client_secret_basic"},
     {"client_id":"cli","redirect_uris":["http://127.0.0.1:8765/cb"],"token_endpoint_auth_method":"none"}]
    """#.utf8))
    let challenge = String(repeating: "c", count: 43)

    func parse(_ query: String) -> Result<AuthorizationRequest, AuthorizationRequest.Refusal> {
        AuthorizationRequest.parse(query: query, clients: registry, now: 1000, lifetime: 900)
    }

    func testAGoodRequestKeepsStateNonceAndChallenge() throws {
        let r = try parse("response_type=code&client_id=grafana&redirect_uri=https%3A%2F%2Fg.example%2Fcb&scope=openid+profile+email&state=a%20b&nonce=n1&code_challenge=\(challenge)&code_challenge_method=S256&prompt=login&max_age=60").get()
        XCTAssertEqual(r.pending, PendingAuthorization(clientID: "grafana", redirectURI: "https://g.example/cb", scope: "openid profile",
                                                       state: "a b", nonce: "n1", codeChallenge: challenge, expiresAt: 1900))
        XCTAssertEqual(r.prompt, .login)
        XCTAssertEqual(r.maxAge, 60)
        XCTAssertEqual(r.requiredLevel, .posting)
    }

    func testPKCEIsRequiredOfEveryClientUnlessItOptsOut() throws {
        let noPKCE = "response_type=code&redirect_uri=https://g.example/cb&scope=openid&state=s"
        guard case .failure(.redirect(_, "invalid_request", _, "s")) = parse("client_id=grafana&" + noPKCE) else {
            return XCTFail("a confidential client without PKCE")
        }
        let optedOut = try clients(#"[{"client_id":"old","client_secret":"0123456789abcdef0123","redirect_uris":["https://g.example/cb"],"token_endpoint_auth_method":"client_secret_post","require_pkce":false}]"#)
        XCTAssertNoThrow(try AuthorizationRequest.parse(query: "client_id=old&" + noPKCE, clients: optedOut, now: 0, lifetime: 1).get())
        XCTAssertThrowsError(try clients(#"[{"client_id":"cli","redirect_uris":["http://127.0.0.1/cb"],"token_endpoint_auth_method":"none","require_pkce":false}]"#)) {
            XCTAssertTrue(($0 as? OIDCConfigProblem)?.message.contains("cannot turn PKCE off") == true)
        }
    }

    func testLoopbackRedirectsMatchOnAnyPortAndNothingElseDoes() {
        let base = "response_type=code&client_id=cli&scope=openid&code_challenge=\(challenge)&code_challenge_method=S256&redirect_uri="
        let loopback = try! clients(#"[{"client_id":"cli","redirect_uris":["http://127.0.0.1:8765/cb","http://[::1]/cb?x=1","https://127.0.0.1:9/cb"],"token_endpoint_auth_method":"none"}]"#)
        func allowed(_ uri: String) -> Bool {
            if case .success(let r) = AuthorizationRequest.parse(query: base + FormURLEncoded.encode(uri), clients: loopback, now: 0, lifetime: 1) {
                XCTAssertEqual(r.pending.redirectURI, uri, "the code goes back where the request said")
                return true
            }
            return false
        }
        for good in ["http://127.0.0.1:8765/cb", "http://127.0.0.1:51234/cb", "http://127.0.0.1:1/cb", "http://[::1]:4000/cb?x=1", "http://[::1]/cb?x=1",
                     "https://127.0.0.1:9/cb"] {
            XCTAssertTrue(allowed(good), good)
        }
        for bad in ["http://127.0.0.1:51234/cb/", "http://127.0.0.1:51234/CB", "http://127.0.0.1/cb", "http://127.0.0.1:0/cb", "http://127.0.0.1:65536/cb",
                    "http://127.0.0.1:12x/cb", "http://localhost:8765/cb", "http://127.0.0.2:8765/cb", "http://127.0.0.1:8765@evil.example/cb",
                    "http://127.0.0.1:8765.evil.example/cb", "http://[::1]:4000/cb", "http://[::1]:4000/cb?x=2", "https://127.0.0.1:10/cb",
                    "http://127.0.0.1:8765/cb?x=1"] {
            XCTAssertFalse(allowed(bad), bad)
        }
    }

    func testWhatAnAuthorizationNeedsOfTheLogin() throws {
        let pkce = "&code_challenge=\(challenge)&code_challenge_method=S256"
        func outcome(_ q: String, _ binding: (Int64, ProofLevel)?, now: Int64 = 1000) throws -> AuthorizationOutcome {
            try parse("response_type=code&scope=openid" + pkce + "&" + q).get().outcome(binding: binding, now: now)
        }
        let grafana = "client_id=grafana&redirect_uri=https://g.example/cb", cli = "client_id=cli&redirect_uri=http://127.0.0.1:8765/cb"
        XCTAssertEqual(try outcome(grafana, nil), .proofNeeded)
        XCTAssertEqual(try outcome(grafana, (900, .posting)), .code, "a confidential client: single sign-on")
        XCTAssertEqual(try outcome(cli, (900, .active)), .consentNeeded, "a public client: a click")
        XCTAssertEqual(try outcome(grafana + "&prompt=login", (999, .active)), .freshProofNeeded)
        XCTAssertEqual(try outcome(grafana + "&max_age=0", (1000, .active)), .freshProofNeeded, "max_age=0: even a proof of this second")
        XCTAssertEqual(try outcome(grafana + "&max_age=100", (900, .active)), .code)
        XCTAssertEqual(try outcome(grafana + "&max_age=99", (900, .active)), .freshProofNeeded)
        XCTAssertEqual(try outcome(grafana + "&acr_values=active", (900, .posting)), .freshProofNeeded)
        XCTAssertEqual(try outcome(grafana + "&acr_values=posting+active", (900, .active)), .code)
        XCTAssertEqual(try outcome(grafana + "&acr_values=posting", (900, .posting)), .code)
        XCTAssertEqual(try outcome(cli + "&acr_values=active", (900, .posting)), .freshProofNeeded)
        let consenting = try clients(#"[{"client_id":"app","client_secret":"0123456789abcdef0123","redirect_uris":["https://a.example/cb"],"token_endpoint_auth_method":"client_secret_basic","require_consent":true}]"#)
        let r = try AuthorizationRequest.parse(query: "response_type=code&scope=openid&client_id=app&redirect_uri=https://a.example/cb" + pkce,
                                               clients: consenting, now: 0, lifetime: 1).get()
        XCTAssertEqual(r.outcome(binding: (0, .active), now: 1), .consentNeeded, "require_consent: a click even for a confidential client")
        XCTAssertEqual(ProofLevel.stored(nil, method: "signature"), .posting, "an older signature binding is judged posting")
        XCTAssertEqual(ProofLevel.stored(nil, method: "transfer"), .active)
        XCTAssertEqual(ProofLevel.of(signatureRole: "owner"), .active)
    }

    func testClientAndRedirectAreCheckedFirstAndOnlyAPageSaysSo() {
        for q in ["response_type=token&client_id=nobody&redirect_uri=https://g.example/cb&scope=openid",
                  "response_type=code&redirect_uri=https://g.example/cb&scope=openid",
                  "response_type=code&client_id=grafana&redirect_uri=https://g.example/cb/&scope=openid",
                  "response_type=code&client_id=grafana&redirect_uri=HTTPS://g.example/cb&scope=openid",
                  "response_type=code&client_id=grafana&redirect_uri=https://g.example/cb?tenant=2&scope=openid",
                  "response_type=code&client_id=grafana&scope=openid",
                  "response_type=code&client_id=grafana&redirect_uri=https://g.example/cb&redirect_uri=https://evil.example/&scope=openid",
                  "client_id=%ZZ"] {
            guard case .failure(.page) = parse(q) else { return XCTFail("not a page: \(q)") }
        }
        // A registered URI with a query of its own matches exactly.
        XCTAssertNoThrow(try parse("response_type=code&client_id=grafana&redirect_uri=https%3A%2F%2Fg.example%2Fcb%3Ftenant%3D1&scope=openid&code_challenge=\(challenge)&code_challenge_method=S256").get())
    }

    func testLaterErrorsGoBackToTheRedirectURI() {
        let base = "client_id=cli&redirect_uri=http://127.0.0.1:8765/cb&state=s"
        let pkce = "&code_challenge=\(challenge)&code_challenge_method=S256"
        let cases: [(String, String)] = [
            (base + "&scope=openid" + pkce, "unsupported_response_type"),
            (base + "&response_type=code+id_token&scope=openid" + pkce, "unsupported_response_type"),
            (base + "&response_type=code&scope=profile" + pkce, "invalid_scope"),
            (base + "&response_type=code&scope=openid", "invalid_request"),                                // without PKCE
            (base + "&response_type=code&scope=openid&code_challenge=\(challenge)&code_challenge_method=plain", "invalid_request"),
            (base + "&response_type=code&scope=openid&code_challenge=\(challenge)", "invalid_request"),   // method left out = plain
            (base + "&response_type=code&scope=openid&code_challenge=short&code_challenge_method=S256", "invalid_request"),
            (base + "&response_type=code&scope=openid&scope=openid" + pkce, "invalid_request"),
            (base + "&response_type=code&scope=openid&prompt=none+login" + pkce, "invalid_request"),
            (base + "&response_type=code&scope=openid&max_age=-1" + pkce, "invalid_request"),
            (base + "&response_type=code&scope=openid&response_mode=fragment" + pkce, "invalid_request"),
            (base + "&response_type=code&scope=openid&request=x" + pkce, "request_not_supported"),
        ]
        for (q, expected) in cases {
            guard case .failure(.redirect(let uri, let error, _, let state)) = parse(q) else { XCTFail("no redirect: \(q)"); continue }
            XCTAssertEqual(uri, "http://127.0.0.1:8765/cb", q)
            XCTAssertEqual(error, expected, q)
            XCTAssertEqual(state, "s", q)
        }
    }

    // MARK: claims and encodings

    func testIDTokenClaims() throws {
        let pending = PendingAuthorization(clientID: "grafana", redirectURI: "https://g.example/cb", scope: "openid", state: nil, nonce: "n-1",
                                           codeChallenge: nil, expiresAt: 0)
        var grant = AuthorizationGrant(pending: pending, account: "alice", chain: "hive", method: "signature", authTime: 990,
                                       level: .posting, session: "00")
        let claims = IDTokenClaims(issuer: "https://login.example.org", grant: grant, now: 1000, lifetime: 3600)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: JSONEncoder().encode(claims)) as? [String: Any])
        XCTAssertEqual(json["iss"] as? String, "https://login.example.org")
        XCTAssertEqual(json["sub"] as? String, "alice")
        XCTAssertEqual(json["preferred_username"] as? String, "alice")
        XCTAssertEqual(json["aud"] as? String, "grafana")
        XCTAssertEqual(json["azp"] as? String, "grafana")
        XCTAssertEqual(json["exp"] as? Int, 4600)
        XCTAssertEqual(json["iat"] as? Int, 1000)
        XCTAssertEqual(json["auth_time"] as? Int, 990)
        XCTAssertEqual(json["nonce"] as? String, "n-1")
        XCTAssertEqual(json["chain"] as? String, "hive")
        XCTAssertEqual(json["amr"] as? [String], ["signature"])
        XCTAssertEqual(json["acr"] as? String, "posting")
        XCTAssertNil(json["sid"], "the login's session id stays in Redis")
        grant.nonce = nil; grant.method = "transfer"; grant.level = .active
        let plain = try XCTUnwrap(JSONSerialization.jsonObject(with: JSONEncoder().encode(IDTokenClaims(issuer: "i", grant: grant, now: 1, lifetime: 1))) as? [String: Any])
        XCTAssertNil(plain["nonce"], "no nonce claim when none was sent")
        XCTAssertEqual(plain["amr"] as? [String], ["transfer"])
        XCTAssertEqual(plain["acr"] as? String, "active")

        let info = UserInfo(grant: AccessGrant(account: "alice", chain: "steem", clientID: "g", scope: "openid"), frontend: "https://steemit.com")
        XCTAssertEqual(info.profile, "https://steemit.com/@alice")
    }

    func testTheFlowCookieIsOneValueOfItsShapeOrNone() {
        let v = String(repeating: "ab", count: 16)
        func value(_ header: String) -> String? { FlowCookie.value(cookieHeader: Array(header.utf8)[...]) }
        XCTAssertEqual(value("a=1; __Host-steemauth-flow=\(v); b=2"), v)
        XCTAssertEqual(value("__Host-steemauth-flow=\(v)"), v)
        XCTAssertNil(value("__Host-steemauth-flow=\(v); __Host-steemauth-flow=\(v)"), "two: one was planted")
        XCTAssertNil(value("__Host-steemauth-flow=\(v.dropLast())"))
        XCTAssertNil(value("__Host-steemauth-flow=\(v.uppercased())"))
        XCTAssertNil(value("steemauth-flow=\(v)"))
        XCTAssertNil(value(""))
        XCTAssertEqual(FlowCookie.setCookie(value: v, maxAge: 900), "__Host-steemauth-flow=\(v); Path=/; Max-Age=900; Secure; HttpOnly; SameSite=Lax")
    }

    func testEncodings() {
        XCTAssertEqual(Base64URL.encode([0xfb, 0xff, 0xfe]), "-__-")
        XCTAssertEqual(Base64URL.decode("-__-"), [0xfb, 0xff, 0xfe])
        XCTAssertEqual(Base64URL.encode([1]), "AQ")
        XCTAssertEqual(Base64URL.decode("AQ"), [1])
        XCTAssertNil(Base64URL.decode("AQ=="), "padding is not base64url")
        XCTAssertNil(Base64URL.decode("a+b/"))
        XCTAssertEqual(FormURLEncoded.parse("a=1+2&b=%41%c3%a9&c")?.map { "\($0.0)=\($0.1)" }, ["a=1 2", "b=Aé", "c="])
        XCTAssertNil(FormURLEncoded.parse("a=%4"))
        XCTAssertNil(FormURLEncoded.parse("a=%ff"), "not UTF-8")
        XCTAssertNil(FormURLEncoded.unique([("a", "1"), ("a", "2")]))
        XCTAssertEqual(FormURLEncoded.appending([("code", "x y"), ("state", "&=")], to: "https://a/cb?t=1"), "https://a/cb?t=1&code=x%20y&state=%26%3D")
        XCTAssertTrue(PKCE.isWellFormed(String(repeating: "a", count: 43)))
        XCTAssertFalse(PKCE.isWellFormed(String(repeating: "a", count: 42)))
        XCTAssertFalse(PKCE.isWellFormed(String(repeating: "a", count: 129)))
        XCTAssertFalse(PKCE.isWellFormed(String(repeating: "a", count: 42) + "+"))
    }
}
