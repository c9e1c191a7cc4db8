/// Small, allocation-light JSON writing for the hot routes (status), where key order is fixed.
public enum JSONText {
    public static func string(_ s: String) -> String {
        // On bytes: every character that needs an escape is ASCII, and UTF-8 never hides one
        // inside a multi-byte sequence.
        var s = s
        let clean = s.withUTF8 { utf8 in !utf8.contains(where: needsEscape) }
        if clean {
            // Almost always (codes, account names): the text as it is, quoted; no re-validation.
            var out = "\""
            out.reserveCapacity(s.utf8.count + 2)
            out += s
            out += "\""
            return out
        }
        return s.withUTF8 { utf8 in
            var out = [UInt8](); out.reserveCapacity(utf8.count + 16)
            out.appendJSONString(utf8)
            return String(decoding: out, as: UTF8.self)
        }
    }

    /// The bytes a JSON string written here escapes: `"`, `\\`, control characters, and `<` (so the
    /// text is safe inside HTML too).
    @inline(__always) static func needsEscape(_ b: UInt8) -> Bool { b < 0x20 || b == 0x22 || b == 0x5c || b == 0x3c }

    /// The former scalar-by-scalar writer, kept as the reference the byte writer is tested against.
    static func stringByScalars(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "<": out += "\\u003c"          // safe inside HTML too
            default:
                if u.value < 0x20 {
                    let hex = String(u.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else { out.unicodeScalars.append(u) }
            }
        }
        return out + "\""
    }

    /// A number in decimal, made without `String(_:)`'s generic path (a protocol call, then the
    /// generic digit writer): the session script's integer arguments are made on every request.
    public static func decimal(_ value: Int64) -> String {
        withDecimalText(value) { String(decoding: $0, as: UTF8.self) }
    }

    public static func optionalString(_ s: String?) -> String { s.map(string) ?? "null" }
    public static func optionalInt(_ i: Int?) -> String { i.map { String($0) } ?? "null" }
    public static func optionalNumber(_ d: Double?) -> String {
        guard let d, d.isFinite else { return "null" }
        return d == d.rounded() && abs(d) < 1e15 ? String(Int64(d)) : String(d)
    }
}

extension Array where Element == UInt8 {
    /// A string's UTF-8 in one bulk copy, for the byte writers of the hot routes.
    public mutating func appendUTF8(_ s: String) {
        var s = s
        s.withUTF8 { append(contentsOf: $0) }
    }

    /// A literal's bytes (no String made).
    public mutating func appendLiteral(_ s: StaticString) {
        append(contentsOf: UnsafeBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount))
    }

    /// A number in decimal (no String made).
    public mutating func appendDecimal(_ value: Int64) {
        withDecimalText(value) { append(contentsOf: $0) }
    }

    /// `s` as a JSON string: quoted, with `"`, `\\`, control characters and `<` (safe inside HTML
    /// too) escaped.
    public mutating func appendJSONString(_ s: String) {
        var s = s
        s.withUTF8 { appendJSONString($0) }
    }

    /// The same on UTF-8 bytes. On bytes: every character that needs an escape is ASCII, and UTF-8
    /// never hides one inside a multi-byte sequence.
    public mutating func appendJSONString(_ utf8: UnsafeBufferPointer<UInt8>) {
        append(0x22)
        appendJSONStringContents(utf8)
        append(0x22)
    }

    /// The same without the quotes: a part of a JSON string written piece by piece.
    public mutating func appendJSONStringContents(_ s: String) {
        var s = s
        s.withUTF8 { appendJSONStringContents($0) }
    }

    public mutating func appendJSONStringContents(_ utf8: UnsafeBufferPointer<UInt8>) {
        var cleanFrom = 0
        for (i, b) in utf8.enumerated() where JSONText.needsEscape(b) {
            append(contentsOf: UnsafeBufferPointer(rebasing: utf8[cleanFrom..<i]))      // the clean run, in one copy
            cleanFrom = i + 1
            // Two bytes per short escape, six for \u00XX (no array literal per character).
            switch b {
            case 0x22: append(0x5c); append(0x22)                        // \"
            case 0x5c: append(0x5c); append(0x5c)                        // \\
            case 0x0a: append(0x5c); append(UInt8(ascii: "n"))
            case 0x0d: append(0x5c); append(UInt8(ascii: "r"))
            case 0x09: append(0x5c); append(UInt8(ascii: "t"))
            default:                                                     // < and the other controls
                let hex: StaticString = "0123456789abcdef"
                appendLiteral("\\u00"); append(hex.utf8Start[Int(b >> 4)]); append(hex.utf8Start[Int(b & 0xf)])
            }
        }
        append(contentsOf: UnsafeBufferPointer(rebasing: utf8[cleanFrom...]))
    }
}

/// `value` in decimal, written right to left on the stack (at most a sign and 19 digits) and handed
/// to `body`.
@inline(__always)
func withDecimalText<R>(_ value: Int64, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
    withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { digits in
        var v = value.magnitude, at = digits.count
        repeat { at -= 1; digits[at] = UInt8(ascii: "0") + UInt8(v % 10); v /= 10 } while v > 0
        if value < 0 { at -= 1; digits[at] = UInt8(ascii: "-") }
        return body(UnsafeBufferPointer(rebasing: digits[at...]))
    }
}
