/// Where the time comes from: the system's clocks in production (`SystemClock`), a test's own clock
/// in tests, so routes and the stores they call agree on what time it is. Wall time says *when*
/// (TTLs, challenges, token lifetimes); monotonic time says *how long* (deadlines, backoff, timings).
public protocol TimeSource: Sendable {
    /// Wall-clock seconds since the epoch.
    var unixSeconds: Int64 { get }
    /// Milliseconds that never step back (not the wall clock): deadlines and backoff.
    var monotonicMilliseconds: Int64 { get }
    /// The same clock in microseconds: request timings.
    var monotonicMicroseconds: Int64 { get }
}
