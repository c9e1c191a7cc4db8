#if canImport(Glibc)
import Glibc
#endif
import SteemAuthCore

/// Bytes from the OS CSPRNG (getentropy(3), i.e. getrandom(2)); failing is fatal, never a weak fallback.
public enum SystemRandom {
    public static func bytes(_ count: Int) -> [UInt8] {
        precondition(count <= 256, "getentropy gives at most 256 bytes per call")
        var out = [UInt8](repeating: 0, count: count)
        let rc = out.withUnsafeMutableBytes { getentropy($0.baseAddress!, count) }
        if rc != 0 { fatalError("getentropy failed: errno \(errno)") }
        return out
    }

    public static func sessionID() -> SessionID { SessionID(randomBytes: bytes(SessionID.byteCount))! }
    public static func loginCode(prefix: String) -> LoginCode { LoginCode(randomBytes: bytes(LoginCode.randomByteCount), prefix: prefix)! }

    /// Both at once, from one getentropy call (the session hot path needs a spare of each).
    public static func sessionIDAndLoginCode(prefix: String) -> (SessionID, LoginCode) {
        let b = bytes(SessionID.byteCount + LoginCode.randomByteCount)
        return (SessionID(randomBytes: Array(b[..<SessionID.byteCount]))!,
                LoginCode(randomBytes: Array(b[SessionID.byteCount...]), prefix: prefix)!)
    }
}

/// Monotonic milliseconds, for timeouts and backoff (never the wall clock).
public func monotonicMilliseconds() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
}

/// Monotonic microseconds, for request timing.
public func monotonicMicroseconds() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Int64(ts.tv_sec) * 1_000_000 + Int64(ts.tv_nsec) / 1000
}

/// Wall-clock seconds since the epoch.
public func unixSeconds() -> Int64 { Int64(time(nil)) }

public func hostName() -> String {
    var buffer = [CChar](repeating: 0, count: 256)
    guard gethostname(&buffer, buffer.count - 1) == 0 else { return "unknown" }
    return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

public func processID() -> Int32 { getpid() }
