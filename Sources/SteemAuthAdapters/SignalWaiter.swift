#if canImport(Glibc)
import Glibc
#endif

/// A single-threaded process's stop signals, taken synchronously: TERM/INT/QUIT are blocked and
/// collected with sigtimedwait, which doubles as the sleep between polls.
public final class SignalWaiter {
    private var set = sigset_t()
    public private(set) var stopRequested = false

    /// Call before any thread starts, so every thread inherits the blocked mask.
    public init() {
        sigemptyset(&set)
        for s in [SIGTERM, SIGINT, SIGQUIT] { sigaddset(&set, s) }
        sigprocmask(SIG_BLOCK, &set, nil)
        signal(SIGPIPE, SIG_IGN)
    }

    /// Sleeps up to `seconds`, returning early (true) when a stop signal arrives.
    @discardableResult
    public func wait(seconds: Double) -> Bool {
        if stopRequested { return true }
        var info = siginfo_t()
        let whole = max(0, seconds)
        var ts = timespec(tv_sec: Int(whole), tv_nsec: Int((whole - Double(Int(whole))) * 1_000_000_000))
        let sig = sigtimedwait(&set, &info, &ts)
        if sig > 0 { stopRequested = true }
        return stopRequested
    }

    /// Checks for a pending stop signal without sleeping.
    public func poll() -> Bool { wait(seconds: 0) }
}
