import Foundation
import XCTest

extension Cluster {
    /// nginx as Debian installs it (user www-data, mime types, sites-enabled), under the test's
    /// directory, serving `site` (the shipped site file) changed only where an operator changes it:
    /// the listen address, the server name, where the pool's socket is and, with a recipe, its
    /// include switched on (the recipe goes to snippets/ as the site file's comment says).
    /// `httpBlock`: lines an operator adds to the http block (such as a recipe's cache path).
    func startDebianStyleNginx(site: String, protectAppRecipe: String? = nil, httpBlock: String = "") throws {
        for sub in ["sites-enabled", "snippets"] { try FileManager.default.createDirectory(atPath: dir + "/" + sub, withIntermediateDirectories: true) }
        if !FileManager.default.fileExists(atPath: dir + "/fastcgi_params") {
            try FileManager.default.copyItem(atPath: "/etc/nginx/fastcgi_params", toPath: dir + "/fastcgi_params")
        }
        let socket = try XCTUnwrap(env["STEEMAUTH_LISTEN"])
        let lines = site.components(separatedBy: "\n").compactMap { line -> String? in
            let code = line.trimmingCharacters(in: .whitespaces)
            // Plain http on one loopback port: no IPv6 listen, no https one (the catch-all's).
            if code.hasPrefix("listen [::]") || code.hasPrefix("listen 443") { return nil }
            if code.hasPrefix("listen ") {
                return "    listen 127.0.0.1:\(httpPort)" + (code.contains("default_server") ? " default_server;" : ";")
            }
            return line
        }
        var deployed = lines.joined(separator: "\n")
            .replacingOccurrences(of: "server_name auth.example.org;", with: "server_name 127.0.0.1;")
            .replacingOccurrences(of: "unix:/run/steemauth/web.sock", with: socket)
        if let protectAppRecipe {
            try protectAppRecipe.write(toFile: dir + "/snippets/steemauth-protect-app.conf", atomically: true, encoding: .utf8)
            let include = "# include /etc/nginx/snippets/steemauth-protect-app.conf;"
            XCTAssertTrue(deployed.contains(include), "the site file shows where the recipe goes")
            deployed = deployed.replacingOccurrences(of: include, with: "include \(dir)/snippets/steemauth-protect-app.conf;")
        }
        try deployed.write(toFile: dir + "/sites-enabled/steemauth", atomically: true, encoding: .utf8)
        try """
        user www-data;
        worker_processes 1;
        daemon off;
        pid \(dir)/nginx.pid;
        error_log \(dir)/nginx-error.log;
        events { worker_connections 768; }
        http {
            sendfile on;
            tcp_nopush on;
            types_hash_max_size 2048;
            include /etc/nginx/mime.types;
            default_type application/octet-stream;
            access_log \(dir)/nginx-access.log;
            client_body_temp_path \(dir)/client_body;
            fastcgi_temp_path \(dir)/fastcgi_temp;
            proxy_temp_path \(dir)/proxy_temp;
            uwsgi_temp_path \(dir)/uwsgi_temp;
            scgi_temp_path \(dir)/scgi_temp;
            gzip on;
            \(httpBlock)
            include \(dir)/sites-enabled/*;
        }
        """.write(toFile: dir + "/nginx.conf", atomically: true, encoding: .utf8)
        let p = try launch("nginx", ["-c", dir + "/nginx.conf", "-p", dir + "/", "-e", dir + "/nginx-error.log"],
                           log: dir + "/nginx.out", executable: Cluster.which("nginx")!)
        nginxProcess = p
        let port = httpPort
        _ = try Cluster.waitUntilReady(p, "nginx answers", seconds: 30) { Cluster.canConnect(port: port) }
    }
}
