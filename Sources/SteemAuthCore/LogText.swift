/// Text bound for a log line: control characters (C0, DEL, C1, and the Unicode line and paragraph
/// separators) are written as escapes, so bytes from outside can neither split a line nor forge one.
public enum LogText {
    public static func escape(_ s: String) -> String {
        guard s.unicodeScalars.contains(where: { needsEscape($0) || $0 == "\\" }) else { return s }
        var out = ""
        out.reserveCapacity(s.utf8.count + 8)
        for u in s.unicodeScalars {
            switch u {
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\\": out += "\\\\"
            default:
                if needsEscape(u) {
                    let hex = String(u.value, radix: 16)
                    out += "\\u{" + hex + "}"
                } else { out.unicodeScalars.append(u) }
            }
        }
        return out
    }

    /// (A backslash is escaped too, so `\n` in a log line always means an escape, never a forged one.)
    static func needsEscape(_ u: Unicode.Scalar) -> Bool {
        u.value < 0x20 || u.value == 0x7f || (0x80...0x9f).contains(u.value) || u.value == 0x2028 || u.value == 0x2029
    }
}
