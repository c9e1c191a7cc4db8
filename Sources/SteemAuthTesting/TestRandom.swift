import SteemAuthCore

/// Random values for in-process tests, the same from the same seed: the shapes `SystemRandom`
/// draws (a session id, a login code, both at once) from a SplitMix64 stream. Never for anything
/// real: it is predictable by design.
public final class TestRandom: @unchecked Sendable {     // one test's thread
    private var state: UInt64

    public init(seed: UInt64 = 0x5EED) { state = seed }

    public func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    public func bytes(_ count: Int) -> [UInt8] { (0..<count).map { _ in UInt8(truncatingIfNeeded: next()) } }

    public func sessionID() -> SessionID { SessionID(randomBytes: bytes(SessionID.byteCount))! }

    public func loginCode(prefix: String) -> LoginCode { LoginCode(randomBytes: bytes(LoginCode.randomByteCount), prefix: prefix)! }

    public func sessionIDAndLoginCode(prefix: String) -> (SessionID, LoginCode) { (sessionID(), loginCode(prefix: prefix)) }
}
