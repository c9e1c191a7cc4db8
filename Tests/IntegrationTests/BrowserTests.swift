import Foundation
import Glibc
import XCTest

/// The whole login in headless Chromium (Tests/browser/login_flow.py): ask page, transfer, the page
/// turning into the report by itself, the stale list, the page that waits while another request
/// computes the report (it reloads itself into the report), logout. Screenshots go to .build/test-artifacts/browser.
final class BrowserTests: XCTestCase {
    func testLoginInARealBrowser() throws {
        let python = "/usr/bin/python3"
        for tool in ["/usr/bin/chromium", "/usr/bin/chromedriver", python] where !FileManager.default.isExecutableFile(atPath: tool) {
            throw XCTSkip("browser test skipped: \(tool) missing (scripts/test installs chromium, chromium-driver, python3-selenium)")
        }
        let probe = Process()
        probe.executableURL = URL(fileURLWithPath: python)
        probe.arguments = ["-c", "import selenium"]
        probe.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try probe.run(); probe.waitUntilExit()
        if probe.terminationStatus != 0 { throw XCTSkip("browser test skipped: python3-selenium missing") }

        let cluster = try Cluster()
        defer { cluster.tearDown() }
        let node = try cluster.startAll(devchain: true, blockInterval: 1)[0]
        _ = try cluster.startWatcher()
        try cluster.devchain(["seed", "--account", "alice", "--follows", "120", "--stale", "17", "--never", "3"])
        let key = SignInIntegrationTests.Keys.posting
        try cluster.devchain(["authority", "--account", "alice", "--role", "posting", "--key", key.pub + ":1"])
        let out = Cluster.repoRoot.appendingPathComponent(".build/test-artifacts/browser").path
        var args = [Cluster.repoRoot.appendingPathComponent("Tests/browser/login_flow.py").path,
                    "--url", cluster.baseURL, "--node", node, "--out", out, "--payer", "alice",
                    "--service", "steemauth.demo", "--stale", "17", "--never", "3", "--redis-port", String(cluster.redisPort)]
        // With beem installed, the page's Keychain sign-in too (a stand-in API, a real signature).
        if FileManager.default.isExecutableFile(atPath: SignInIntegrationTests.python) {
            args += ["--beem-python", SignInIntegrationTests.python, "--wif", key.wif, "--pubkey", key.pub]
        }
        // With axe-core (scripts/test fetches it), the pages' accessibility too.
        let axe = Cluster.repoRoot.appendingPathComponent(".build/axe/axe.min.js").path
        if FileManager.default.fileExists(atPath: axe) { args += ["--axe", axe] } else { print("browser: axe-core missing (.build/axe): accessibility not checked") }
        let p = try cluster.launch("browser", args, log: cluster.dir + "/browser.log", executable: python)
        Cluster.waitForExit(p, seconds: 120)
        let log = cluster.log("browser.log")
        print(log.split(separator: "\n").filter { $0.hasPrefix("browser:") }.joined(separator: "\n"))
        XCTAssertEqual(p.terminationStatus, 0, log.suffix(3000).description + "\n--- pool ---\n" + cluster.poolLog().suffix(1500)
                       + "\n--- watcher ---\n" + cluster.log("watcher.log").suffix(2000))
    }
}
