import FoundationEssentials

/// `application/x-www-form-urlencoded` (query strings and token request bodies): name/value pairs,
/// in order, percent-decoded with `+` as a space. Malformed escapes make the whole form invalid.
public enum FormURLEncoded {
    public static func parse(_ text: String) -> [(String, String)]? {
        var out: [(String, String)] = []
        for pair in text.split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = decode(kv[0]), let value = decode(kv.count > 1 ? kv[1] : "") else { return nil }
            out.append((name, value))
        }
        return out
    }

    /// `+` is a space, `%XX` a byte; the result must be UTF-8.
    public static func decode(_ s: Substring) -> String? {
        var out: [UInt8] = []
        out.reserveCapacity(s.utf8.count)
        var bytes = s.utf8.makeIterator()
        while let b = bytes.next() {
            switch b {
            case UInt8(ascii: "+"): out.append(0x20)
            case UInt8(ascii: "%"):
                guard let hi = bytes.next().flatMap(hexValue), let lo = bytes.next().flatMap(hexValue) else { return nil }
                out.append(hi << 4 | lo)
            default: out.append(b)
            }
        }
        return String(validating: out, as: UTF8.self)
    }

    private static func hexValue(_ b: UInt8) -> UInt8? {
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return b - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return b - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return b - UInt8(ascii: "A") + 10
        default: return nil
        }
    }

    /// Percent-encodes all but RFC 3986's unreserved characters.
    public static func encode(_ s: String) -> String {
        var out = ""
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.unicodeScalars.append(UnicodeScalar(b))
            default:
                let hex = Array("0123456789ABCDEF".utf8)
                out.unicodeScalars.append("%")
                out.unicodeScalars.append(UnicodeScalar(hex[Int(b >> 4)]))
                out.unicodeScalars.append(UnicodeScalar(hex[Int(b & 0xf)]))
            }
        }
        return out
    }

    /// The form as a dictionary, or nil when a parameter appears twice (OAuth 2.0 §3.1 forbids it).
    public static func unique(_ pairs: [(String, String)]) -> [String: String]? {
        var out: [String: String] = [:]
        for (k, v) in pairs {
            if out[k] != nil { return nil }
            out[k] = v
        }
        return out
    }

    /// `base` with `params` added to its query (a redirect URI may carry a query of its own).
    public static func appending(_ params: [(String, String)], to base: String) -> String {
        let query = params.map { encode($0.0) + "=" + encode($0.1) }.joined(separator: "&")
        return base + (base.contains("?") ? "&" : "?") + query
    }
}
