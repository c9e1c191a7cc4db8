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

    /// A lower-case hex digit's value, else a value over 0x0f: selected, not branched on (an id's
    /// digits and letters come in no order a branch could predict).
    @inline(__always) static func lowerNibbleOrInvalid(_ c: UInt8) -> UInt8 {
        let digit = c &- UInt8(ascii: "0"), letter = c &- UInt8(ascii: "a")
        let letterValue = letter < 6 ? letter &+ 10 : 0xff
        return digit < 10 ? digit : letterValue
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
        Array(bytes).withUnsafeBytes { bytes in Array(text).withUnsafeBufferPointer { constantTimeEqual(hexOf: bytes, $0) } }
    }

    /// `constantTimeEqual(hexOf:_:)` for a MAC where it was just written (every cookie check): eight
    /// digits at a time, each word of digits made from four bytes without a branch or a table on
    /// them, and compared with eight of the text's bytes.
    public static func constantTimeEqual(hexOf bytes: UnsafeRawBufferPointer, _ text: UnsafeBufferPointer<UInt8>) -> Bool {
        guard text.count == 2 * bytes.count, let textBase = text.baseAddress else { return text.count == 2 * bytes.count }
        let words = bytes.count / 4
        var diff: UInt64 = 0
        for i in 0..<words {
            let digits = hexDigitsWord(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
            diff |= digits ^ UInt64(littleEndian: UnsafeRawPointer(textBase).loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))
        }
        var tail: UInt8 = 0
        for i in (4 * words)..<bytes.count {
            tail |= text[2 * i] ^ digit(bytes[i] >> 4)
            tail |= text[2 * i + 1] ^ digit(bytes[i] & 0x0f)
        }
        return diff | UInt64(tail) == 0
    }

    /// The eight lower-case hex digits of four bytes (`b0` in the low byte of `bytes`), in the
    /// order they are written, as the bytes of a little-endian word.
    @inline(__always) static func hexDigitsWord(_ bytes: UInt32) -> UInt64 {
        var spread = UInt64(bytes)
        // Each byte into its own 16 bits; then its high nibble into the lower byte of them, its low nibble into the upper.
        spread = (spread | spread << 16) & 0x0000_ffff_0000_ffff
        spread = (spread | spread << 8) & 0x00ff_00ff_00ff_00ff
        let nibbles = (spread >> 4) & 0x000f_000f_000f_000f | (spread & 0x000f_000f_000f_000f) << 8
        // 1 in each byte whose nibble is 10 to 15 (adding 0x76 carries into the byte's top bit), no carry between bytes.
        let pastNine = ((nibbles &+ 0x7676_7676_7676_7676) & 0x8080_8080_8080_8080) >> 7
        return nibbles &+ 0x3030_3030_3030_3030 &+ pastNine &* 39          // "0" + n, and "a" - "0" - 10 = 39 more past nine
    }

    /// Compares two byte strings in time that depends only on their lengths.
    public static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var diff: UInt8 = 0
        for i in 0..<a.count { diff |= a[i] ^ b[i] }
        return diff == 0
    }
}
