#if canImport(Glibc)
import Glibc
#endif
import SteemAuthCore

/// The system's clocks: the one place the process reads the time. Routes take it as a
/// `TimeSource` (a test gives them its own); code that only measures how long something takes
/// (timeouts, backoff, RPC deadlines) reads it through the functions below.
public struct SystemClock: TimeSource {
    public init() {}

    public var unixSeconds: Int64 { Int64(time(nil)) }

    public var monotonicMilliseconds: Int64 { monotonicMicroseconds / 1000 }

    public var monotonicMicroseconds: Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1_000_000 + Int64(ts.tv_nsec) / 1000
    }
}

/// `SystemClock`'s monotonic milliseconds, for timeouts and backoff (never the wall clock).
public func monotonicMilliseconds() -> Int64 { SystemClock().monotonicMilliseconds }

/// `SystemClock`'s monotonic microseconds, for request timing.
public func monotonicMicroseconds() -> Int64 { SystemClock().monotonicMicroseconds }

/// `SystemClock`'s wall-clock seconds since the epoch.
public func unixSeconds() -> Int64 { SystemClock().unixSeconds }
