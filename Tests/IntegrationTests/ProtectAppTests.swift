import Foundation
import SteemAuthAdapters
import SteemAuthCore
import XCTest

/// The `auth_request` recipe as a sysadmin deploys it: Debian's nginx.conf shape, the shipped site
/// file in sites-enabled, nginx/protect-app.conf included where the site file says, nginx's workers
/// as www-data reaching the pool's socket through STEEMAUTH_SOCKET_GROUP. An echo backend stands in
/// for the app at 127.0.0.1:3000 and says what it received.
final class ProtectAppTests: XCTestCase {
    var cluster: Cluster!

    override func setUpWithError() throws {
        guard FileManager.default.fileExists(atPath: "/etc/nginx/fastcgi_params"), Cluster.which("python3") != nil else {
            throw XCTSkip("Debian's nginx layout or python3 missing")
        }
        cluster = try Cluster(extraEnv: ["STEEMAUTH_SOCKET_MODE": "660", "STEEMAUTH_SOCKET_GROUP": "www-data"])
    }
    override func tearDown() {
        if let cluster, (testRun?.failureCount ?? 0) > 0 {
            print("--- nginx error log ---\n" + cluster.log("nginx-error.log").suffix(3000))
            print("--- pool log ---\n" + cluster.poolLog().suffix(3000))
        }
        cluster?.tearDown()
    }

    /// The echo backend: every request is answered 200 with what the app saw, as JSON, and counted.
    static let echoBackend = #"""
    import http.server, json, sys
    class Echo(http.server.BaseHTTPRequestHandler):
        def answer(self):
            length = int(self.headers.get("Content-Length") or 0)
            seen = {"method": self.command, "path": self.path,
                    "account": self.headers.get_all("X-Steem-Account") or [],
                    "cookie": self.headers.get_all("Cookie") or [],
                    "body": self.rfile.read(length).decode() if length else ""}
            with open(sys.argv[2], "a") as log: log.write(json.dumps(seen) + "\n")
            out = json.dumps(seen).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)
        do_GET = do_POST = answer
        def log_message(self, *args): pass
    http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Echo).serve_forever()
    """#

    /// `microcacheIn`: the recipe's optional microcache turned on as its comment says (its cache path
    /// line in the http block, pointed at this directory, and its four lines uncommented).
    func startDebianStyleNginx(appPort: Int, microcacheIn cacheDir: String? = nil) throws {
        var recipe = try String(contentsOf: Cluster.repoRoot.appendingPathComponent("nginx/protect-app.conf"))
            .replacingOccurrences(of: "http://127.0.0.1:3000", with: "http://127.0.0.1:\(appPort)")
        var httpBlock = ""
        if let cacheDir {
            let pathLine = try XCTUnwrap(recipe.components(separatedBy: "\n").first { $0.contains("#   fastcgi_cache_path ") })
            httpBlock = pathLine.replacingOccurrences(of: "#   ", with: "")
                .replacingOccurrences(of: "/run/nginx-steemauth-verify", with: cacheDir)
            let lines = ["fastcgi_cache steemauth_verify;", "fastcgi_cache_key $http_cookie;", "fastcgi_cache_valid 200 1s;",
                         "fastcgi_ignore_headers Cache-Control Expires;"]
            for line in lines {
                XCTAssertTrue(recipe.contains("    # " + line + "\n"), "the recipe offers \(line)")
                recipe = recipe.replacingOccurrences(of: "    # " + line + "\n", with: "    " + line + "\n")
            }
        }
        let site = try String(contentsOf: Cluster.repoRoot.appendingPathComponent("nginx/steemauth.site.conf"))
        try cluster.startDebianStyleNginx(site: site, protectAppRecipe: recipe, httpBlock: httpBlock)
    }

    /// Starts the echo backend standing in for the app; returns its port.
    func startEchoApp() throws -> Int {
        let appPort = Cluster.freePort()
        try Self.echoBackend.write(toFile: cluster.dir + "/echo.py", atomically: true, encoding: .utf8)
        cluster.extraProcesses.append(try cluster.launch("app", [cluster.dir + "/echo.py", String(appPort), cluster.dir + "/app-requests.jsonl"],
                                                         log: cluster.dir + "/app.log", executable: Cluster.which("python3")!))
        try waitUntil("the app listens", seconds: 30) { Cluster.canConnect(port: appPort) }
        return appPort
    }

    /// A GET of the protected app with exactly these cookies: the account the app received, or nil
    /// when nginx sent the visitor to the login (303) instead.
    func accountSeenByApp(cookies: String?) throws -> String? {
        let r = try HTTPClient().request("GET", url: cluster.baseURL + "/members/page", headers: cookies.map { ["Cookie: " + $0] } ?? [])
        if r.status == 303 { return nil }
        XCTAssertEqual(r.status, 200, r.text)
        let seen = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.body)) as? [String: Any], r.text)
        let accounts = try XCTUnwrap(seen["account"] as? [String])
        XCTAssertEqual(accounts.count, 1, r.text)
        return accounts.first
    }

    /// With the microcache on, a cached answer is only ever the very same cookies' own, a refusal is
    /// never kept, and a logout closes the app once the cache time has passed (polled for, bounded).
    func testTheMicrocacheNeverCrossesCookiesNeverKeepsARefusalAndLogoutStillCloses() throws {
        try cluster.startRedis()
        try cluster.startDevchain(blockInterval: 1)
        try cluster.startPool()
        let cacheDir = cluster.dir + "/verify-cache"
        try startDebianStyleNginx(appPort: try startEchoApp(), microcacheIn: cacheDir)
        func cacheFiles() -> [String] {
            (FileManager.default.enumerator(atPath: cacheDir)?.allObjects as? [String] ?? [])
                .map { cacheDir + "/" + $0 }.filter { !((try? FileManager.default.attributesOfItem(atPath: $0)[.type] as? FileAttributeType) == .typeDirectory) }
        }
        let unboundBrowser = Browser(cluster.baseURL)
        _ = try unboundBrowser.startLogin()
        let unbound = CookieSigner.name + "=" + (try XCTUnwrap(unboundBrowser.cookie))
        let alice = try cluster.loggedIn(as: "alice"), bob = try cluster.loggedIn(as: "bob")
        let aliceCookie = CookieSigner.name + "=" + (try XCTUnwrap(alice.cookie))
        let bobCookie = CookieSigner.name + "=" + (try XCTUnwrap(bob.cookie))

        XCTAssertNil(try accountSeenByApp(cookies: unbound))
        XCTAssertEqual(try accountSeenByApp(cookies: aliceCookie), "alice")
        XCTAssertFalse(cacheFiles().isEmpty, "alice's answer is cached")
        // Right after alice's answer was cached: no other cookie, and no cookie at all, gets it.
        var forged = Array(aliceCookie.utf8)
        forged[forged.count - 1] = forged.last == UInt8(ascii: "0") ? UInt8(ascii: "1") : UInt8(ascii: "0")
        XCTAssertNil(try accountSeenByApp(cookies: nil))
        XCTAssertNil(try accountSeenByApp(cookies: ""))
        XCTAssertNil(try accountSeenByApp(cookies: unbound))
        XCTAssertNil(try accountSeenByApp(cookies: String(decoding: forged, as: UTF8.self)), "a cookie with another MAC")
        XCTAssertEqual(try accountSeenByApp(cookies: bobCookie), "bob")
        XCTAssertEqual(try accountSeenByApp(cookies: "app_pref=dark; " + aliceCookie), "alice")
        XCTAssertEqual(try accountSeenByApp(cookies: aliceCookie), "alice")
        XCTAssertEqual(try accountSeenByApp(cookies: bobCookie), "bob")
        // Only logged-in answers were kept, each under its own cookies.
        for file in cacheFiles() {
            let text = String(decoding: try XCTUnwrap(FileManager.default.contents(atPath: file)), as: UTF8.self)
            XCTAssertFalse(text.contains("Status: 401"), "a refusal was cached: \(file)")
            XCTAssertTrue(text.contains("KEY: " + aliceCookie + "\n") || text.contains("KEY: " + bobCookie + "\n")
                          || text.contains("KEY: app_pref=dark; " + aliceCookie + "\n"), "an entry under other cookies: \(text.prefix(400))")
        }

        // Logout: within the cache time the app closes for alice's cookie, and stays closed; bob stays in.
        XCTAssertEqual(try alice.post("/steemauth/logout", headers: ["Origin: " + cluster.baseURL]).status, 303)
        try waitUntil("the logged-out cookie is refused", seconds: 30, interval: 0.05) { try accountSeenByApp(cookies: aliceCookie) == nil }
        for _ in 0..<3 { XCTAssertNil(try accountSeenByApp(cookies: aliceCookie), "a refusal, then a cached 200 again") }
        XCTAssertEqual(try accountSeenByApp(cookies: bobCookie), "bob")
        XCTAssertFalse(cluster.log("nginx-error.log").contains("[crit]"), cluster.log("nginx-error.log"))
    }

    func testTheRecipeClosesTheAppUntilLoginPassesTheAccountAndNeverTheSessionCookie() throws {
        try cluster.startRedis()
        try cluster.startDevchain(blockInterval: 1)
        try cluster.startPool()
        _ = try cluster.startWatcher()
        try startDebianStyleNginx(appPort: try startEchoApp())
        let base = cluster.baseURL
        let origin = "Origin: " + base
        func appRequests() -> Int { cluster.log("app-requests.jsonl").split(separator: "\n").count }
        /// A request to the app carrying exactly these cookies (the jar's and the app's own, in this order).
        func toApp(_ method: String, _ path: String, cookies: String?, body: String? = nil) throws -> HTTPClient.Response {
            var headers = ["X-Steem-Account: mallory"]        // a client-sent copy the app must never see
            if let cookies { headers.append("Cookie: " + cookies) }
            if body != nil { headers.append("Content-Type: application/x-www-form-urlencoded") }
            return try HTTPClient().request(method, url: base + path, headers: headers, body: body.map { Array($0.utf8) })
        }
        func seen(_ r: HTTPClient.Response) throws -> [String: Any] {
            try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.body)) as? [String: Any], r.text)
        }

        // Before any login: no cookie at all, then an unbound session. GET and POST both go to the login page.
        let b = Browser(base)
        for (method, cookies) in [("GET", nil), ("POST", "app_pref=dark")] as [(String, String?)] {
            let r = try toApp(method, "/members/page", cookies: cookies, body: method == "POST" ? "a=1" : nil)
            XCTAssertEqual(r.status, 303, "\(method) before login: \(r.text)")
            XCTAssertEqual(r.header("Location").flatMap { URL(string: $0)?.path }, "/", "to the login")
        }
        let memo = try b.startLogin()
        let unbound = "\(CookieSigner.name)=" + (try XCTUnwrap(b.cookie))
        for method in ["GET", "POST"] {
            let r = try toApp(method, "/members/page", cookies: "app_pref=dark; " + unbound, body: method == "POST" ? "a=1" : nil)
            XCTAssertEqual(r.status, 303, "\(method) with an unbound session: \(r.text)")
        }
        XCTAssertEqual(appRequests(), 0, "the app saw nothing before the login")

        // A paid login; the next page rotates the id.
        try cluster.devchain(["transfer", "--from", "alice", "--to", "steemauth.demo", "--amount", "0.001 STEEM", "--memo", memo])
        try waitUntil("status says bound", seconds: 30, interval: 0.05) { try b.status().1["bound"] as? Bool == true }
        XCTAssertTrue(try b.get("/steemauth").text.contains("Logged in as @alice"))
        let session = "\(CookieSigner.name)=" + (try XCTUnwrap(b.cookie))

        // Logged in: the app gets the account (not the client's copy) and its own cookies, never the session's.
        for cookies in ["app_pref=dark; \(session); theme=x", "\(session); app_pref=dark; theme=x", "app_pref=dark; theme=x; \(session)"] {
            let get = try seen(try toApp("GET", "/members/page?q=1", cookies: cookies))
            XCTAssertEqual(get["method"] as? String, "GET")
            XCTAssertEqual(get["path"] as? String, "/members/page?q=1")
            XCTAssertEqual(get["account"] as? [String], ["alice"])
            XCTAssertEqual(get["cookie"] as? [String], ["app_pref=dark; theme=x"], "sent: \(cookies)")
        }
        let alone = try seen(try toApp("GET", "/members/", cookies: session))
        XCTAssertEqual(alone["account"] as? [String], ["alice"])
        XCTAssertEqual(alone["cookie"] as? [String], [], "no Cookie header at all when the session's was the only one")
        let post = try seen(try toApp("POST", "/members/form", cookies: "app_pref=dark; " + session, body: "a=1&b=2"))
        XCTAssertEqual(post["method"] as? String, "POST")
        XCTAssertEqual(post["body"] as? String, "a=1&b=2", "the app gets the body; verify never did")
        XCTAssertEqual(post["account"] as? [String], ["alice"])
        XCTAssertEqual(post["cookie"] as? [String], ["app_pref=dark"])
        let served = appRequests()
        XCTAssertFalse(cluster.log("app-requests.jsonl").contains(CookieSigner.name + "="), "no session cookie ever reached the app")
        XCTAssertFalse(cluster.log("app-requests.jsonl").contains("mallory"))

        // Logout closes the app again, for GET and POST alike.
        XCTAssertEqual(try b.post("/steemauth/logout", headers: [origin]).status, 303)
        for method in ["GET", "POST"] {
            let r = try toApp(method, "/members/page", cookies: "app_pref=dark; " + session, body: method == "POST" ? "a=1" : nil)
            XCTAssertEqual(r.status, 303, "\(method) after logout: \(r.text)")
            XCTAssertEqual(r.header("Location").flatMap { URL(string: $0)?.path }, "/", "to the login")
        }
        XCTAssertEqual(appRequests(), served, "the app saw nothing after the logout")
        XCTAssertFalse(cluster.log("nginx-error.log").contains("[crit]"), cluster.log("nginx-error.log"))
    }

    /// The docs show the shipped recipe itself, under the heading the issue names.
    func testTheDocsShowTheShippedRecipe() throws {
        let recipe = try String(contentsOf: Cluster.repoRoot.appendingPathComponent("nginx/protect-app.conf"))
        let doc = try String(contentsOf: Cluster.repoRoot.appendingPathComponent("docs/operations.md"))
        let heading = try XCTUnwrap(doc.range(of: "\n## Protecting another app behind the same nginx with the login\n"))
        let fence = try XCTUnwrap(doc.range(of: "```nginx\n", range: heading.upperBound..<doc.endIndex))
        let end = try XCTUnwrap(doc.range(of: "\n```\n", range: fence.upperBound..<doc.endIndex))
        XCTAssertEqual(String(doc[fence.upperBound..<end.lowerBound]) + "\n", recipe)
    }
}
