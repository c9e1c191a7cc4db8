/// A session id: 128 random bits, shown as 32 lower-case hex characters. The bits are kept inline
/// (two words): making, hashing and comparing an id allocates nothing; `hex` is written when asked.
public struct SessionID: Hashable, Sendable, CustomStringConvertible {
    public static let byteCount = 16
    public static let hexLength = 2 * byteCount
    private let high: UInt64, low: UInt64       // the bytes in order, big-endian

    /// From 16 bytes of CSPRNG output (the caller owns the randomness; the core does no I/O), where
    /// the caller keeps them (a new visitor's id: no array made). Concrete, not generic: called from
    /// another module, a generic one ran unspecialized (1k instructions more).
    public init?(randomBytes: UnsafeRawBufferPointer) {
        guard randomBytes.count == Self.byteCount else { return nil }
        var high: UInt64 = 0, low: UInt64 = 0
        for i in 0..<8 { high = high << 8 | UInt64(randomBytes[i]); low = low << 8 | UInt64(randomBytes[8 + i]) }
        self.high = high; self.low = low
    }

    public init?(randomBytes: [UInt8]) {
        guard let id = randomBytes.withUnsafeBytes({ SessionID(randomBytes: $0) }) else { return nil }
        self = id
    }

    /// Accepts exactly 32 lower-case hex characters.
    public init?<Bytes: Collection>(hexBytes: Bytes) where Bytes.Element == UInt8 {
        guard let id = hexBytes.withContiguousStorageIfAvailable({ SessionID(hexBytes: $0) }) ?? Array(hexBytes).withUnsafeBufferPointer({ SessionID(hexBytes: $0) })
        else { return nil }
        self = id
    }

    /// The same on bytes in place (every cookie check): both words are built in one loop, and the
    /// digits' validity is checked once at its end.
    public init?(hexBytes: UnsafeBufferPointer<UInt8>) {
        guard hexBytes.count == Self.hexLength else { return nil }
        var high: UInt64 = 0, low: UInt64 = 0, invalid: UInt8 = 0
        for i in 0..<16 {
            let h = Hex.lowerNibbleOrInvalid(hexBytes[i]), l = Hex.lowerNibbleOrInvalid(hexBytes[16 + i])
            invalid |= h | l
            high = high << 4 | UInt64(h & 0x0f); low = low << 4 | UInt64(l & 0x0f)
        }
        guard invalid <= 0x0f else { return nil }
        self.high = high; self.low = low
    }

    public init?(_ text: String) { self.init(hexBytes: Array(text.utf8)) }

    /// The 32 hex characters.
    public var hex: String { String(unsafeUninitializedCapacity: Self.hexLength) { writeHex(into: $0) } }

    /// The 32 hex characters written at the start of `out` (room for 32); returns 32.
    public func writeHex(into out: UnsafeMutableBufferPointer<UInt8>) -> Int {
        for i in 0..<16 {
            out[i] = Hex.digit(UInt8(truncatingIfNeeded: high >> (60 - 4 * UInt64(i))) & 0x0f)
            out[16 + i] = Hex.digit(UInt8(truncatingIfNeeded: low >> (60 - 4 * UInt64(i))) & 0x0f)
        }
        return Self.hexLength
    }

    /// Deliberately redacted: session ids are bearer secrets and must not reach logs.
    public var description: String { "session(\(hex.prefix(4))…)" }
}
