import FoundationEssentials

/// base64url without padding (RFC 7515 §2), over Foundation's base64.
public enum Base64URL {
    public static func encode(_ bytes: [UInt8]) -> String {
        let standard = Data(bytes).base64EncodedString().utf8
        return String(decoding: standard.compactMap { b -> UInt8? in
            b == UInt8(ascii: "+") ? UInt8(ascii: "-") : b == UInt8(ascii: "/") ? UInt8(ascii: "_") : b == UInt8(ascii: "=") ? nil : b
        }, as: UTF8.self)
    }

    public static func decode(_ text: String) -> [UInt8]? {
        guard text.utf8.allSatisfy({ isAlphabet($0) }) else { return nil }
        var standard = text.utf8.map { $0 == UInt8(ascii: "-") ? UInt8(ascii: "+") : $0 == UInt8(ascii: "_") ? UInt8(ascii: "/") : $0 }
        while standard.count % 4 != 0 { standard.append(UInt8(ascii: "=")) }
        return Data(base64Encoded: Data(standard)).map { Array($0) }
    }

    public static func isAlphabet(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "-"), UInt8(ascii: "_"): return true
        default: return false
        }
    }
}
