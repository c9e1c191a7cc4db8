/// A chain node's URL as configured (`STEEMAUTH_NODES`). Providers hand out keys in the userinfo
/// (`https://user:key@node/`) or the query (`?apikey=`): those parts are never shown. `redacted` is
/// the only form that reaches a log line, a metrics label or `--check-config`.
public struct NodeURL: Sendable, Equatable {
    public let text: String          // as configured: what the client connects to
    public let scheme: String        // "https" or "http"
    public let host: String          // lower case; an IPv6 address keeps its brackets
    public let port: Int?
    public let hasUserinfo: Bool
    public let path: String
    public let hasQuery: Bool

    /// `http(s)://[userinfo@]host[:port][/path][?query]`; nil for anything else. The host is what
    /// follows the authority's `@`: `http://127.0.0.1@evil.example` names evil.example. A second
    /// `@`, a backslash, a space or a control character is refused rather than guessed at (clients
    /// read such URLs differently).
    public static func parse(_ text: String) -> NodeURL? {
        let printable = text.unicodeScalars.allSatisfy { $0.value > 0x20 && $0.value < 0x7f && $0 != "\\" }
        guard printable, let colon = text.firstIndex(of: ":"), text[colon...].hasPrefix("://") else { return nil }
        let scheme = text[..<colon].lowercased()
        guard scheme == "https" || scheme == "http" else { return nil }
        let rest = text[text.index(colon, offsetBy: 3)...]
        let authorityEnd = rest.firstIndex { c in c == "/" || c == "?" || c == "#" } ?? rest.endIndex
        var authority = rest[..<authorityEnd]
        let ats = authority.reduce(0) { n, c in c == "@" ? n + 1 : n }
        guard ats <= 1 else { return nil }
        if let at = authority.firstIndex(of: "@") { authority = authority[authority.index(after: at)...] }
        let host: Substring, portText: Substring
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return nil }
            host = authority[...close]
            portText = authority[authority.index(after: close)...]
            guard host.dropFirst().dropLast().allSatisfy({ $0.isHexDigit || $0 == ":" || $0 == "." }) else { return nil }
        } else {
            let colon = authority.firstIndex(of: ":") ?? authority.endIndex
            host = authority[..<colon]
            portText = authority[colon...]
            guard host.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "." }) else { return nil }
        }
        guard !host.isEmpty else { return nil }
        var port: Int? = nil
        if !portText.isEmpty {
            let digits = portText.dropFirst()
            guard portText.hasPrefix(":"), !digits.isEmpty, digits.count <= 5, digits.allSatisfy({ $0.isASCII && $0.isNumber }),
                  let p = Int(digits), (1...65535).contains(p) else { return nil }
            port = p
        }
        let afterAuthority = rest[authorityEnd...]
        let pathEnd = afterAuthority.firstIndex { $0 == "?" || $0 == "#" } ?? afterAuthority.endIndex
        return NodeURL(text: text, scheme: scheme, host: host.lowercased(), port: port, hasUserinfo: ats == 1,
                       path: String(afterAuthority[..<pathEnd]), hasQuery: afterAuthority[pathEnd...].hasPrefix("?"))
    }

    /// The URL with its userinfo, path and query replaced (`https://***@node/…?***`), and any fragment
    /// left out: some providers put the key in the path.
    public var redacted: String {
        let shownPath = path.isEmpty || path == "/" ? path : "/…"
        return "\(scheme)://\(hasUserinfo ? "***@" : "")\(host)\(port.map { ":\($0)" } ?? "")\(shownPath)\(hasQuery ? "?***" : "")"
    }

    /// What makes two listed nodes the same node: scheme, host, port (the scheme's default when
    /// none is written) and path without a trailing slash. A node listed twice would count twice
    /// toward a quorum.
    public var identity: String {
        var trimmed = Substring(path)
        while trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        return "\(scheme)://\(host):\(port ?? (isHTTPS ? 443 : 80))\(trimmed)"
    }

    /// The redacted form of any configured node URL, or a placeholder for one that does not parse.
    public static func redact(_ text: String) -> String { parse(text)?.redacted ?? "(an invalid node URL)" }

    public var isHTTPS: Bool { scheme == "https" }

    /// 127.0.0.0/8, [::1] and localhost: traffic that never leaves the machine.
    public var isLoopback: Bool {
        if host == "localhost" || host == "[::1]" { return true }
        let octets = host.split(separator: ".", omittingEmptySubsequences: false)
        return octets.count == 4 && octets[0] == "127" && octets.allSatisfy { UInt8($0) != nil }
    }
}

extension AppConfig {
    /// The node list as it may be shown: each URL redacted.
    public var shownNodes: String { nodes.map(NodeURL.redact).joined(separator: ",") }
}
