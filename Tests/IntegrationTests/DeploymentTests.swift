import Foundation
import XCTest

/// The shipped systemd units pass `systemd-analyze verify` with ExecStart pointed at the built binaries.
final class DeploymentTests: XCTestCase {
    func testSystemdUnitsVerify() throws {
        let analyze = "/usr/bin/systemd-analyze"
        guard FileManager.default.isExecutableFile(atPath: analyze) else { throw XCTSkip("systemd-analyze missing: unit check skipped") }
        let dir = NSTemporaryDirectory() + "steemauth-units-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = FileManager.default.createFile(atPath: dir + "/steemauth.env", contents: Data())
        let binaries = URL(fileURLWithPath: Cluster.binary("steemauth-web")).deletingLastPathComponent().path + "/"
        var units: [String] = []
        for name in ["steemauth-web.service", "steemauth-watcher.service"] {
            let text = try String(contentsOf: Cluster.repoRoot.appendingPathComponent("deploy/" + name))
                .replacingOccurrences(of: "/opt/steemauth/bin/", with: binaries)
                .replacingOccurrences(of: "/etc/steemauth/steemauth.env", with: dir + "/steemauth.env")
                .replacingOccurrences(of: "WorkingDirectory=/opt/steemauth", with: "WorkingDirectory=" + dir)
            XCTAssertTrue(text.contains("NoNewPrivileges=yes") && text.contains("ProtectSystem=strict") && text.contains("User=steemauth"))
            try text.write(toFile: dir + "/" + name, atomically: true, encoding: .utf8)
            units.append(dir + "/" + name)
        }
        let (status, output) = try Cluster.run(analyze, ["verify"] + units)
        print("systemd-analyze verify: exit \(status)\n\(output)")
        XCTAssertEqual(status, 0, output)
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
