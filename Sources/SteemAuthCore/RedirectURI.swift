import FoundationEssentials

/// The rules for a registered redirect URI (OAuth 2.0 Security BCP): absolute, no fragment, and
/// https unless it stays on this machine.
public enum RedirectURI {
    public static func problem(_ uri: String) -> String? {
        guard let parts = URLParts(uri) else { return "is not an absolute URI (scheme://host/…)" }
        if uri.contains("#") { return "has a fragment (#), which redirect URIs may not" }
        if uri.utf8.contains(where: { $0 <= 0x20 || $0 >= 0x7f || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "<") || $0 == UInt8(ascii: ">") }) {
            return "has spaces, quotes or characters outside printable ASCII"
        }
        switch parts.scheme {
        case "https": return nil
        case "http": return parts.isLoopbackHost ? nil : "is plain http to a host other than loopback (use https)"
        default: return "is not http(s)"
        }
    }
}

extension RedirectURI {
    /// `http://127.0.0.1:PORT/rest` or `http://[::1]:PORT/rest` (the port optional in the registered
    /// one) against the same with another port: the same host literal, the same rest byte for byte.
    public static func sameLoopbackURIOnAnotherPort(_ registered: String, _ requested: String) -> Bool {
        guard let a = loopbackParts(registered), let b = loopbackParts(requested), b.hasPort else { return false }
        return a.host == b.host && a.rest == b.rest
    }

    private static func loopbackParts(_ uri: String) -> (host: Substring, hasPort: Bool, rest: Substring)? {
        guard uri.hasPrefix("http://") else { return nil }
        let afterScheme = uri.dropFirst(7)
        let host: Substring
        if afterScheme.hasPrefix("127.0.0.1") { host = afterScheme.prefix(9) }
        else if afterScheme.hasPrefix("[::1]") { host = afterScheme.prefix(5) }
        else { return nil }
        var rest = afterScheme[host.endIndex...]
        var hasPort = false
        if rest.first == ":" {
            let digits = rest.dropFirst().prefix { $0.isASCII && $0.isNumber }
            guard !digits.isEmpty, digits.count <= 5, let port = Int(digits), (1...65535).contains(port) else { return nil }
            rest = rest[digits.endIndex...]
            hasPort = true
        }
        guard rest.isEmpty || rest.first == "/" || rest.first == "?" else { return nil }
        return (host, hasPort, rest)
    }
}
