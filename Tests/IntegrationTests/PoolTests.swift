import Foundation
import Glibc
import SteemAuthAdapters
import SteemAuthCore
import XCTest

/// The php-fpm-like master: respawn, recycle, reload and stop, under real requests through nginx.
final class PoolTests: XCTestCase {
    var cluster: Cluster!

    override func tearDown() {
        if let cluster, (testRun?.failureCount ?? 0) > 0 { print("--- pool log ---\n" + cluster.poolLog().suffix(4000)) }
        cluster?.tearDown()
    }

    func start(_ env: [String: String] = [:]) throws {
        cluster = try Cluster(extraEnv: env)
        try cluster.startAll()
    }

    /// Runs `clients` threads sending session requests until `stop()` (or `maxPerClient` requests
    /// each, a bound by count); counts outcomes. Tests wait on `waitForProgress`, never on sleeps, so
    /// the same amount of load overlaps each event on a slow machine as on a fast one.
    final class Load {
        private let lock = NSLock()
        private(set) var sent = 0
        private(set) var failures: [String: Int] = [:]
        private var running = true
        private let group = DispatchGroup()

        init(base: String, clients: Int, paths: [String], maxPerClient: Int = 500_000) {
            for i in 0..<clients {
                group.enter()
                Thread { [self] in
                    defer { group.leave() }
                    let browser = Browser(base)
                    _ = try? browser.get("/")
                    _ = try? browser.get("/steemauth")     // status answers 401 until the session exists
                    for n in 0..<maxPerClient where isRunning {
                        let path = paths[(n + i) % paths.count]
                        var outcome: String? = nil
                        do {
                            let r = try browser.get(path)
                            if !(200..<400).contains(r.status) { outcome = "HTTP \(r.status) on \(path)" }
                        } catch { outcome = "transport: \(error)" }
                        record(outcome)
                    }
                }.start()
            }
        }
        private var isRunning: Bool { lock.lock(); defer { lock.unlock() }; return running }
        private func record(_ failure: String?) {
            lock.lock(); defer { lock.unlock() }
            sent += 1
            if let failure { failures[failure, default: 0] += 1 }
        }
        var sentSoFar: Int { lock.lock(); defer { lock.unlock() }; return sent }

        /// Waits until `count` more requests have completed (the timeout only catches a stuck pool).
        func waitForProgress(_ count: Int) throws {
            let target = sentSoFar + count
            try waitUntil("\(count) more requests under load", seconds: 60) { self.sentSoFar >= target }
        }

        func stop() -> (sent: Int, failed: Int, reasons: [String: Int]) {
            lock.lock(); running = false; lock.unlock()
            group.wait()
            lock.lock(); defer { lock.unlock() }
            return (sent, failures.values.reduce(0, +), failures)
        }
    }

    func testKilledWorkerIsReplacedAndRequestsKeepSucceeding() throws {
        try start()
        let before = cluster.workerPIDs()
        XCTAssertEqual(before.count, 2)
        let load = Load(base: cluster.baseURL, clients: 2, paths: ["/steemauth/status", "/steemauth", "/ping"])
        try load.waitForProgress(50)
        var kills = 0
        for _ in 0..<3 {
            guard let victim = cluster.workerPIDs().first else { break }
            kill(victim, SIGKILL); kills += 1
            try waitUntil("worker replaced", seconds: 30, interval: 0.005) {
                let now = self.cluster.workerPIDs()
                return now.count == 2 && !now.contains(victim)
            }
            try load.waitForProgress(50)
        }
        let result = load.stop()
        print("kill -9 under load: sent \(result.sent), failed \(result.failed) \(result.reasons), kills \(kills)")
        XCTAssertGreaterThanOrEqual(result.sent, 200)
        XCTAssertLessThanOrEqual(result.failed, kills, "only a request in a killed worker's hands may fail")
        XCTAssertTrue(result.reasons.keys.allSatisfy { $0.hasPrefix("HTTP 502") }, "a killed worker's request is a 502, nothing else: \(result.reasons)")
        XCTAssertTrue(cluster.poolLog().contains("status=signal 9"), "one log line per death with the signal")
    }

    func testSIGHUPReloadUnderLoadFailsNothing() throws {
        try start()
        let load = Load(base: cluster.baseURL, clients: 3, paths: ["/steemauth/status", "/steemauth", "/", "/ping"])
        try load.waitForProgress(50)
        let master = cluster.poolProcess!.processIdentifier
        for round in 1...2 {
            let before = Set(cluster.workerPIDs())
            kill(master, SIGHUP)
            try waitUntil("every worker replaced (reload \(round))", seconds: 30, interval: 0.02) {
                let now = Set(self.cluster.workerPIDs())
                return now.count == 2 && now.isDisjoint(with: before)
            }
            try load.waitForProgress(50)
        }
        let result = load.stop()
        print("SIGHUP under load: sent \(result.sent), failed \(result.failed) \(result.reasons)")
        XCTAssertGreaterThanOrEqual(result.sent, 150)
        XCTAssertEqual(result.failed, 0)
        XCTAssertTrue(cluster.poolLog().contains("reloading"))
    }

    /// The master freezes the pages before it forks (every worker inherits them): a reload must
    /// freeze them again from the templates as they are now, or new workers would keep the old.
    func testSIGHUPServesPagesFromTheTemplatesAsTheyAreNow() throws {
        cluster = try Cluster()
        let templates = cluster.dir + "/templates"
        try FileManager.default.copyItem(atPath: Cluster.repoRoot.appendingPathComponent("templates").path, toPath: templates)
        cluster.env["STEEMAUTH_TEMPLATES"] = templates
        try cluster.startAll()
        let browser = Browser(cluster.baseURL)
        _ = try browser.startLogin()
        let marker = "template-edited-before-the-reload"
        XCTAssertFalse(String(decoding: try browser.get("/steemauth").body, as: UTF8.self).contains(marker))
        let ask = templates + "/ask.html"
        let edited = try String(contentsOfFile: ask, encoding: .utf8).replacingOccurrences(of: "{{/content}}", with: "<p>\(marker)</p>\n{{/content}}")
        XCTAssertTrue(edited.contains(marker))
        try edited.write(toFile: ask, atomically: true, encoding: .utf8)
        let before = Set(cluster.workerPIDs())
        kill(cluster.poolProcess!.processIdentifier, SIGHUP)
        try waitUntil("every worker replaced", seconds: 30, interval: 0.02) {
            let now = Set(self.cluster.workerPIDs())
            return now.count == 2 && now.isDisjoint(with: before)
        }
        for _ in 0..<4 {      // whichever new worker answers
            let page = try browser.get("/steemauth")
            XCTAssertEqual(page.status, 200)
            XCTAssertTrue(String(decoding: page.body, as: UTF8.self).contains(marker), "a new worker serves the edited template")
        }
    }

    func testSIGTERMLetsInFlightRequestsFinish() throws {
        try start()
        let b1 = Browser(cluster.baseURL), b2 = Browser(cluster.baseURL)
        // Cookies only: each first view of the ask page runs the script that creates the session (a
        // reload by a worker that saw the session is plain reads, which a WRITE pause lets through).
        _ = try b1.get("/"); _ = try b2.get("/")
        // Hold every script call in Redis (a WRITE pause postpones EVALSHA, not our own admin
        // commands) until both workers are mid-request, then stop the pool, then let Redis go.
        let admin = cluster.redis()
        _ = try admin.command(["CLIENT", "PAUSE", "60000", "WRITE"])
        let group = DispatchGroup()
        let statuses = Locked<[Int]>([])
        for b in [b1, b2] {
            group.enter()
            Thread {
                let s = (try? b.get("/steemauth").status) ?? -1
                statuses.mutate { $0.append(s) }
                group.leave()
            }.start()
        }
        try waitUntil("both workers wait on Redis mid-request", seconds: 30) {
            (try admin.command(["INFO", "clients"]).string ?? "").contains("blocked_clients:2")
        }
        let master = cluster.poolProcess!
        let workers = cluster.workerPIDs()
        XCTAssertEqual(workers.count, 2)
        kill(master.processIdentifier, SIGTERM)
        // Workers keep stop signals blocked while serving: the TERM stays pending until they are done.
        try waitUntil("both busy workers have the stop signal pending", seconds: 30) {
            workers.allSatisfy { Cluster.hasPendingSignal($0, SIGTERM) }
        }
        _ = try admin.command(["CLIENT", "UNPAUSE"])
        group.wait()
        XCTAssertTrue(Cluster.waitForExit(master, seconds: 30), "the master exits by itself")
        XCTAssertEqual(master.terminationStatus, 0)
        XCTAssertEqual(statuses.value.sorted(), [200, 200], "requests in flight complete")
        XCTAssertTrue(cluster.poolLog().contains("pool: stopped"))
    }

    /// Idle workers block in accept for at most a tick (the listen socket's receive timeout), then
    /// look for a stop signal: an idle pool stops on SIGTERM with no worker killed, on a unix socket
    /// and on TCP (whose tick is longer: a TCP connection inherits the timeout).
    func testAnIdlePoolStopsOnSIGTERMWithoutKillingAWorker() throws {
        for tcp in [false, true] {
            cluster = try Cluster()
            if tcp { cluster.listenOnTCP() }
            try cluster.startAll()
            let c = HTTPClient()
            for _ in 0..<4 { XCTAssertEqual(try c.request(url: cluster.baseURL + "/ping").status, 200) }
            let master = cluster.poolProcess!
            let workers = cluster.workerPIDs()
            XCTAssertEqual(workers.count, 2)
            kill(master.processIdentifier, SIGTERM)
            XCTAssertTrue(Cluster.waitForExit(master, seconds: 30), "the master exits by itself")
            XCTAssertEqual(master.terminationStatus, 0)
            let log = cluster.poolLog()
            XCTAssertTrue(log.contains("pool: stopped"), "tcp=\(tcp)")
            XCTAssertFalse(log.contains("killing"), "tcp=\(tcp): an idle worker saw the stop within its tick")
            XCTAssertTrue(workers.allSatisfy { kill($0, 0) != 0 })
            cluster.tearDown(); cluster = nil
        }
    }

    func testMaxRequestsRecyclesWorkers() throws {
        try start(["STEEMAUTH_MAX_REQUESTS": "5"])
        let first = Set(cluster.workerPIDs())
        let c = HTTPClient()
        for _ in 0..<40 { XCTAssertEqual(try c.request(url: cluster.baseURL + "/ping").status, 200) }
        try waitUntil("two workers again", seconds: 30) { self.cluster.workerPIDs().count == 2 }
        XCTAssertTrue(Set(cluster.workerPIDs()).isDisjoint(with: first))
        XCTAssertTrue(cluster.poolLog().contains("worker left"))
        XCTAssertFalse(cluster.poolLog().contains("worker died"), "a recycled worker is not a crash")
    }

    func testKillingTheMasterLeavesNoOrphans() throws {
        try start()
        let workers = cluster.workerPIDs()
        XCTAssertEqual(workers.count, 2)
        kill(cluster.poolProcess!.processIdentifier, SIGKILL)
        try waitUntil("workers gone", seconds: 30) { workers.allSatisfy { kill($0, 0) != 0 } }
    }

    func testBadConfigurationStopsStartUpNamingTheKey() throws {
        cluster = try Cluster(extraEnv: ["STEEMAUTH_SECRET": "short"])
        let p = try cluster.launch("pool", [], log: cluster.dir + "/bad.log", executable: Cluster.binary("steemauth-web"), environment: cluster.env)
        p.waitUntilExit()
        XCTAssertNotEqual(p.terminationStatus, 0)
        let log = try String(contentsOfFile: cluster.dir + "/bad.log")
        XCTAssertTrue(log.contains("STEEMAUTH_SECRET"), log)
        XCTAssertFalse(log.contains("short"), "never the secret's value")
        // --check-config validates and exits 0 on a good configuration.
        cluster.env["STEEMAUTH_SECRET"] = cluster.secret
        let ok = try cluster.launch("check", ["--check-config"], log: cluster.dir + "/check.log", executable: Cluster.binary("steemauth-web"), environment: cluster.env)
        ok.waitUntilExit()
        XCTAssertEqual(ok.terminationStatus, 0, (try? String(contentsOfFile: cluster.dir + "/check.log")) ?? "")
    }

    /// STEEMAUTH_SOCKET_GROUP names a group that does not exist: the pool stops at start-up and says
    /// which setting, rather than leaving a socket nginx cannot reach.
    func testAnUnknownSocketGroupStopsStartUpNamingTheKey() throws {
        cluster = try Cluster(extraEnv: ["STEEMAUTH_SOCKET_GROUP": "no-such-group-x", "STEEMAUTH_SOCKET_MODE": "660"])
        let p = try cluster.launch("pool", [], log: cluster.dir + "/bad.log", executable: Cluster.binary("steemauth-web"), environment: cluster.env)
        p.waitUntilExit()
        XCTAssertNotEqual(p.terminationStatus, 0)
        let log = try String(contentsOfFile: cluster.dir + "/bad.log")
        XCTAssertTrue(log.contains("STEEMAUTH_SOCKET_GROUP") && log.contains("no-such-group-x"), log)
    }

    /// TCP stays supported: the same pages through nginx with the pool on 127.0.0.1.
    func testPoolOnTCPServesTheSamePages() throws {
        cluster = try Cluster()
        cluster.listenOnTCP()
        try cluster.startAll()
        XCTAssertTrue(cluster.upstream.hasPrefix("127.0.0.1:"))
        let b = Browser(cluster.baseURL)
        XCTAssertNotNil(LoginCode.fromMemo(try b.startLogin(), prefix: ""))
        XCTAssertEqual(try b.status().0, 200)
        XCTAssertEqual(try b.get("/ping").text, "pong\n")
        XCTAssertTrue(cluster.poolLog().contains("listen=127.0.0.1:"))
    }

    /// A request read to its end is closed at once (no lingering close: the worker is gone from the
    /// connection when its response ends); one whose body the worker did not read to its end keeps
    /// libfcgi's lingering close, which drains the rest, so the client never sees a reset. Spoken as
    /// raw FastCGI on the pool's socket, without nginx (whose body limit would stop the large body).
    func testAConnectionReadToItsEndClosesAtOnceAndAnUnreadBodyIsDrained() throws {
        try start()
        let socketPath = cluster.upstream.hasPrefix("unix:") ? String(cluster.upstream.dropFirst(5)) : cluster.upstream
        func exchange(_ params: [(String, String)], body: [UInt8]) throws -> (response: String, peerGoneAfterEOF: Bool) {
            let reply = try FastCGIExchange(socketPath: socketPath, params: params, body: body)
            return (String(decoding: reply.stdout, as: UTF8.self), reply.peerGoneAfterEOF)
        }
        let common = [("SERVER_PROTOCOL", "HTTP/1.1"), ("REMOTE_ADDR", "127.0.0.1"), ("HTTP_HOST", "127.0.0.1")]
        let ping = try exchange(common + [("REQUEST_METHOD", "GET"), ("DOCUMENT_URI", "/ping")], body: [])
        XCTAssertTrue(ping.response.hasSuffix("pong\n"), ping.response)
        XCTAssertTrue(ping.peerGoneAfterEOF, "a GET read to its end is closed at once")
        // 40 KB of body: the worker reads its first 16 KB (Worker.maxBodyBytes) and answers.
        let big = try exchange(common + [("REQUEST_METHOD", "POST"), ("DOCUMENT_URI", "/steemauth/signin"),
                                         ("CONTENT_TYPE", "application/x-www-form-urlencoded"), ("CONTENT_LENGTH", "40960")],
                               body: [UInt8](repeating: 0x61, count: 40960))
        XCTAssertTrue(big.response.hasPrefix("Status: "), big.response)
        XCTAssertFalse(big.peerGoneAfterEOF, "an unread body is drained by the lingering close, not reset")
        // The pool keeps serving.
        XCTAssertEqual(try Browser(cluster.baseURL).get("/ping").text, "pong\n")
    }

    /// A connection that stops partway through a request cannot hold a worker: on a unix socket the
    /// worker accepts each connection itself and gives it a receive timeout (Worker.unixReadTimeoutMs).
    /// One worker, two stalled connections queued for it (one stops inside the begin record, one
    /// inside the params, where libfcgi's own accept never bounded the wait): the worker drops each,
    /// says so in the log, and then serves nginx's request.
    func testAStalledConnectionDoesNotHoldAWorker() throws {
        try start(["STEEMAUTH_WORKERS": "1"])
        let socketPath = String(cluster.upstream.dropFirst(5))
        XCTAssertTrue(cluster.upstream.hasPrefix("unix:"))
        let beginRecord: [UInt8] = [1, 1, 0, 1, 0, 8, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]
        let partial: [[UInt8]] = [Array(beginRecord.prefix(3)), beginRecord + [1, 4, 0, 1, 0, 40, 0, 0, 14, 3]]
        var stalled: [Int32] = []
        defer { stalled.forEach { close($0) } }
        for bytes in partial {
            let fd = Cluster.connectUnix(socketPath)
            XCTAssertGreaterThanOrEqual(fd, 0)
            var wait = timeval(tv_sec: 60, tv_usec: 0)      // only a worker that never lets go meets it
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, socklen_t(MemoryLayout<timeval>.size))
            XCTAssertEqual(bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }, bytes.count)
            stalled.append(fd)
        }
        for (i, fd) in stalled.enumerated() {
            var byte: UInt8 = 0
            let n = recv(fd, &byte, 1, 0)
            XCTAssertTrue(n == 0 || (n < 0 && errno == ECONNRESET), "stalled connection \(i): the worker still holds it (recv \(n), errno \(errno))")
        }
        XCTAssertEqual(try Browser(cluster.baseURL).get("/ping").text, "pong\n")
        try waitUntil("both drops logged", seconds: 30) {
            self.cluster.poolLog().components(separatedBy: "dropped a connection that sent no whole request").count - 1 >= 2
        }
    }

    func testRedisDownAtStartUpIsNotFatal() throws {
        cluster = try Cluster()
        try cluster.startPool()
        try cluster.startNginx()
        let b = Browser(cluster.baseURL)
        _ = try b.get("/")
        XCTAssertEqual(try b.get("/steemauth").status, 503)
        try cluster.startRedis()
        try waitUntil("pages work once Redis answers", seconds: 30, interval: 0.1) { try b.get("/steemauth").status == 200 }
    }
}
