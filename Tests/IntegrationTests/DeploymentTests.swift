import Foundation
import Glibc
import SteemAuthAdapters
import SteemAuthCore
import XCTest

/// The shipped deployment: the systemd units (verified, their exposure rated, each ExecStart run as
/// the unit says), the nginx site file, the documented settings.
final class DeploymentTests: XCTestCase {
    static let units = ["steemauth-web.service", "steemauth-watcher.service"]
    static let analyze = "/usr/bin/systemd-analyze"

    func testSystemdUnitsVerify() throws {
        guard FileManager.default.isExecutableFile(atPath: Self.analyze) else { throw XCTSkip("systemd-analyze missing: unit check skipped") }
        let dir = NSTemporaryDirectory() + "steemauth-units-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = FileManager.default.createFile(atPath: dir + "/steemauth.env", contents: Data())
        let binaries = URL(fileURLWithPath: Cluster.binary("steemauth-web")).deletingLastPathComponent().path + "/"
        var units: [String] = []
        for name in Self.units {
            let text = try String(contentsOf: Cluster.repoRoot.appendingPathComponent("deploy/" + name))
                .replacingOccurrences(of: "/opt/steemauth/bin/", with: binaries)
                .replacingOccurrences(of: "/etc/steemauth/steemauth.env", with: dir + "/steemauth.env")
                .replacingOccurrences(of: "WorkingDirectory=/opt/steemauth", with: "WorkingDirectory=" + dir)
            for setting in ["NoNewPrivileges=yes", "ProtectSystem=strict", "User=steemauth", "SystemCallFilter=@system-service",
                            "ProtectProc=invisible", "ProcSubset=pid", "RestrictAddressFamilies=", "MemoryMax=", "TasksMax=", "UMask="] {
                XCTAssertTrue(text.contains(setting), "\(name) sets \(setting)")
            }
            try text.write(toFile: dir + "/" + name, atomically: true, encoding: .utf8)
            units.append(dir + "/" + name)
        }
        let (status, output) = try Cluster.run(Self.analyze, ["verify"] + units)
        print("systemd-analyze verify: exit \(status)\n\(output)")
        XCTAssertEqual(status, 0, output)
    }

    /// `systemd-analyze security --offline=true` rates each shipped unit, as shipped, 2.0 or lower.
    func testSystemdUnitsExposureIsAtMostTwo() throws {
        guard FileManager.default.isExecutableFile(atPath: Self.analyze) else { throw XCTSkip("systemd-analyze missing: exposure check skipped") }
        for name in Self.units {
            let path = Cluster.repoRoot.appendingPathComponent("deploy/" + name).path
            let (status, output) = try Cluster.run(Self.analyze, ["security", "--offline=true", "--threshold=20", "--no-pager", path])
            let line = try XCTUnwrap(output.split(separator: "\n").first { $0.contains("Overall exposure level") }, output)
            let score = try XCTUnwrap(line.split(separator: ":").last?.split(separator: " ").first.flatMap { Double($0) }, String(line))
            print("\(name): exposure \(score)")
            XCTAssertLessThanOrEqual(score, 2.0, output)
            XCTAssertEqual(status, 0, output)
        }
    }

    /// Each unit's ExecStartPre and ExecStart, run as systemd would as far as that goes without systemd
    /// as PID 1: the unit's user, group and supplementary groups (setpriv, no new privileges, no
    /// capabilities), its environment (Environment=, then the EnvironmentFile), its working and
    /// runtime directories and its umask, from an install laid out as docs/operations.md says
    /// (binaries and templates under /opt/steemauth, secrets 0640 root:steemauth under /etc/steemauth),
    /// re-rooted in a temp directory. The web pool's socket must reach nginx's user (www-data) through
    /// its group, and www-data must read neither the env file nor the OIDC clients file. Needs root.
    func testEachUnitStartsAsItsUserWithItsEnvironmentAndKeepsItsSecretsFromNginx() throws {
        guard getuid() == 0, let setpriv = Cluster.which("setpriv"), let python = Cluster.which("python3"), Unit.canStart,
              let openssl = Cluster.which("openssl") else { throw XCTSkip("needs root, setpriv, python3 and openssl") }
        guard getgrnam("www-data") != nil, getgrnam("redis") != nil else { throw XCTSkip("groups www-data and redis are installed with nginx and redis-server") }
        if getpwnam("steemauth") == nil {       // the docs' first step (the Debian package makes the same user)
            let (status, output) = try Cluster.run("/usr/sbin/useradd", ["--system", "--no-create-home", "--home-dir", "/nonexistent",
                                                                         "--shell", "/usr/sbin/nologin", "--user-group", "steemauth"])
            XCTAssertEqual(status, 0, output)
        }
        let cluster = try Cluster()
        defer { cluster.tearDown() }
        try cluster.startRedis()
        try cluster.startDevchain()
        let fm = FileManager.default
        let root = cluster.dir + "/root"
        for sub in ["/opt/steemauth/bin", "/etc/steemauth", "/run"] { try fm.createDirectory(atPath: root + sub, withIntermediateDirectories: true) }
        try fm.setAttributes([.posixPermissions: 0o755], ofItemAtPath: cluster.dir)
        for binary in ["steemauth-web", "steemauth-watcher"] { try fm.copyItem(atPath: Cluster.binary(binary), toPath: root + "/opt/steemauth/bin/" + binary) }
        try fm.copyItem(atPath: Cluster.repoRoot.appendingPathComponent("templates").path, toPath: root + "/opt/steemauth/templates")
        let steemauthGID = getgrnam("steemauth")!.pointee.gr_gid, steemauthUID = getpwnam("steemauth")!.pointee.pw_uid
        /// A secret file as the docs install it: 0640 root:steemauth.
        func installSecret(_ name: String, _ text: String) throws {
            let path = root + "/etc/steemauth/" + name
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            XCTAssertEqual(chown(path, 0, steemauthGID), 0); XCTAssertEqual(chmod(path, 0o640), 0)
        }
        try installSecret("oidc-clients.json", """
            [{"client_id": "app", "client_secret": "\(Hex.encode(SystemRandom.bytes(16)))", "token_endpoint_auth_method": "client_secret_basic",
              "redirect_uris": ["https://app.example.org/callback"]}]
            """)
        let (keyStatus, keyOutput) = try Cluster.run(openssl, ["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
                                                               "-out", root + "/etc/steemauth/oidc-key.pem"])
        XCTAssertEqual(keyStatus, 0, keyOutput)
        XCTAssertEqual(chown(root + "/etc/steemauth/oidc-key.pem", 0, steemauthGID), 0); XCTAssertEqual(chmod(root + "/etc/steemauth/oidc-key.pem", 0o640), 0)
        try installSecret("steemauth.env", """
            STEEMAUTH_ACCOUNT=steemauth.demo
            STEEMAUTH_SECRET=\(cluster.secret)
            STEEMAUTH_CHAIN=steem
            STEEMAUTH_NODES=\(cluster.env["STEEMAUTH_NODES"]!)
            STEEMAUTH_REDIS_URL=\(cluster.env["STEEMAUTH_REDIS_URL"]!)
            STEEMAUTH_WORKERS=2
            STEEMAUTH_TEMPLATES=/opt/steemauth/templates
            STEEMAUTH_OIDC_ISSUER=http://127.0.0.1:8080
            STEEMAUTH_OIDC_CLIENTS=/etc/steemauth/oidc-clients.json
            STEEMAUTH_OIDC_KEY=/etc/steemauth/oidc-key.pem

            """.replacingOccurrences(of: "=/", with: "=" + root + "/"))

        func runToEnd(_ unit: Unit, _ key: String) throws {
            let log = cluster.dir + "/" + key + "-" + (unit.value("ExecStart")?.split(separator: "/").last.map(String.init) ?? "unit") + ".log"
            let p = try unit.start(key, log: log)
            XCTAssertTrue(Cluster.waitForExit(p, seconds: 60))
            XCTAssertEqual(p.terminationStatus, 0, "\(key): " + ((try? String(contentsOfFile: log)) ?? ""))
        }
        func asNginx(_ arguments: [String]) throws -> Int32 {
            try Cluster.run(setpriv, ["--reuid=www-data", "--regid=www-data", "--clear-groups", "--"] + arguments).status
        }

        // The pool.
        let web = try Unit(shipped: "steemauth-web.service", root: root)
        let runtime = root + "/run/" + web.value("RuntimeDirectory")!
        try fm.createDirectory(atPath: runtime, withIntermediateDirectories: false)
        XCTAssertEqual(chown(runtime, steemauthUID, steemauthGID), 0)
        XCTAssertEqual(chmod(runtime, mode_t(web.value("RuntimeDirectoryMode")!, radix: 8)!), 0)
        try runToEnd(web, "ExecStartPre")
        let pool = try web.start("ExecStart", log: cluster.dir + "/pool.log")
        defer { Cluster.terminate(pool, signal: SIGTERM) }
        let socket = runtime + "/web.sock"
        try waitUntil("the pool's socket", seconds: 30) { fm.fileExists(atPath: socket) || !pool.isRunning }
        XCTAssertTrue(pool.isRunning, cluster.poolLog())
        // The socket is given its group and mode before the first worker is forked.
        try waitUntil("the pool's workers", seconds: 30) { Cluster.children(of: pool.processIdentifier).count >= 2 }
        var info = stat()
        XCTAssertEqual(stat(socket, &info), 0)
        XCTAssertEqual(info.st_gid, getgrnam("www-data")!.pointee.gr_gid, "the socket belongs to nginx's group")
        XCTAssertEqual(info.st_uid, steemauthUID)
        XCTAssertEqual(info.st_mode & 0o777, 0o660)
        XCTAssertEqual(Unit.uid(of: pool.processIdentifier), steemauthUID, "the pool runs as the unit's user")
        let connect = "import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])"
        XCTAssertEqual(try asNginx([python, "-c", connect, socket]), 0, "nginx's user reaches the socket through its group")
        for secret in ["steemauth.env", "oidc-clients.json", "oidc-key.pem"] {
            XCTAssertNotEqual(try asNginx(["/bin/cat", root + "/etc/steemauth/" + secret]), 0, "nginx's user cannot read \(secret)")
        }
        let ping = try FastCGIExchange(socketPath: socket, params: [("REQUEST_METHOD", "GET"), ("DOCUMENT_URI", "/ping")], body: [])
        XCTAssertTrue(String(decoding: ping.stdout, as: UTF8.self).contains("pong"), String(decoding: ping.stdout, as: UTF8.self))

        // The watcher.
        let watcherUnit = try Unit(shipped: "steemauth-watcher.service", root: root)
        try runToEnd(watcherUnit, "ExecStartPre")
        let watcher = try watcherUnit.start("ExecStart", log: cluster.dir + "/watcher.log")
        defer { Cluster.terminate(watcher, signal: SIGTERM) }
        let redis = cluster.redis()
        try waitUntil("the watcher's checkpoint", seconds: 60) { cluster.checkpoint(redis: redis) != nil || !watcher.isRunning }
        XCTAssertTrue(watcher.isRunning, cluster.log("watcher.log"))
        XCTAssertEqual(Unit.uid(of: watcher.processIdentifier), steemauthUID, "the watcher runs as the unit's user")
        for p in [watcher, pool] {
            Cluster.terminate(p, signal: SIGTERM)
            XCTAssertEqual(p.terminationStatus, 0, "stops cleanly on SIGTERM")
        }
    }

    /// Every executable answers --version with the release the package is named after.
    func testEveryExecutableAnswersVersion() throws {
        for name in ["steemauth-web", "steemauth-watcher", "steemauth-devchain"] {
            let (status, output) = try Cluster.run(Cluster.binary(name), ["--version"])
            XCTAssertEqual(status, 0, output)
            XCTAssertEqual(output.trimmingCharacters(in: .whitespacesAndNewlines), SteemAuthVersion.current, name)
        }
    }

    /// Every setting the configuration parses is documented, with its default.
    func testEverySettingIsDocumented() throws {
        let doc = try String(contentsOf: Cluster.repoRoot.appendingPathComponent("docs/configuration.md"))
        for key in AppConfig.Key.allCases {
            XCTAssertTrue(doc.contains("| `\(key.rawValue)` |"), "docs/configuration.md has a row for \(key.rawValue)")
        }
    }

    /// The site config a sysadmin drops into sites-available passes `nginx -t`.
    func testSiteConfigPassesNginxCheck() throws {
        guard let nginx = Cluster.which("nginx"), FileManager.default.fileExists(atPath: "/etc/nginx/fastcgi_params") else {
            throw XCTSkip("nginx missing: site config check skipped")
        }
        let dir = NSTemporaryDirectory() + "steemauth-site-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.copyItem(atPath: "/etc/nginx/fastcgi_params", toPath: dir + "/fastcgi_params")
        let site = Cluster.repoRoot.appendingPathComponent("nginx/steemauth.site.conf").path
        try "pid \(dir)/nginx.pid;\nevents {}\nhttp { include \(site); }\n".write(toFile: dir + "/nginx.conf", atomically: true, encoding: .utf8)
        let (status, output) = try Cluster.run(nginx, ["-t", "-c", dir + "/nginx.conf", "-p", dir, "-e", dir + "/error.log"])
        XCTAssertEqual(status, 0, output)
    }
}

/// A systemd unit's settings, with its paths moved under a temp root, and its commands run as
/// systemd would as far as that goes without systemd as PID 1 (see DeploymentTests).
struct Unit {
    let lines: [(String, String)]
    /// A unit shipped in deploy/, its paths (/opt/steemauth, /etc/steemauth, /run/steemauth) under `root`.
    init(shipped name: String, root: String) throws {
        try self.init(path: Cluster.repoRoot.appendingPathComponent("deploy/" + name).path, root: root,
                      paths: ["/opt/steemauth", "/etc/steemauth", "/run/steemauth"])
    }
    /// Any unit file, each of `paths` moved under `root`.
    init(path: String, root: String, paths: [String]) throws {
        var text = try String(contentsOfFile: path)
        for p in paths { text = text.replacingOccurrences(of: p, with: root + p) }
        lines = text.split(separator: "\n").compactMap { line in
            guard !line.hasPrefix("#"), let eq = line.firstIndex(of: "=") else { return nil }
            return (String(line[..<eq]), String(line[line.index(after: eq)...]))
        }
    }
    func values(_ key: String) -> [String] { lines.filter { $0.0 == key }.map(\.1) }
    func value(_ key: String) -> String? { values(key).last }

    static var canStart: Bool { getuid() == 0 && Cluster.which("setpriv") != nil }

    /// Starts the command of `key` (ExecStart, ExecStartPre) with the unit's user, group, the user's
    /// own groups and SupplementaryGroups, no capabilities and no new privileges (setpriv), its
    /// environment, working directory and umask. Returns the process, not waited for.
    func start(_ key: String, log: String) throws -> Process {
        let command = try XCTUnwrap(value(key), key).split(separator: " ").map(String.init)
        let own = try Cluster.run("/usr/bin/id", ["-Gn", value("User")!]).output.split(whereSeparator: \.isWhitespace).map(String.init)
        let groups = own + values("SupplementaryGroups").flatMap { $0.split(separator: " ").map(String.init) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Cluster.which("setpriv")!)
        p.arguments = ["--reuid=\(value("User")!)", "--regid=\(value("Group")!)", "--groups=" + groups.joined(separator: ","),
                       "--no-new-privs", "--bounding-set=-all", "--inh-caps=-all", "--",
                       "/bin/sh", "-c", "umask \(value("UMask") ?? "0022") && exec \"$0\" \"$@\""] + command
        p.environment = try environment()
        p.currentDirectoryURL = URL(fileURLWithPath: value("WorkingDirectory") ?? "/")
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let out = FileHandle(forWritingAtPath: log)!
        p.standardOutput = out; p.standardError = out
        try p.run()
        return p
    }

    /// The real uid of a running process.
    static func uid(of pid: pid_t) -> uid_t? {
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status")) ?? ""
        return status.split(separator: "\n").first { $0.hasPrefix("Uid:") }?.split(separator: "\t").dropFirst().first.flatMap { uid_t($0) }
    }

    /// Environment= first, then the EnvironmentFile, whose settings win (as systemd does).
    func environment() throws -> [String: String] {
        var env = ["PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]
        for assignment in values("Environment") {
            let parts = assignment.split(separator: "=", maxSplits: 1).map(String.init)
            env[parts[0]] = parts.count > 1 ? parts[1] : ""
        }
        for file in values("EnvironmentFile") {
            for line in try String(contentsOfFile: file).split(separator: "\n") where !line.hasPrefix("#") {
                let parts = line.split(separator: "=", maxSplits: 1).map(String.init)
                if parts.count == 2 { env[parts[0]] = parts[1] }
            }
        }
        return env
    }
}
