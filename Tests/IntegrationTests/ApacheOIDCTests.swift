import Foundation
import SteemAuthAdapters
import SteemAuthCore
import XCTest

/// Apache with Debian's mod_auth_openidc as a relying party, configured as docs/oidc.md shows:
/// a protected page shows REMOTE_USER = the account after a paid login at steemauth, and the
/// module's logout ends the login at steemauth too (the next visit asks for a new proof).
final class ApacheOIDCTests: XCTestCase {
    static let modules = "/usr/lib/apache2/modules"
    static let secret = "apache-secret-0123456789abcdef"

    /// The docs' configuration, with this test's addresses: the block between the markers in docs/oidc.md.
    static func documentedConfig() throws -> String {
        let doc = try String(contentsOf: Cluster.repoRoot.appendingPathComponent("docs/oidc.md"))
        let start = try XCTUnwrap(doc.range(of: "```apache\n"))
        let end = try XCTUnwrap(doc.range(of: "\n```\n", range: start.upperBound..<doc.endIndex))
        return String(doc[start.upperBound..<end.lowerBound])
    }

    func testModAuthOpenIDCShowsTheAccountAsRemoteUserAndLogsOutAtSteemauth() throws {
        guard let apache = Cluster.which("apache2"), FileManager.default.fileExists(atPath: Self.modules + "/mod_auth_openidc.so") else {
            throw XCTSkip("apache2 and libapache2-mod-auth-openidc are not installed (scripts/test installs them)")
        }
        let cluster = try Cluster()
        defer { cluster.tearDown() }
        try cluster.startRedis()
        try cluster.startDevchain(blockInterval: 1)
        try cluster.startNginx()
        let apachePort = Cluster.freePort()
        let app = "http://127.0.0.1:\(apachePort)"
        try OIDCTests.makeKey(cluster.dir + "/oidc-key.pem")
        let clients: [[String: Any]] = [["client_id": "apache", "client_name": "Apache", "client_secret": Self.secret,
                                          "token_endpoint_auth_method": "client_secret_basic",
                                          "redirect_uris": [app + "/protected/redirect_uri"],
                                          "post_logout_redirect_uris": [app + "/loggedout.html"]]]
        try JSONSerialization.data(withJSONObject: clients).write(to: URL(fileURLWithPath: cluster.dir + "/clients.json"))
        try cluster.startPool(extraEnv: ["STEEMAUTH_OIDC_ISSUER": cluster.baseURL, "STEEMAUTH_OIDC_CLIENTS": cluster.dir + "/clients.json",
                                         "STEEMAUTH_OIDC_KEY": cluster.dir + "/oidc-key.pem"])
        _ = try cluster.startWatcher()

        // Apache: the documented mod_auth_openidc block, around it what any Apache has (a port,
        // the modules, a CGI that prints REMOTE_USER, the page logout lands on).
        let docroot = cluster.dir + "/www"
        try FileManager.default.createDirectory(atPath: docroot, withIntermediateDirectories: true)
        try "logged out\n".write(toFile: docroot + "/loggedout.html", atomically: true, encoding: .utf8)
        try "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\nREMOTE_USER=%s\\n' \"$REMOTE_USER\"\n"
            .write(toFile: cluster.dir + "/whoami.cgi", atomically: true, encoding: .utf8)
        chmod(cluster.dir + "/whoami.cgi", 0o755)
        let documented = try Self.documentedConfig()
            .replacingOccurrences(of: "https://login.example.org", with: cluster.baseURL)
            .replacingOccurrences(of: "https://app.example.org", with: app)
            .replacingOccurrences(of: "<the client_secret from oidc-clients.json>", with: Self.secret)
            .replacingOccurrences(of: "<openssl rand -hex 32>", with: Hex.encode(SystemRandom.bytes(32)))
        let modules = ["mpm_prefork", "authz_core", "authz_user", "authn_core", "alias", "cgi", "mime", "auth_openidc"]
        try ("""
        ServerName 127.0.0.1
        Listen 127.0.0.1:\(apachePort)
        PidFile \(cluster.dir)/apache.pid
        DefaultRuntimeDir \(cluster.dir)
        ErrorLog \(cluster.dir)/apache-error.log
        LogLevel warn auth_openidc:info
        User www-data
        Group www-data
        TypesConfig /etc/mime.types
        """ + "\n" + modules.map { "LoadModule \($0)_module \(Self.modules)/mod_\($0).so" }.joined(separator: "\n") + """

        DocumentRoot \(docroot)
        <Directory \(docroot)>
            Require all granted
        </Directory>
        ScriptAlias /protected/whoami \(cluster.dir)/whoami.cgi
        <Directory \(cluster.dir)>
            Require all granted
        </Directory>

        """ + documented + "\n").write(toFile: cluster.dir + "/apache.conf", atomically: true, encoding: .utf8)
        let syntax = try Cluster.run(apache, ["-t", "-f", cluster.dir + "/apache.conf"])
        XCTAssertEqual(syntax.status, 0, syntax.output)
        let server = try cluster.launch("apache", ["-f", cluster.dir + "/apache.conf", "-DFOREGROUND"], log: cluster.dir + "/apache.out",
                                        executable: apache)
        cluster.extraProcesses.append(server)
        try waitUntil("apache listens", seconds: 30) { Cluster.canConnect(port: apachePort) || !server.isRunning }
        XCTAssertTrue(server.isRunning, cluster.log("apache.out") + cluster.log("apache-error.log"))

        // A browser with one cookie jar for both sites.
        let browser = HTTPClient(cookieJar: true)
        func get(_ url: String) throws -> HTTPClient.Response { try browser.request(url: url) }
        func absolute(_ location: String, from url: String) -> String {
            if location.hasPrefix("http") { return location }
            let origin = url.components(separatedBy: "/").prefix(3).joined(separator: "/")
            return origin + location
        }
        /// Follows redirects from `url`; the last answer and its URL.
        func follow(_ url: String) throws -> (HTTPClient.Response, String) {
            var url = url, r = try get(url)
            for _ in 0..<10 {
                guard (301...303).contains(r.status) || r.status == 307, let location = r.header("Location") else { break }
                url = absolute(location, from: url); r = try get(url)
            }
            return (r, url)
        }

        // Not logged in: Apache sends the browser to steemauth, which asks for a proof for "Apache".
        let (ask, askURL) = try follow(app + "/protected/whoami")
        XCTAssertTrue(askURL.hasPrefix(cluster.baseURL + "/steemauth"), askURL)
        XCTAssertTrue(ask.text.contains("Apache"), "the ask page names the app")
        let memo = try XCTUnwrap(Browser.memo(in: ask.text), ask.text)
        try cluster.devchain(["transfer", "--from", "alice", "--to", "steemauth.demo", "--amount", "0.001 STEEM", "--memo", memo])
        try waitUntil("bound", seconds: 30, interval: 0.05) {
            (try? JSONSerialization.jsonObject(with: Data(get(cluster.baseURL + "/steemauth/status").body)) as? [String: Any])??["bound"] as? Bool == true
        }
        // The ask page's next load sends the browser back to Apache with a code; Apache redeems it.
        let (page, pageURL) = try follow(cluster.baseURL + "/steemauth")
        XCTAssertEqual(pageURL, app + "/protected/whoami", cluster.log("apache-error.log"))
        XCTAssertEqual(page.text, "REMOTE_USER=alice\n", cluster.log("apache-error.log"))
        XCTAssertEqual(try get(app + "/protected/whoami").text, "REMOTE_USER=alice\n")

        // Logout at Apache goes on to steemauth's end-session page, which asks; its form logs out.
        let (confirm, confirmURL) = try follow(app + "/protected/redirect_uri?logout=" + (app + "/loggedout.html").percentEncodedQueryValue)
        XCTAssertTrue(confirmURL.hasPrefix(cluster.baseURL + "/steemauth/oidc/logout"), confirmURL)
        let form = try XCTUnwrap(Self.hiddenFields(confirm.text), confirm.text)
        let post = try browser.request("POST", url: cluster.baseURL + "/steemauth/oidc/logout",
                                       headers: ["Origin: " + cluster.baseURL, "Content-Type: application/x-www-form-urlencoded"],
                                       body: Array(form.utf8))
        XCTAssertEqual(post.status, 303, post.text)
        XCTAssertEqual(post.header("Location"), app + "/loggedout.html")
        // Both logins are over: the protected page asks steemauth again, which asks for a new proof.
        let (again, againURL) = try follow(app + "/protected/whoami")
        XCTAssertTrue(againURL.hasPrefix(cluster.baseURL + "/steemauth"), againURL)
        XCTAssertNotNil(Browser.memo(in: again.text), "a new proof is asked for")
    }

    /// The confirmation form's hidden fields, form-encoded.
    static func hiddenFields(_ html: String) -> String? {
        var fields: [String] = []
        var rest = html[...]
        while let input = rest.range(of: "<input type=\"hidden\" name=\"") {
            let after = rest[input.upperBound...]
            guard let nameEnd = after.firstIndex(of: "\""), let valueStart = after.range(of: "value=\""),
                  let valueEnd = after[valueStart.upperBound...].firstIndex(of: "\"") else { return nil }
            let value = String(after[valueStart.upperBound..<valueEnd]).replacingOccurrences(of: "&amp;", with: "&")
                .replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&#39;", with: "'")
            fields.append(String(after[..<nameEnd]) + "=" + value.percentEncodedQueryValue)
            rest = after[valueEnd...]
        }
        return fields.isEmpty ? nil : fields.joined(separator: "&")
    }
}

extension String {
    var percentEncodedQueryValue: String {
        addingPercentEncoding(withAllowedCharacters: CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? self
    }
}
