import Foundation
import Glibc
import SteemAuthAdapters
import SteemAuthCore
import XCTest

/// Real processes on loopback for one test: redis-server, the pool, nginx (and later the devchain
/// and the watcher). Free ports, one temp dir, everything killed by PID at the end.
final class Cluster {
    /// The lifetimes of the sessions the tests make themselves (the pool's defaults, a shorter deny list).
    static let lifetimes = SessionLifetimes(unbound: 7200, code: 900, deny: 3600)
    let dir: String
    var redisPort: Int
    let poolPort: Int
    var httpPort: Int
    let secret = Hex.encode(SystemRandom.bytes(32))
    var redisProcess: Process?
    var poolProcess: Process?
    var nginxProcess: Process?
    var extraProcesses: [Process] = []
    var env: [String: String]
    /// What the last `startPool` added to `env` (a restart on nginx's new port keeps it).
    var poolExtraEnv: [String: String] = [:]

    static var productsDirectory: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    }
    static var repoRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }
    static func binary(_ name: String) -> String {
        for base in [productsDirectory, Bundle.main.bundleURL, repoRoot.appendingPathComponent(".build/debug")] {
            let p = base.appendingPathComponent(name).path
            if FileManager.default.isExecutableFile(atPath: p) { return p }
        }
        return productsDirectory.appendingPathComponent(name).path
    }

    init(extraEnv: [String: String] = [:]) throws {
        for tool in ["redis-server", "nginx"] where Cluster.which(tool) == nil {
            throw XCTSkip("\(tool) is not installed (the README's test command installs it)")
        }
        dir = NSTemporaryDirectory() + "steemauth-test-" + Hex.encode(SystemRandom.bytes(6))
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        redisPort = Cluster.freePort(); poolPort = Cluster.freePort(); httpPort = Cluster.freePort()
        env = [
            "STEEMAUTH_ACCOUNT": "steemauth.demo",
            "STEEMAUTH_SECRET": secret,
            "STEEMAUTH_REDIS_URL": "redis://127.0.0.1:\(redisPort)/0",
            // The deployed shape: the pool on a unix socket (nginx's workers run as nobody here).
            "STEEMAUTH_LISTEN": "unix:\(dir)/pool.sock",
            "STEEMAUTH_SOCKET_MODE": "666",
            "STEEMAUTH_WORKERS": "2",
            "STEEMAUTH_TEMPLATES": Cluster.repoRoot.appendingPathComponent("templates").path,
            "STEEMAUTH_SHUTDOWN_TIMEOUT": "5",
            "STEEMAUTH_LOG_LEVEL": "info",
            // Nothing leaves loopback: a closed port until a test starts the devchain.
            "STEEMAUTH_NODES": "http://127.0.0.1:9",
            // The origin this cluster's nginx serves (moved with its port if nginx must start elsewhere).
            "STEEMAUTH_PUBLIC_ORIGIN": "http://127.0.0.1:\(httpPort)",
        ].merging(extraEnv) { $1 }
    }

    var baseURL: String { "http://127.0.0.1:\(httpPort)" }
    /// Where nginx finds the pool: `unix:<path>` (the default) or `127.0.0.1:<port>`, then any more
    /// pools of the same site (several web hosts behind one upstream).
    var upstream: String {
        let listen = env["STEEMAUTH_LISTEN"] ?? ""
        let main = listen.hasPrefix("unix:") ? listen : "127.0.0.1:\(poolPort)"
        return ([main] + extraUpstreams).joined(separator: "; server ")
    }
    var extraUpstreams: [String] = []

    /// Moves the pool to TCP 127.0.0.1 (still supported; the tests of it use this).
    func listenOnTCP() { env["STEEMAUTH_LISTEN"] = "127.0.0.1:\(poolPort)" }

    var poolAcceptsConnections: Bool {
        let listen = env["STEEMAUTH_LISTEN"] ?? ""
        return listen.hasPrefix("unix:") ? Cluster.canConnect(unixPath: String(listen.dropFirst(5))) : Cluster.canConnect(port: poolPort)
    }

    /// Redis, the devchain when asked (before the pool, which is pointed at it), the pool, nginx.
    /// Returns the devchain's URLs (none without it).
    @discardableResult
    func startAll(devchain: Bool = false, blockInterval: Double = 0, batchLimit: Int? = nil,
                  redisAppendOnly: Bool = false, codesLimit: CodesLimit = .off) throws -> [String] {
        try startRedis(appendOnly: redisAppendOnly)
        let nodes = devchain ? try startDevchain(blockInterval: blockInterval, batchLimit: batchLimit) : []
        try startPool()
        try startNginx(codesLimit: codesLimit)
        return nodes
    }

    /// A port found free can be taken by another socket before the server binds it: a server that
    /// exits at start is started again on a fresh port (a restart keeps its port: nothing has it).
    /// `debugCommand`: DEBUG is allowed from loopback (DEBUG RELOAD NOSAVE restores the last SAVE
    /// under the clients' feet, without closing their connections).
    func startRedis(appendOnly: Bool = false, debugCommand: Bool = false) throws {
        let restarting = redisStartedOnce
        for attempt in 0..<4 {
            if attempt > 0 && !restarting {
                redisPort = Cluster.freePort()
                env["STEEMAUTH_REDIS_URL"] = env["STEEMAUTH_REDIS_URL"].map { _ in "redis://127.0.0.1:\(redisPort)/0" }
            }
            let p = try launch("redis-server", ["--port", String(redisPort), "--bind", "127.0.0.1", "--save", "",
                                                "--appendonly", appendOnly ? "yes" : "no", "--dir", dir, "--logfile", dir + "/redis.log"]
                                                + (debugCommand ? ["--enable-debug-command", "local"] : []),
                               log: nil, executable: Cluster.which("redis-server")!)
            redisProcess = p
            let port = redisPort
            if try Cluster.waitUntilReady(p, "redis answers PING", seconds: 30, {
                (try? RedisConnection(endpoint: RedisEndpoint.parse("redis://127.0.0.1:\(port)")!).command(["PING"])) == .status("PONG")
            }) { redisStartedOnce = true; return }
        }
        throw Timeout(description: "redis-server would not start")
    }
    private var redisStartedOnce = false

    /// Waits for `ready`; false when the process exited first (so the caller can try another port).
    static func waitUntilReady(_ p: Process, _ what: String, seconds: Double, _ ready: () -> Bool) throws -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if ready() { return true }
            if !p.isRunning { return false }
            usleep(20_000)
        }
        throw Timeout(description: "timed out after \(seconds)s waiting until \(what)")
    }

    func stopRedis() {
        if let p = redisProcess { Cluster.terminate(p, signal: SIGKILL) }
        redisProcess = nil
    }

    func startPool(extraEnv: [String: String] = [:]) throws {
        poolExtraEnv = extraEnv
        poolProcess = try launch("pool", [], log: dir + "/pool.log", executable: Cluster.binary("steemauth-web"),
                                 environment: env.merging(extraEnv) { $1 })
        try waitUntil("pool accepts connections", seconds: 30) { self.poolAcceptsConnections }
        // Until the workers are forked the socket only queues; wait for them.
        try waitUntil("pool workers started", seconds: 30) { self.workerPIDs().count >= Int(self.env["STEEMAUTH_WORKERS"] ?? "2")! }
    }

    /// The rate limit a test meets on `/steemauth`. Tests about the pool turn it off (a load loop on a
    /// fast machine would meet any rate); tests about the limit set one every loop exceeds.
    enum CodesLimit {
        case off
        case limited(rate: String, burst: Int)
    }

    func startNginx(codesLimit: CodesLimit = .off) throws {
        let template = try String(contentsOf: Cluster.repoRoot.appendingPathComponent("nginx/loopback.conf.template"))
        let rate: String, directive: String, signinDirective: String
        switch codesLimit {
        case .off: (rate, directive, signinDirective) = ("1r/s", "", "")
        case .limited(let r, let burst):
            (rate, directive, signinDirective) = (r, "limit_req zone=steemauth_codes burst=\(burst) nodelay;",
                                                  "limit_req zone=steemauth_signin burst=\(burst) nodelay;")
        }
        for attempt in 0..<4 {
            if attempt > 0 {
                // The pool names its public origin, port included: it moves with nginx's port.
                httpPort = Cluster.freePort()
                if env["STEEMAUTH_PUBLIC_ORIGIN"]?.hasPrefix("http://127.0.0.1:") == true {
                    env["STEEMAUTH_PUBLIC_ORIGIN"] = baseURL
                    if poolProcess != nil { tearDownPool(); try startPool(extraEnv: poolExtraEnv) }
                }
            }
            let conf = template.replacingOccurrences(of: "__DIR__", with: dir)
                .replacingOccurrences(of: "__PORT__", with: String(httpPort))
                .replacingOccurrences(of: "__UPSTREAM__", with: upstream)
                .replacingOccurrences(of: "__CODES_RATE__", with: rate)
                .replacingOccurrences(of: "__CODES_LIMIT__", with: directive)
                .replacingOccurrences(of: "__SIGNIN_RATE__", with: rate)
                .replacingOccurrences(of: "__SIGNIN_LIMIT__", with: signinDirective)
            try conf.write(toFile: dir + "/nginx.conf", atomically: true, encoding: .utf8)
            let p = try launch("nginx", ["-c", dir + "/nginx.conf", "-p", dir, "-e", dir + "/nginx-error.log"],
                               log: dir + "/nginx.out", executable: Cluster.which("nginx")!)
            nginxProcess = p
            let url = baseURL + "/return200"
            if try Cluster.waitUntilReady(p, "nginx answers", seconds: 30, { (try? HTTPClient().request(url: url).status) == 200 }) { return }
        }
        throw Timeout(description: "nginx would not start: " + log("nginx-error.log").suffix(300))
    }

    /// Stops the pool (to restart it with other settings).
    func tearDownPool() {
        if let p = poolProcess { Cluster.terminate(p, signal: SIGTERM) }
        poolProcess = nil
    }

    func workerPIDs() -> [pid_t] {
        guard let master = poolProcess?.processIdentifier else { return [] }
        return Cluster.children(of: master)
    }

    func tearDown() {
        for p in extraProcesses.reversed() { Cluster.terminate(p, signal: SIGTERM) }
        if let p = nginxProcess { Cluster.terminate(p, signal: SIGQUIT) }
        if let p = poolProcess { Cluster.terminate(p, signal: SIGTERM) }
        stopRedis()
        if ProcessInfo.processInfo.environment["STEEMAUTH_KEEP_TEST_DIRS"] == nil {
            try? FileManager.default.removeItem(atPath: dir)
        }
    }

    /// The pool's log, for assertions and for failure messages.
    func poolLog() -> String { (try? String(contentsOfFile: dir + "/pool.log")) ?? "" }

    func redis() -> RedisConnection { RedisConnection(endpoint: RedisEndpoint.parse("redis://127.0.0.1:\(redisPort)")!) }

    func store() -> RedisSessionStore { RedisSessionStore(redis: redis(), prefix: "steemauth:", chain: .steem, lifetimes: Self.lifetimes) }

    // MARK: processes

    func launch(_ name: String, _ args: [String], log: String?, executable: String, environment: [String: String]? = nil) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = args
        p.currentDirectoryURL = URL(fileURLWithPath: dir)
        if let environment {
            var e = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("STEEMAUTH_") }
            e.merge(environment) { $1 }
            p.environment = e
        }
        let out: FileHandle
        if let log {
            _ = FileManager.default.createFile(atPath: log, contents: nil)
            out = FileHandle(forWritingAtPath: log)!
        } else {
            out = FileHandle(forWritingAtPath: "/dev/null")!
        }
        p.standardOutput = out
        p.standardError = out
        p.standardInput = FileHandle(forReadingAtPath: "/dev/null")
        try p.run()
        return p
    }

    /// Waits up to `seconds` for `p` to exit; SIGKILLs it past that. True if it exited in time.
    @discardableResult
    static func waitForExit(_ p: Process, seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while p.isRunning && Date() < deadline { usleep(10_000) }
        guard p.isRunning else { return true }
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        return false
    }

    /// Runs a tool to completion; its exit status and everything it printed.
    static func run(_ executable: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = arguments
        let pipe = Pipe()
        p.standardOutput = pipe; p.standardError = pipe
        try p.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        return (p.terminationStatus, output)
    }

    static func terminate(_ p: Process, signal: Int32) {
        guard p.isRunning else { return }
        kill(p.processIdentifier, signal)
        waitForExit(p, seconds: 8)
    }

    static func children(of pid: pid_t) -> [pid_t] {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/task/\(pid)/children") else { return [] }
        return text.split(separator: " ").compactMap { pid_t($0) }
    }

    /// Whether `signal` is pending (sent but blocked) in process `pid`, from /proc.
    static func hasPendingSignal(_ pid: pid_t, _ signal: Int32) -> Bool {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status") else { return false }
        let bit = UInt64(1) << UInt64(signal - 1)
        return status.split(separator: "\n").contains { line in
            guard line.hasPrefix("ShdPnd:") || line.hasPrefix("SigPnd:"),
                  let mask = UInt64(line.split(separator: ":")[1].trimmingCharacters(in: .whitespaces), radix: 16) else { return false }
            return mask & bit != 0
        }
    }

    static func which(_ tool: String) -> String? {
        for dir in ["/usr/sbin", "/usr/bin", "/sbin", "/bin", "/usr/local/bin", "/usr/local/sbin"] {
            if FileManager.default.isExecutableFile(atPath: dir + "/" + tool) { return dir + "/" + tool }
        }
        return nil
    }

    static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        withUnsafeMutablePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { _ = bind(fd, $0, len); _ = getsockname(fd, $0, &len) }
        }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    static func canConnect(unixPath: String) -> Bool {
        let fd = connectUnix(unixPath)
        if fd >= 0 { close(fd) }
        return fd >= 0
    }

    /// A connected unix stream socket (the caller closes it), or -1.
    static func connectUnix(_ path: String) -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard fd >= 0, bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else { if fd >= 0 { close(fd) }; return -1 }
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            for (i, b) in bytes.enumerated() { raw[i] = b }
            raw[bytes.count] = 0
        }
        let connected = withUnsafePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) == 0 }
        }
        if !connected { close(fd); return -1 }
        return fd
    }

    static func canConnect(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = UInt16(port).bigEndian
        return withUnsafePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }
}

struct Timeout: Error, CustomStringConvertible { let description: String }

func waitUntil(_ what: String, seconds: Double, interval: Double = 0.02, _ condition: () throws -> Bool) throws {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if (try? condition()) == true { return }
        usleep(UInt32(interval * 1_000_000))
    }
    throw Timeout(description: "timed out after \(seconds)s waiting until \(what)")
}

/// A browser-like client: libcurl with an in-memory cookie jar, no redirect following.
final class Browser {
    let http = HTTPClient(cookieJar: true)
    let base: String
    init(_ base: String) { self.base = base }

    func get(_ path: String, headers: [String] = []) throws -> HTTPClient.Response {
        try http.request(url: base + path, headers: headers)
    }
    func post(_ path: String, headers: [String] = [], body: String = "") throws -> HTTPClient.Response {
        try http.request("POST", url: base + path, headers: ["Content-Type: application/x-www-form-urlencoded"] + headers, body: Array(body.utf8))
    }
    var cookie: String? { http.cookieValue(named: CookieSigner.name) }

    /// `/` then `/steemauth`: the path a visitor takes; returns the memo shown on the page.
    func startLogin() throws -> String {
        let home = try get("/")
        XCTAssertEqual(home.status, 302)
        let page = try get("/steemauth")
        XCTAssertEqual(page.status, 200, page.text)
        return try XCTUnwrap(Browser.memo(in: page.text), "no memo on the page")
    }

    static func memo(in html: String) -> String? {
        guard let start = html.range(of: "<code class=\"memo\" id=\"memo\">"),
              let end = html.range(of: "</code>", range: start.upperBound..<html.endIndex) else { return nil }
        return String(html[start.upperBound..<end.lowerBound])
    }

    func status() throws -> (Int, [String: Any]) {
        let r = try get("/steemauth/status")
        let json = (try? JSONSerialization.jsonObject(with: Data(r.body))) as? [String: Any] ?? [:]
        return (r.status, json)
    }
}

extension Cluster {
    /// Starts the devchain with `nodes` listeners over one chain (a second node for failover tests).
    @discardableResult
    func startDevchain(nodes: Int = 1, blockInterval: Double = 0, libLag: Int = 0, chain: String = "steem", batchLimit: Int? = nil,
                       latencyMs: Int = 0, jitterMs: Int = 0) throws -> [String] {
        let ports = (0..<nodes).map { _ in Cluster.freePort() }
        let args = ["serve", "--block-interval", String(blockInterval), "--lib-lag", String(libLag), "--chain", chain,
                    "--account", env["STEEMAUTH_ACCOUNT"]!] + ports.flatMap { ["--listen", "127.0.0.1:\($0)"] }
            + (batchLimit.map { ["--batch-limit", String($0)] } ?? []) + (latencyMs > 0 ? ["--latency-ms", String(latencyMs)] : [])
        let delays: [String] = jitterMs > 0 ? ["--jitter-ms", String(jitterMs)] : []
        let p = try launch("devchain", args + delays, log: dir + "/devchain.log", executable: Cluster.binary("steemauth-devchain"))
        extraProcesses.append(p)
        let urls = ports.map { "http://127.0.0.1:\($0)" }
        for port in ports { try waitUntil("devchain listens", seconds: 30) { Cluster.canConnect(port: port) } }
        env["STEEMAUTH_NODES"] = urls.joined(separator: ",")
        env["STEEMAUTH_CHAIN"] = chain
        return urls
    }

    func startWatcher(_ args: [String] = [], logName: String = "watcher.log", extraEnv: [String: String] = [:]) throws -> Process {
        let p = try launch("watcher", args, log: dir + "/" + logName, executable: Cluster.binary("steemauth-watcher"),
                           environment: env.merging(extraEnv) { $1 })
        extraProcesses.append(p)
        return p
    }

    func log(_ name: String) -> String { (try? String(contentsOfFile: dir + "/" + name)) ?? "" }

    /// The devchain's calls by method (`devchain.stats`; every node of one devchain counts together).
    func rpcCalls(_ node: String) throws -> [String: Int] {
        let r = try HTTPClient().request("POST", url: node, headers: ["Content-Type: application/json"],
                                         body: Array(#"{"jsonrpc":"2.0","id":1,"method":"devchain.stats","params":{}}"#.utf8))
        let json = try JSONSerialization.jsonObject(with: Data(r.body)) as? [String: Any]
        return (json?["result"] as? [String: Int]) ?? [:]
    }

    /// A browser logged in as `account` (bound through the real claim script, as the watcher does).
    func loggedIn(as account: String) throws -> Browser {
        let b = Browser(baseURL)
        let memo = try b.startLogin()
        XCTAssertEqual(try claim(memo: memo, account: account, block: 7, transactionID: "feedbeef" + String(repeating: "0", count: 32),
                                         blockTime: "2026-11-23T10:00:00", boundTTL: 3600, now: 1), .bound)
        return b
    }

    /// Runs a devchain client subcommand against `node`.
    @discardableResult
    func devchain(_ args: [String], node: String? = nil) throws -> String {
        let out = dir + "/devchain-client.out"
        let p = try launch("devchain-client", args + ["--node", node ?? env["STEEMAUTH_NODES"]!.components(separatedBy: ",")[0]],
                           log: out, executable: Cluster.binary("steemauth-devchain"))
        p.waitUntilExit()
        let text = log("devchain-client.out")
        if p.terminationStatus != 0 { throw Timeout(description: "devchain \(args) failed: \(text)") }
        return text
    }

    /// A session as the web pool creates it on the first /steemauth view: (session id, memo).
    func newSession(store: RedisSessionStore, prefix: String = "") throws -> (SessionID, String) {
        let id = SystemRandom.sessionID()
        let view = try store.viewPage(id: id, gzip: false, bound: nil, replacementID: SystemRandom.sessionID(),
                                      freshMemo: SystemRandom.loginCode(prefix: prefix).memo, now: unixSeconds())
        guard case .unbound(let memo, _) = view.state else { throw Timeout(description: "unexpected \(view.state)") }
        return (id, memo)
    }

    func boundAccount(_ id: SessionID, redis: RedisConnection) throws -> (account: String?, tx: String?) {
        let r = try redis.command(["HMGET", "steemauth:s:" + id.hex, "acct", "tx"]).array ?? []
        return (r.first?.string, r.count > 1 ? r[1].string : nil)
    }

    func checkpoint(redis: RedisConnection, chain: String = "steem") -> Int64? {
        try? redis.command(["GET", "steemauth:w:\(chain):next"]).integer
    }
}

/// A value shared between test threads, behind a lock.
final class Locked<Value> {
    private let lock = NSLock()
    private var stored: Value
    init(_ value: Value) { stored = value }
    var value: Value { lock.lock(); defer { lock.unlock() }; return stored }
    func mutate(_ body: (inout Value) -> Void) { lock.lock(); defer { lock.unlock() }; body(&stored) }
}

/// One request spoken as raw FastCGI on the pool's unix socket, without nginx: the records that
/// came back, in order, and whether the worker had left the connection once the stream ended.
struct FastCGIExchange {
    struct Record { let version: UInt8, type: UInt8, requestID: Int, content: [UInt8], padding: Int }
    var records: [Record] = []
    var peerGoneAfterEOF = false
    /// STDOUT's content, joined.
    var stdout: [UInt8] { records.filter { $0.type == 6 }.flatMap(\.content) }

    init(socketPath: String, params: [(String, String)], body: [UInt8]) throws {
        let fd = Cluster.connectUnix(socketPath)
        guard fd >= 0 else { throw Timeout(description: "connect to \(socketPath): errno \(errno)") }
        defer { close(fd) }
        var timeout = timeval(tv_sec: 30, tv_usec: 0)       // only a stuck worker meets it
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        func record(_ type: UInt8, _ content: [UInt8]) -> [UInt8] {
            [1, type, 0, 1, UInt8(content.count >> 8), UInt8(content.count & 0xff), 0, 0] + content
        }
        func length(_ n: Int) -> [UInt8] { n < 128 ? [UInt8(n)] : [UInt8(0x80 | (n >> 24)), UInt8((n >> 16) & 0xff), UInt8((n >> 8) & 0xff), UInt8(n & 0xff)] }
        let pairs = params.flatMap { name, value in length(name.utf8.count) + length(value.utf8.count) + Array(name.utf8) + Array(value.utf8) }
        var out = record(1, [0, 1, 0, 0, 0, 0, 0, 0]) + record(4, pairs) + record(4, [])
        for start in stride(from: 0, to: body.count, by: 32768) { out += record(5, Array(body[start..<min(body.count, start + 32768)])) }
        out += record(5, [])
        guard out.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }) == out.count else {
            throw Timeout(description: "send: errno \(errno)")
        }
        // Records until END_REQUEST, then the end of the stream.
        var input: [UInt8] = [], ended = false
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard n >= 0 else { throw Timeout(description: "recv: errno \(errno)") }
            if n == 0 { break }
            input += chunk[..<n]
            while !ended, input.count >= 8 {
                let contentLength = Int(input[4]) << 8 | Int(input[5]), total = 8 + contentLength + Int(input[6])
                guard input.count >= total else { break }
                records.append(Record(version: input[0], type: input[1], requestID: Int(input[2]) << 8 | Int(input[3]),
                                      content: Array(input[8..<(8 + contentLength)]), padding: Int(input[6])))
                if input[1] == 3 { ended = true }
                input.removeFirst(total)
            }
        }
        guard ended else { throw Timeout(description: "the stream ended before END_REQUEST") }
        // The stream ended. A worker that closed has left the connection (a write meets EPIPE);
        // one in its lingering close still reads what the client sends.
        let wrote = [UInt8](repeating: 0x78, count: 1).withUnsafeBytes { send(fd, $0.baseAddress, 1, Int32(MSG_NOSIGNAL)) }
        peerGoneAfterEOF = wrote < 0 && (errno == EPIPE || errno == ECONNRESET)
    }
}
