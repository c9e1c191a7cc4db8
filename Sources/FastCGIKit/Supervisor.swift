import CFastCGI
#if canImport(Glibc)
import Glibc
#endif
import Logging

public struct PoolSettings: Sendable, Equatable {
    public var listenPath: String          // unix socket path or host:port (libfcgi's form)
    public var isUnixSocket: Bool
    public var socketMode: Int
    public var backlog: Int
    public var workers: Int
    public var maxRequests: Int
    public var shutdownTimeout: Int
    /// The unix socket's group (nginx's), so nginx reaches the socket without joining the service's group.
    public var socketGroup: String?
    /// On TCP, the only peers a worker reads from (see Worker.run); nil reads from any.
    public var allowedPeers: PeerAllowList?
    public init(listenPath: String, isUnixSocket: Bool, socketMode: Int, backlog: Int, workers: Int, maxRequests: Int, shutdownTimeout: Int,
                socketGroup: String? = nil, allowedPeers: PeerAllowList? = nil) {
        self.listenPath = listenPath; self.isUnixSocket = isUnixSocket; self.socketMode = socketMode; self.backlog = backlog
        self.workers = workers; self.maxRequests = maxRequests; self.shutdownTimeout = shutdownTimeout; self.socketGroup = socketGroup
        self.allowedPeers = allowedPeers
    }
}

/// What a forked worker is given: the listen socket, its request limit, the peers it reads from,
/// and its number (1, 2, …: the lowest free among the live workers).
public struct WorkerContext: Sendable {
    public let listenFD: Int32
    /// How long an idle worker blocks in accept at a time (the listen socket's receive timeout).
    public let idleTickMs: Int
    /// A unix socket: the worker accepts its connections itself (see Worker.run).
    public let unixSocket: Bool
    public let maxRequests: Int
    public let allowedPeers: PeerAllowList?
    public let number: Int
}

/// The pre-fork master, after php-fpm's `pm = static`: it owns the listen socket and its workers,
/// turns signals into actions in one loop (sigtimedwait; no async handlers), reaps and respawns.
public final class Supervisor {
    /// `number`: the lowest not held by another live worker, from 1 (so a replacement reuses its
    /// predecessor's: per-worker state such as a counter bank stays bounded).
    private struct Child { let pid: pid_t; let number: Int; let started: Int64; var draining: Bool; var drainStarted: Int64 }

    private var settings: PoolSettings
    private let logger: Logger
    /// Set by `run`: what each forked child runs, returning its exit code.
    private var workerMain: (WorkerContext) -> Int32 = { _ in 0 }
    private let reload: () -> PoolSettings?
    private var listenFD: Int32 = -1
    private var children: [pid_t: Child] = [:]
    private var pendingReplacement: [pid_t] = []
    private var recentDeaths: [Int64] = []
    private var lastSpawn: Int64 = 0
    private let handled: [Int32] = [SIGCHLD, SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGUSR1]

    public enum Event: Sendable { case started, died, left }
    /// Called in the master for each worker event (metrics).
    public var onEvent: (Event) -> Void = { _ in }

    /// `reload` runs in the master on SIGHUP; nil keeps the old state (and logs why).
    public init(settings: PoolSettings, logger: Logger, reload: @escaping () -> PoolSettings?) {
        self.settings = settings
        self.logger = logger
        self.reload = reload
    }

    public struct StartError: Error, CustomStringConvertible { public let description: String }

    /// The listen socket's receive timeout, which every worker is also told (see Worker.idleTickMs).
    private var idleTickMs: Int { Worker.idleTickMs(unixSocket: settings.isUnixSocket) }

    /// Hands the unix socket to `group` (STEEMAUTH_SOCKET_GROUP). The pool's user must be root or a
    /// member of that group (the unit's SupplementaryGroups); otherwise start-up stops and says so.
    private func giveSocket(toGroup group: String) throws(StartError) {
        guard let entry = getgrnam(group) else {
            throw StartError(description: "STEEMAUTH_SOCKET_GROUP: there is no group named \(group)")
        }
        guard chown(settings.listenPath, uid_t.max, entry.pointee.gr_gid) == 0 else {
            throw StartError(description: "STEEMAUTH_SOCKET_GROUP: cannot give the socket \(settings.listenPath) to group \(group) "
                + "(\(String(cString: strerror(errno))); the pool's user must be a member of it)")
        }
    }

    /// Runs until SIGTERM/SIGINT/SIGQUIT; returns the process exit code. Each forked worker makes its
    /// handler once (`makeHandler`, in the child), serves requests with it until told to stop, and on
    /// recycling (max requests, or the handler's `afterResponse` advice) tells the master, which
    /// starts its replacement, before it leaves.
    public func run<Handler: RequestHandler>(makeHandler: @escaping (WorkerContext) -> Handler) throws(StartError) -> Int32 {
        workerMain = { [logger] worker in
            var handler = makeHandler(worker)
            let reason = Worker.run(listenFD: worker.listenFD, idleTickMs: worker.idleTickMs, unixSocket: worker.unixSocket,
                                    allowedPeers: worker.allowedPeers, maxRequests: worker.maxRequests, handler: &handler, logger: logger)
            if reason == .recycled { notifyMasterOfRecycle() }
            return 0
        }
        FCGX_Init()
        if settings.isUnixSocket { unlink(settings.listenPath) }
        listenFD = FCGX_OpenSocket(settings.listenPath, Int32(settings.backlog))
        guard listenFD >= 0 else { throw StartError(description: "cannot listen on \(settings.listenPath): \(String(cString: strerror(errno)))") }
        if settings.isUnixSocket {
            if let group = settings.socketGroup { try giveSocket(toGroup: group) }
            chmod(settings.listenPath, mode_t(settings.socketMode))
        }
        // Workers block in accept, for at most an idle tick at a time (see Worker.run).
        guard steemauth_set_accept_timeout(listenFD, Int32(idleTickMs)) == 0 else {
            throw StartError(description: "cannot set the listen socket's accept timeout: \(String(cString: strerror(errno)))")
        }
        logger.info("pool: listening", metadata: ["listen": "\(settings.listenPath)", "socket_group": "\(settings.socketGroup ?? "-")",
                                                  "workers": "\(settings.workers)",
                                                  "backlog": "\(settings.backlog)", "max_requests": "\(settings.maxRequests)"])
        var set = signalSet()
        sigprocmask(SIG_BLOCK, &set, nil)
        maintain()
        while true {
            var info = siginfo_t()
            var wait = timespec(tv_sec: 0, tv_nsec: 50_000_000)
            let sig = sigtimedwait(&set, &info, &wait)
            switch sig {
            case SIGTERM, SIGINT, SIGQUIT:
                logger.notice("pool: stopping", metadata: ["signal": "\(sig)"])
                stopAll()
                return 0
            case SIGHUP:
                beginReload()
            case SIGUSR1:
                // A worker reached max requests: start its replacement before it leaves.
                let pid = info._sifields._kill.si_pid
                if var child = children[pid], !child.draining {
                    child.draining = true
                    child.drainStarted = monotonicNow()
                    children[pid] = child
                }
            default: break
            }
            reap()
            replaceOneOldWorker()
            maintain()
            killOverdueDrainers()
        }
    }

    private func signalSet() -> sigset_t {
        var set = sigset_t()
        sigemptyset(&set)
        for s in handled { sigaddset(&set, s) }
        return set
    }

    private func spawn() {
        let busy = Set(children.values.map(\.number))
        let number = (1...).first { !busy.contains($0) }!
        let pid = fork()
        if pid < 0 {
            logger.error("pool: fork failed", metadata: ["errno": "\(errno)"])
            return
        }
        if pid == 0 {
            // Child: stop signals stay blocked and are looked for between requests; it dies with the master.
            if steemauth_worker_signals() != 0 { _exit(70) }
            _ = steemauth_die_with_parent()
            if getppid() == 1 { _exit(0) }
            _exit(workerMain(WorkerContext(listenFD: listenFD, idleTickMs: idleTickMs, unixSocket: settings.isUnixSocket, maxRequests: settings.maxRequests,
                                          allowedPeers: settings.isUnixSocket ? nil : settings.allowedPeers, number: number)))
        }
        let now = monotonicNow()
        lastSpawn = now
        children[pid] = Child(pid: pid, number: number, started: now, draining: false, drainStarted: 0)
        onEvent(.started)
        logger.info("pool: worker started", metadata: ["pid": "\(pid)"])
    }

    private func reap() {
        var status: Int32 = 0
        while true {
            let pid = waitpid(-1, &status, WNOHANG)
            if pid <= 0 { break }
            guard let child = children.removeValue(forKey: pid) else { continue }
            pendingReplacement.removeAll { $0 == pid }
            let uptime = Double(monotonicNow() - child.started) / 1000
            let signaled = (status & 0x7f) != 0 && (status & 0x7f) != 0x7f
            let how = signaled ? "signal \(status & 0x7f)" : "exit \((status >> 8) & 0xff)"
            // Exit 0 unasked is a recycle (max requests) whose notice raced its exit: not a crash.
            if child.draining || (!signaled && status == 0) {
                logger.info("pool: worker left", metadata: ["pid": "\(pid)", "status": "\(how)", "uptime_s": "\(uptime)"])
                onEvent(.left)
            } else {
                recentDeaths.append(monotonicNow())
                logger.warning("pool: worker died", metadata: ["pid": "\(pid)", "status": "\(how)", "uptime_s": "\(uptime)"])
                onEvent(.died)
            }
        }
    }

    /// Keeps `workers` non-draining children; throttles only a crash loop (> 10 deaths in 10 s).
    private func maintain() {
        let now = monotonicNow()
        recentDeaths.removeAll { now - $0 > 10_000 }
        while children.values.filter({ !$0.draining }).count < settings.workers {
            if recentDeaths.count > 10 && now - lastSpawn < 1000 {
                logger.error("pool: workers crash-looping, respawn throttled to 1/s", metadata: ["deaths_10s": "\(recentDeaths.count)"])
                return
            }
            spawn()
        }
        // After a reload that lowered the count, retire the surplus.
        var surplus = children.values.filter { !$0.draining }.count - settings.workers
        for pid in children.keys where surplus > 0 && !children[pid]!.draining {
            drain(pid); surplus -= 1
        }
    }

    private func beginReload() {
        guard let fresh = reload() else {
            logger.error("pool: reload failed, keeping the running configuration")
            return
        }
        if fresh.listenPath != settings.listenPath || fresh.backlog != settings.backlog {
            logger.warning("pool: a new listen address or backlog takes a restart; keeping the open socket")
        }
        settings.workers = fresh.workers
        settings.maxRequests = fresh.maxRequests
        settings.shutdownTimeout = fresh.shutdownTimeout
        settings.allowedPeers = fresh.allowedPeers
        pendingReplacement = children.values.filter { !$0.draining }.map(\.pid)
        logger.notice("pool: reloading, replacing workers one by one", metadata: ["workers": "\(pendingReplacement.count)"])
    }

    /// One old worker at a time: its replacement is forked first, then it finishes its request and leaves.
    private func replaceOneOldWorker() {
        guard !children.values.contains(where: { $0.draining }), let pid = pendingReplacement.first else { return }
        pendingReplacement.removeFirst()
        guard children[pid] != nil else { return }
        drain(pid)
    }

    private func drain(_ pid: pid_t) {
        guard var child = children[pid] else { return }
        child.draining = true
        child.drainStarted = monotonicNow()
        children[pid] = child
        spawnIfShort()
        kill(pid, SIGTERM)
    }

    private func spawnIfShort() {
        if children.values.filter({ !$0.draining }).count < settings.workers { spawn() }
    }

    private func killOverdueDrainers() {
        let now = monotonicNow()
        for child in children.values where child.draining && now - child.drainStarted > Int64(settings.shutdownTimeout) * 1000 {
            logger.warning("pool: worker did not stop in time, killing", metadata: ["pid": "\(child.pid)"])
            kill(child.pid, SIGKILL)
        }
    }

    /// graceful (TERM) → wait up to the timeout → KILL; then close and remove the socket.
    private func stopAll() {
        pendingReplacement.removeAll()
        for pid in children.keys { kill(pid, SIGTERM) }
        let deadline = monotonicNow() + Int64(settings.shutdownTimeout) * 1000
        var set = signalSet()
        while !children.isEmpty && monotonicNow() < deadline {
            var info = siginfo_t()
            var wait = timespec(tv_sec: 0, tv_nsec: 50_000_000)
            _ = sigtimedwait(&set, &info, &wait)
            reapQuietly()
        }
        for pid in children.keys {
            logger.warning("pool: worker still running after \(settings.shutdownTimeout)s, killing", metadata: ["pid": "\(pid)"])
            kill(pid, SIGKILL)
        }
        while !children.isEmpty {
            var status: Int32 = 0
            let pid = waitpid(-1, &status, 0)
            if pid < 0 { break }
            children.removeValue(forKey: pid)
        }
        close(listenFD)
        if settings.isUnixSocket { unlink(settings.listenPath) }
        logger.notice("pool: stopped")
    }

    private func reapQuietly() {
        var status: Int32 = 0
        while true {
            let pid = waitpid(-1, &status, WNOHANG)
            if pid <= 0 { break }
            children.removeValue(forKey: pid)
        }
    }
}

/// Tells the master (the parent) that this worker is about to recycle itself.
func notifyMasterOfRecycle() { kill(getppid(), SIGUSR1) }

func monotonicNow() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
}
