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

    /// Runs `clients` threads sending session requests until `stop` is set; counts outcomes.
    final class Load {
        private let lock = NSLock()
        private(set) var sent = 0
        private(set) var failures: [String: Int] = [:]
        private var running = true
        private var threads: [Thread] = []
        private let group = DispatchGroup()

        init(base: String, clients: Int, paths: [String], maxSeconds: Double = 20) {
            for i in 0..<clients {
                group.enter()
                let t = Thread { [self] in
                    defer { group.leave() }
                    let browser = Browser(base)
                    _ = try? browser.get("/")
                    _ = try? browser.get("/steemauth")     // status answers 401 until the session exists
                    let deadline = Date().addingTimeInterval(maxSeconds)
                    var n = 0
                    while isRunning && Date() < deadline {
                        let path = paths[(n + i) % paths.count]; n += 1
                        var outcome: String? = nil
                        do {
                            let r = try browser.get(path)
                            if !(200..<400).contains(r.status) { outcome = "HTTP \(r.status) on \(path)" }
                        } catch { outcome = "transport: \(error)" }
                        record(outcome)
                    }
                }
                threads.append(t)
                t.start()
            }
        }
        private var isRunning: Bool { lock.lock(); defer { lock.unlock() }; return running }
        private func record(_ failure: String?) {
            lock.lock(); defer { lock.unlock() }
            sent += 1
            if let failure { failures[failure, default: 0] += 1 }
        }
        func stop() -> (sent: Int, failed: Int, reasons: [String: Int]) {
            lock.lock(); running = false; lock.unlock()
            group.wait()
            return (sent, failures.values.reduce(0, +), failures)
        }
    }

    func testKilledWorkerIsReplacedAndRequestsKeepSucceeding() throws {
        try start()
        let before = cluster.workerPIDs()
        XCTAssertEqual(before.count, 2)
        let load = Load(base: cluster.baseURL, clients: 2, paths: ["/steemauth/status", "/steemauth", "/ping"])
        usleep(300_000)
        var kills = 0
        for _ in 0..<3 {
            guard let victim = cluster.workerPIDs().first else { break }
            kill(victim, SIGKILL); kills += 1
            let killedAt = Date()
            try waitUntil("worker replaced", seconds: 2, interval: 0.005) {
                let now = self.cluster.workerPIDs()
                return now.count == 2 && !now.contains(victim)
            }
            XCTAssertLessThan(Date().timeIntervalSince(killedAt), 0.5)
            usleep(300_000)
        }
        let result = load.stop()
        print("kill -9 under load: sent \(result.sent), failed \(result.failed) \(result.reasons), kills \(kills)")
        XCTAssertGreaterThan(result.sent, 20)
        XCTAssertLessThanOrEqual(result.failed, kills, "only a request in a killed worker's hands may fail")
        XCTAssertTrue(cluster.poolLog().contains("status=signal 9"), "one log line per death with the signal")
    }

    func testSIGHUPReloadUnderLoadFailsNothing() throws {
        try start()
        let load = Load(base: cluster.baseURL, clients: 3, paths: ["/steemauth/status", "/steemauth", "/", "/ping"])
        usleep(300_000)
        let master = cluster.poolProcess!.processIdentifier
        let before = Set(cluster.workerPIDs())
        kill(master, SIGHUP)
        try waitUntil("every worker replaced", seconds: 10, interval: 0.05) {
            let now = Set(self.cluster.workerPIDs())
            return now.count == 2 && now.isDisjoint(with: before)
        }
        usleep(300_000)
        kill(master, SIGHUP)   // and once more
        usleep(800_000)
        let result = load.stop()
        print("SIGHUP under load: sent \(result.sent), failed \(result.failed) \(result.reasons)")
        XCTAssertGreaterThan(result.sent, 50)
        XCTAssertEqual(result.failed, 0)
        XCTAssertTrue(cluster.poolLog().contains("reloading"))
    }

    func testSIGTERMLetsInFlightRequestsFinish() throws {
        try start()
        let b1 = Browser(cluster.baseURL), b2 = Browser(cluster.baseURL)
        _ = try b1.startLogin(); _ = try b2.startLogin()
        // Hold Redis for 600 ms so both workers are mid-request when the stop comes.
        _ = try cluster.redis().command(["CLIENT", "PAUSE", "600"])
        let group = DispatchGroup()
        var statuses: [Int] = []
        let lock = NSLock()
        for b in [b1, b2] {
            group.enter()
            Thread {
                let s = (try? b.get("/steemauth").status) ?? -1
                lock.lock(); statuses.append(s); lock.unlock()
                group.leave()
            }.start()
        }
        usleep(150_000)
        let master = cluster.poolProcess!
        kill(master.processIdentifier, SIGTERM)
        group.wait()
        XCTAssertTrue(Cluster.waitForExit(master, seconds: 6), "the master exits by itself")
        XCTAssertEqual(master.terminationStatus, 0)
        XCTAssertEqual(statuses.sorted(), [200, 200], "requests in flight complete")
        XCTAssertTrue(cluster.poolLog().contains("pool: stopped"))
    }

    func testMaxRequestsRecyclesWorkers() throws {
        try start(["STEEMAUTH_MAX_REQUESTS": "5"])
        let first = Set(cluster.workerPIDs())
        let c = HTTPClient()
        for _ in 0..<40 { XCTAssertEqual(try c.request(url: cluster.baseURL + "/ping").status, 200) }
        try waitUntil("two workers again", seconds: 2) { self.cluster.workerPIDs().count == 2 }
        XCTAssertTrue(Set(cluster.workerPIDs()).isDisjoint(with: first))
        XCTAssertTrue(cluster.poolLog().contains("worker left"))
        XCTAssertFalse(cluster.poolLog().contains("worker died"), "a recycled worker is not a crash")
    }

    func testKillingTheMasterLeavesNoOrphans() throws {
        try start()
        let workers = cluster.workerPIDs()
        XCTAssertEqual(workers.count, 2)
        kill(cluster.poolProcess!.processIdentifier, SIGKILL)
        try waitUntil("workers gone", seconds: 3) { workers.allSatisfy { kill($0, 0) != 0 } }
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

    func testRedisDownAtStartUpIsNotFatal() throws {
        cluster = try Cluster()
        try cluster.startPool()
        try cluster.startNginx()
        let b = Browser(cluster.baseURL)
        _ = try b.get("/")
        XCTAssertEqual(try b.get("/steemauth").status, 503)
        try cluster.startRedis()
        try waitUntil("pages work once Redis answers", seconds: 5, interval: 0.1) { try b.get("/steemauth").status == 200 }
    }
}
