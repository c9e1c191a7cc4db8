#if canImport(Glibc)
import Glibc
#endif
import SteemAuthCore

/// Bytes from the OS CSPRNG (getentropy(3), i.e. getrandom(2)); failing is fatal, never a weak fallback.
public enum SystemRandom {
    public static func bytes(_ count: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        out.withUnsafeMutableBytes { fill($0) }
        return out
    }

    /// Fills `buffer` from getentropy (at most 256 bytes).
    static func fill(_ buffer: UnsafeMutableRawBufferPointer) {
        precondition(buffer.count <= 256, "getentropy gives at most 256 bytes per call")
        guard let start = buffer.baseAddress else { return }
        if getentropy(start, buffer.count) != 0 { fatalError("getentropy failed: errno \(errno)") }
    }

    /// A new visitor's id, its random bytes on the stack (no array: this runs for every new visitor).
    public static func sessionID() -> SessionID {
        withUnsafeTemporaryAllocation(byteCount: SessionID.byteCount, alignment: 1) { raw in
            fill(raw)
            return SessionID(randomBytes: UnsafeRawBufferPointer(raw))!
        }
    }
    public static func loginCode(prefix: String) -> LoginCode { LoginCode(randomBytes: bytes(LoginCode.randomByteCount), prefix: prefix)! }

    /// Both at once, from one getentropy call (the session hot path needs a spare of each).
    public static func sessionIDAndLoginCode(prefix: String) -> (SessionID, LoginCode) {
        let b = bytes(SessionID.byteCount + LoginCode.randomByteCount)
        return (SessionID(randomBytes: Array(b[..<SessionID.byteCount]))!,
                LoginCode(randomBytes: Array(b[SessionID.byteCount...]), prefix: prefix)!)
    }
}

public func hostName() -> String {
    var buffer = [CChar](repeating: 0, count: 256)
    guard gethostname(&buffer, buffer.count - 1) == 0 else { return "unknown" }
    return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

public func processID() -> Int32 { getpid() }
