/// The one-time login code a visitor puts in the transfer memo. Never derived from the session id:
/// memos are public on the chain forever.
public struct LoginCode: Hashable, Sendable {
    public static let randomByteCount = 10          // 80 bits
    public static let length = 16                    // base32 characters
    private static let alphabet: [UInt8] = Array("abcdefghijklmnopqrstuvwxyz234567".utf8)

    /// The full memo text: configured prefix + code, lower case.
    public let memo: String

    public init?(randomBytes: [UInt8], prefix: String) {
        guard randomBytes.count == Self.randomByteCount, MemoPrefix.isValid(prefix) else { return nil }
        memo = prefix + Self.base32(randomBytes)
    }

    private init(validatedMemo: String) { memo = validatedMemo }

    /// Normalises a memo seen on the chain: ASCII whitespace trimmed, lower-cased; nil unless it is
    /// exactly `prefix` + 16 base32 characters. Encrypted memos (`#…`) never match.
    public static func fromMemo(_ raw: String, prefix: String) -> LoginCode? {
        guard raw.utf8.count <= 2048 else { return nil }
        let trimmed = trimmedMemo(raw).map(lowercaseASCII)
        guard trimmed.first != encryptedMark else { return nil }
        let prefixBytes = Array(prefix.utf8)
        guard trimmed.count == prefixBytes.count + length,
              Array(trimmed.prefix(prefixBytes.count)) == prefixBytes,
              trimmed.suffix(length).allSatisfy({ alphabet.contains($0) })
        else { return nil }
        return LoginCode(validatedMemo: String(decoding: trimmed, as: UTF8.self))
    }

    static func base32(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        var buffer: UInt32 = 0, bits = 0
        for b in bytes {
            buffer = buffer << 8 | UInt32(b); bits += 8
            while bits >= 5 {
                out.append(alphabet[Int((buffer >> UInt32(bits - 5)) & 31)]); bits -= 5
            }
        }
        if bits > 0 { out.append(alphabet[Int((buffer << UInt32(5 - bits)) & 31)]) }
        return String(decoding: out, as: UTF8.self)
    }

    /// The one rule for encrypted memos: `#` first, after ASCII whitespace. They are never a code.
    public static func isEncrypted(memo raw: String) -> Bool { trimmedMemo(raw).first == encryptedMark }

    private static let encryptedMark = UInt8(ascii: "#")

    /// A memo's bytes without surrounding ASCII whitespace: the one trim every memo rule reads.
    private static func trimmedMemo(_ raw: String) -> ArraySlice<UInt8> {
        let bytes = Array(raw.utf8)
        var start = 0, end = bytes.count
        while start < end, isASCIIWhitespace(bytes[start]) { start += 1 }
        while end > start, isASCIIWhitespace(bytes[end - 1]) { end -= 1 }
        return bytes[start..<end]
    }

    private static func isASCIIWhitespace(_ c: UInt8) -> Bool {
        c == 0x20 || c == 0x09 || c == 0x0a || c == 0x0d || c == 0x0b || c == 0x0c
    }
    private static func lowercaseASCII(_ c: UInt8) -> UInt8 {
        (c >= 0x41 && c <= 0x5a) ? c + 32 : c
    }
}

public enum MemoPrefix {
    /// `[a-z0-9-]{0,16}`: empty means no prefix.
    public static func isValid(_ p: String) -> Bool {
        let b = Array(p.utf8)
        return b.count <= 16 && b.allSatisfy {
            ($0 >= 0x61 && $0 <= 0x7a) || ($0 >= 0x30 && $0 <= 0x39) || $0 == UInt8(ascii: "-")
        }
    }
}
