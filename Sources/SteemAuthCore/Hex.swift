/// Lower-case hex, strict decoding, and a constant-time comparison for MACs.
public enum Hex {
    private static let digits: [UInt8] = Array("0123456789abcdef".utf8)

    public static func encode<Bytes: Collection>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        // Written straight into the string's storage: hex is ASCII, nothing to validate or copy.
        String(unsafeUninitializedCapacity: 2 * bytes.count) { write(bytes, into: $0, at: 0) }
    }

    /// The bytes' hex written into `out` from `at` (room for two digits a byte); returns the end.
    public static func write<Bytes: Collection>(_ bytes: Bytes, into out: UnsafeMutableBufferPointer<UInt8>, at start: Int) -> Int
        where Bytes.Element == UInt8 {
        var at = start
        for b in bytes {
            out[at] = digits[Int(b >> 4)]; out[at + 1] = digits[Int(b & 0x0f)]
            at += 2
        }
        return at
    }

    /// Decodes lower-case hex only; upper case, odd length or any other byte is nil.
    public static func decodeLower<Bytes: Collection>(_ text: Bytes) -> [UInt8]? where Bytes.Element == UInt8 {
        guard text.count % 2 == 0 else { return nil }
        // In place where the bytes are contiguous (every cookie check): no per-byte appends.
        if let decoded = text.withContiguousStorageIfAvailable({ decodeLower(buffer: $0) }) { return decoded }
        return Array(text).withUnsafeBufferPointer { decodeLower(buffer: $0) }
    }

    private static func decodeLower(buffer: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        var valid = true
        let out = [UInt8](unsafeUninitializedCapacity: buffer.count / 2) { out, initialized in
            var i = 0
            while i < buffer.count / 2 {
                let high = nibble(buffer[2 * i]), low = nibble(buffer[2 * i + 1])
                guard high | low <= 0x0f else { valid = false; break }
                out[i] = high << 4 | low
                i += 1
            }
            initialized = i
        }
        return valid ? out : nil
    }

    /// A lower-case hex digit's value, else nil.
    @inline(__always) static func lowerNibble(_ c: UInt8) -> UInt8? {
        let n = nibble(c)
        return n <= 0x0f ? n : nil
    }

    /// A nibble's lower-case hex digit, without a branch or a table on the (secret) value.
    @inline(__always) static func digit(_ n: UInt8) -> UInt8 {
        let pastNine = UInt8(truncatingIfNeeded: (9 &- Int(n)) >> 8)       // 0xff when n > 9, else 0
        return UInt8(ascii: "0") &+ n &+ (pastNine & 39)                     // 39 = "a" - "0" - 10
    }

    /// A lower-case hex digit's value, else 0xff.
    @inline(__always) private static func nibble(_ c: UInt8) -> UInt8 {
        let digit = c &- UInt8(ascii: "0")
        if digit < 10 { return digit }
        let letter = c &- UInt8(ascii: "a")
        return letter < 6 ? letter + 10 : 0xff
    }

    /// Decodes hex in either case (for operator-supplied secrets).
    public static func decodeAnyCase(_ text: String) -> [UInt8]? {
        decodeLower(Array(text.lowercased().utf8))
    }

    /// Whether `text` is exactly `bytes` in lower-case hex (as `encode` writes it), in time that
    /// depends only on the lengths: a MAC is checked against its hex without decoding the hex.
    public static func constantTimeEqual<Bytes: Collection, Text: Collection>(hexOf bytes: Bytes, _ text: Text) -> Bool
        where Bytes.Element == UInt8, Text.Element == UInt8 {
        guard text.count == 2 * bytes.count else { return false }
        var diff: UInt8 = 0
        var at = text.startIndex
        for b in bytes {
            diff |= text[at] ^ digit(b >> 4); at = text.index(after: at)
            diff |= text[at] ^ digit(b & 0x0f); at = text.index(after: at)
        }
        return diff == 0
    }

    /// Compares two byte strings in time that depends only on their lengths.
    public static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var diff: UInt8 = 0
        for i in 0..<a.count { diff |= a[i] ^ b[i] }
        return diff == 0
    }
}
