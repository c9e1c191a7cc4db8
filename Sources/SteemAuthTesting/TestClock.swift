/// The time the in-memory stores run on: moved only by the test, so expiry needs no waiting.
public final class TestClock: @unchecked Sendable {     // one test's thread
    /// Unix time in milliseconds.
    public var milliseconds: Int64

    public init(unixSeconds: Int64 = 1_700_000_000) { milliseconds = unixSeconds * 1000 }

    /// Unix time in whole seconds (what the routes pass as `now`).
    public var seconds: Int64 { milliseconds / 1000 }

    public func advance(seconds: Int64) { milliseconds += seconds * 1000 }
    public func advance(milliseconds: Int64) { self.milliseconds += milliseconds }
}
