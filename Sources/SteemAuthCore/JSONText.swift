/// Small, allocation-light JSON writing for the hot routes (status), where key order is fixed.
public enum JSONText {
    public static func string(_ s: String) -> String {
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

    public static func optionalString(_ s: String?) -> String { s.map(string) ?? "null" }
    public static func optionalInt(_ i: Int?) -> String { i.map { String($0) } ?? "null" }
    public static func optionalNumber(_ d: Double?) -> String {
        guard let d, d.isFinite else { return "null" }
        return d == d.rounded() && abs(d) < 1e15 ? String(Int64(d)) : String(d)
    }
}

/// Same-origin check for state-changing POSTs: the `Origin` (else `Referer`) must be this site.
public enum SameOrigin {
    /// `host` is nginx's HTTP_HOST; Debian's fastcgi_params pass `$host`, without the port, so the
    /// port comes from SERVER_PORT (browsers leave default ports out of Origin).
    public static func allows(origin: String?, referer: String?, host: String?, https: Bool, serverPort: String? = nil) -> Bool {
        guard let host, !host.isEmpty else { return false }
        var authority = host.lowercased()
        if !authority.contains(":"), let port = serverPort, !port.isEmpty, port != (https ? "443" : "80") {
            authority += ":" + port
        }
        let expected = (https ? "https://" : "http://") + authority
        if let origin, !origin.isEmpty, origin != "null" { return origin.lowercased() == expected }
        if let referer, !referer.isEmpty {
            let r = referer.lowercased()
            return r == expected || r.hasPrefix(expected + "/")
        }
        return false
    }
}
