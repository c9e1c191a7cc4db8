import SteemAuthCore

/// The time the in-memory stores and the routes run on: moved only by the test, so expiry needs no
/// waiting. Its monotonic time is its wall time (a test never moves it back).
public final class TestClock: TimeSource, @unchecked Sendable {     // one test's thread
    /// Unix time in milliseconds.
    public var milliseconds: Int64

    public init(unixSeconds: Int64 = 1_700_000_000) { milliseconds = unixSeconds * 1000 }

    /// Unix time in whole seconds (what the routes pass as `now`).
    public var seconds: Int64 { milliseconds / 1000 }

    public func advance(seconds: Int64) { milliseconds += seconds * 1000 }
    public func advance(milliseconds: Int64) { self.milliseconds += milliseconds }

    public var unixSeconds: Int64 { seconds }
    public var monotonicMilliseconds: Int64 { milliseconds }
    public var monotonicMicroseconds: Int64 { milliseconds * 1000 }
}
