/// A session id: 128 random bits, shown as 32 lower-case hex characters.
public struct SessionID: Hashable, Sendable, CustomStringConvertible {
    public static let byteCount = 16
    public let hex: String

    /// From 16 bytes of CSPRNG output (the caller owns the randomness; the core does no I/O).
    /// From bytes where the caller keeps them (a new visitor's id: no array made). Concrete, not
    /// generic: called from another module, a generic one ran unspecialized (1k instructions more).
    public init?(randomBytes: UnsafeRawBufferPointer) {
        guard randomBytes.count == Self.byteCount else { return nil }
        hex = Hex.encode(randomBytes)
    }

    public init?(randomBytes: [UInt8]) {
        guard let id = randomBytes.withUnsafeBytes({ SessionID(randomBytes: $0) }) else { return nil }
        self = id
    }

    /// Accepts exactly 32 lower-case hex characters.
    public init?<Bytes: Collection>(hexBytes: Bytes) where Bytes.Element == UInt8 {
        guard hexBytes.count == 2 * Self.byteCount, Hex.isLower(hexBytes) else { return nil }
        hex = String(decoding: hexBytes, as: UTF8.self)
    }

    public init?(_ text: String) { self.init(hexBytes: Array(text.utf8)) }

    /// Deliberately redacted: session ids are bearer secrets and must not reach logs.
    public var description: String { "session(\(hex.prefix(4))…)" }
}
