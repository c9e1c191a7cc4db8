import Foundation
import Glibc
import SteemAuthAdapters
import SteemAuthCore
import XCTest

/// The Debian package, built by scripts/package from the test's own binaries: what it holds,
/// lintian, and an install into a throw-away root (files and postinst) whose env file is edited as
/// docs/operations.md says and whose units are started from the installed files; then a paid login
/// through nginx serving the installed site file.
final class PackageTests: XCTestCase {
    /// Tags only a debug build earns (the toolchain's runtime path, debug symbols); a release
    /// package, with the runtime linked in and stripped, has neither.
    static let debugBuildOnly: Set<String> = ["custom-library-search-path", "unstripped-binary-or-object"]

    func testThePackageInstallsAndItsServicesGiveAWorkingLogin() throws {
        guard Unit.canStart, let dpkgDeb = Cluster.which("dpkg-deb"), Cluster.which("dpkg-shlibdeps") != nil,
              FileManager.default.fileExists(atPath: "/etc/nginx/fastcgi_params"), getgrnam("www-data") != nil else {
            throw XCTSkip("needs root, setpriv, dpkg-dev and Debian's nginx layout")
        }
        let cluster = try Cluster()
        defer { cluster.tearDown() }
        try cluster.startRedis()
        try cluster.startDevchain(blockInterval: 1)

        let binaries = URL(fileURLWithPath: Cluster.binary("steemauth-web")).deletingLastPathComponent().path
        let built = try Cluster.run("/bin/bash", [Cluster.repoRoot.appendingPathComponent("scripts/package").path,
                                                 "--config", "debug", "--bin", binaries, "--out", cluster.dir + "/dist"])
        XCTAssertEqual(built.status, 0, built.output)
        let deb = try XCTUnwrap(built.output.split(separator: "\n").last.map(String.init))
        XCTAssertTrue(deb.hasSuffix("/steemauth_\(SteemAuthVersion.current)_amd64.deb"), deb)

        // What it holds.
        let control = try Cluster.run(dpkgDeb, ["-f", deb]).output
        XCTAssertTrue(control.contains("Version: \(SteemAuthVersion.current)"), control)
        XCTAssertTrue(control.contains("Depends: adduser, ") && control.contains("libfcgi") && control.contains("libhiredis"), control)
        let conffiles = try Cluster.run(dpkgDeb, ["-I", deb, "conffiles"]).output.split(separator: "\n").map(String.init)
        XCTAssertEqual(Set(conffiles), ["/etc/steemauth/steemauth.env", "/etc/steemauth/oidc-clients.json",
                                        "/etc/nginx/sites-available/steemauth", "/etc/nginx/snippets/steemauth-protect-app.conf"])
        let contents = try Cluster.run(dpkgDeb, ["-c", deb]).output
        for path in ["./usr/bin/steemauth-web", "./usr/bin/steemauth-watcher", "./usr/bin/steemauth-devchain",
                     "./usr/share/steemauth/templates/ask.html", "./lib/systemd/system/steemauth-web.service",
                     "./lib/systemd/system/steemauth-watcher.service", "./usr/share/doc/steemauth/copyright"] {
            XCTAssertTrue(contents.contains(path + "\n"), path)
        }
        if let lintian = Cluster.which("lintian") {
            let report = try Cluster.run(lintian, ["--tag-display-limit", "0", deb]).output
            let errors = report.split(separator: "\n").filter { line in
                line.hasPrefix("E: ") && !Self.debugBuildOnly.contains { line.contains(": \($0) ") }
            }
            XCTAssertEqual(errors, [], report)
        }

        // Installed into a throw-away root, its postinst run there (DPKG_ROOT, as dpkg does).
        let root = cluster.dir + "/root"
        XCTAssertEqual(try Cluster.run(dpkgDeb, ["-R", deb, root]).status, 0)
        let postinst = Process()
        postinst.executableURL = URL(fileURLWithPath: "/bin/sh")
        postinst.arguments = [root + "/DEBIAN/postinst", "configure"]
        postinst.environment = ["DPKG_ROOT": root, "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"]
        try postinst.run(); postinst.waitUntilExit()
        XCTAssertEqual(postinst.terminationStatus, 0)
        let steemauthGID = try XCTUnwrap(getgrnam("steemauth")).pointee.gr_gid
        for (path, mode) in [("/etc/steemauth", 0o750), ("/etc/steemauth/steemauth.env", 0o640), ("/etc/steemauth/oidc-clients.json", 0o640)] {
            var info = stat()
            XCTAssertEqual(stat(root + path, &info), 0, path)
            XCTAssertEqual(info.st_mode & 0o777, mode_t(mode), path)
            XCTAssertEqual(info.st_uid, 0, path); XCTAssertEqual(info.st_gid, steemauthGID, path)
        }

        // The env file edited as the docs say: the account, a fresh secret, the public origin, the
        // nodes and Redis (here the test's, and the installed paths moved under the root).
        let envPath = root + "/etc/steemauth/steemauth.env"
        var settings = try String(contentsOfFile: envPath).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let edits = ["STEEMAUTH_ACCOUNT": "steemauth.demo", "STEEMAUTH_SECRET": cluster.secret,
                     "STEEMAUTH_PUBLIC_ORIGIN": cluster.baseURL, "STEEMAUTH_NODES": cluster.env["STEEMAUTH_NODES"]!,
                     "STEEMAUTH_REDIS_URL": cluster.env["STEEMAUTH_REDIS_URL"]!, "STEEMAUTH_WORKERS": "2",
                     "STEEMAUTH_TEMPLATES": root + "/usr/share/steemauth/templates"]
        settings = settings.map { line in edits.first { line.hasPrefix($0.key + "=") }.map { $0.key + "=" + $0.value } ?? line }
        try settings.joined(separator: "\n").write(toFile: envPath, atomically: false, encoding: .utf8)

        // The services from the installed units and binaries.
        let paths = ["/usr/bin/steemauth", "/usr/share/steemauth", "/etc/steemauth", "/run/steemauth"]
        let web = try Unit(path: root + "/lib/systemd/system/steemauth-web.service", root: root, paths: paths)
        let watcher = try Unit(path: root + "/lib/systemd/system/steemauth-watcher.service", root: root, paths: paths)
        let runtime = root + "/run/" + web.value("RuntimeDirectory")!
        try FileManager.default.createDirectory(atPath: runtime, withIntermediateDirectories: true)
        XCTAssertEqual(chown(runtime, try XCTUnwrap(getpwnam("steemauth")).pointee.pw_uid, steemauthGID), 0)
        XCTAssertEqual(chmod(runtime, mode_t(web.value("RuntimeDirectoryMode")!, radix: 8)!), 0)
        for (unit, name) in [(web, "web"), (watcher, "watcher")] {
            let check = try unit.start("ExecStartPre", log: cluster.dir + "/\(name)-check.log")
            XCTAssertTrue(Cluster.waitForExit(check, seconds: 60))
            XCTAssertEqual(check.terminationStatus, 0, cluster.log("\(name)-check.log"))
        }
        let pool = try web.start("ExecStart", log: cluster.dir + "/pool.log")
        defer { Cluster.terminate(pool, signal: SIGTERM) }
        let chainWatcher = try watcher.start("ExecStart", log: cluster.dir + "/watcher.log")
        defer { Cluster.terminate(chainWatcher, signal: SIGTERM) }
        try waitUntil("the pool's workers", seconds: 30) { Cluster.children(of: pool.processIdentifier).count >= 2 || !pool.isRunning }
        XCTAssertTrue(pool.isRunning, cluster.poolLog())

        // nginx with the installed site file; a paid login.
        cluster.env["STEEMAUTH_LISTEN"] = "unix:" + runtime + "/web.sock"
        try cluster.startDebianStyleNginx(site: try String(contentsOfFile: root + "/etc/nginx/sites-available/steemauth"))
        let b = Browser(cluster.baseURL)
        let memo = try b.startLogin()
        try cluster.devchain(["transfer", "--from", "alice", "--to", "steemauth.demo", "--amount", "0.001 STEEM", "--memo", memo])
        try waitUntil("status says bound", seconds: 30, interval: 0.05) { try b.status().1["bound"] as? Bool == true }
        XCTAssertTrue(try b.get("/steemauth").text.contains("Logged in as @alice"), cluster.poolLog())
    }

    /// dpkg itself on this machine: removing the package keeps the edited conffiles, as Debian does,
    /// and purging removes them. Runs as root only (CI does); STEEMAUTH_TEST_PACKAGE_INSTALL=0 skips it.
    func testRemovingKeepsTheEditedConffilesAndPurgingRemovesThem() throws {
        guard getuid() == 0, ProcessInfo.processInfo.environment["STEEMAUTH_TEST_PACKAGE_INSTALL"] != "0",
              let dpkg = Cluster.which("dpkg"), Cluster.which("dpkg-shlibdeps") != nil else {
            throw XCTSkip("needs root and dpkg-dev (it installs the package on this machine)")
        }
        guard !FileManager.default.fileExists(atPath: "/etc/steemauth") else {
            throw XCTSkip("/etc/steemauth exists: this machine has a steemauth install of its own")
        }
        let dir = NSTemporaryDirectory() + "steemauth-dpkg-" + Hex.encode(SystemRandom.bytes(6))
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let binaries = URL(fileURLWithPath: Cluster.binary("steemauth-web")).deletingLastPathComponent().path
        let built = try Cluster.run("/bin/bash", [Cluster.repoRoot.appendingPathComponent("scripts/package").path,
                                                 "--config", "debug", "--bin", binaries, "--out", dir])
        XCTAssertEqual(built.status, 0, built.output)
        let deb = try XCTUnwrap(built.output.split(separator: "\n").last.map(String.init))
        defer { _ = try? Cluster.run(dpkg, ["--purge", "steemauth"]) }
        let installed = try Cluster.run(dpkg, ["--install", deb])
        XCTAssertEqual(installed.status, 0, installed.output)
        XCTAssertEqual(try Cluster.run("/usr/bin/steemauth-web", ["--version"]).output.trimmingCharacters(in: .whitespacesAndNewlines),
                       SteemAuthVersion.current)
        let env = "/etc/steemauth/steemauth.env"
        try (try String(contentsOfFile: env) + "STEEMAUTH_ACCOUNT=edited.by.admin\n").write(toFile: env, atomically: false, encoding: .utf8)
        XCTAssertEqual(try Cluster.run(dpkg, ["--remove", "steemauth"]).status, 0)
        XCTAssertFalse(FileManager.default.fileExists(atPath: "/usr/bin/steemauth-web"), "the program is gone")
        XCTAssertTrue(try String(contentsOfFile: env).contains("edited.by.admin"), "the edited conffile stays")
        XCTAssertEqual(try Cluster.run(dpkg, ["--purge", "steemauth"]).status, 0)
        XCTAssertFalse(FileManager.default.fileExists(atPath: env), "purge removes the conffiles")
    }
}
