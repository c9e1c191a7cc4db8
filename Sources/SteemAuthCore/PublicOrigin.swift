/// The one origin visitors reach the service at (`STEEMAUTH_PUBLIC_ORIGIN`): scheme, host and an
/// optional port, no path. The signature challenge names its host, and every browser POST's
/// `Origin` must equal it; nothing is taken from the request's own Host header for either.
public struct PublicOrigin: Sendable, Equatable, CustomStringConvertible {
    public let scheme: String      // "https" or "http"
    public let host: String        // lower case, no port (what the wallet shows); an IPv6 address keeps its brackets
    public let port: Int?          // nil: the scheme's default

    /// `https://login.example.org`, `http://127.0.0.1:8080`; nil for anything else (a path, a query,
    /// userinfo, another scheme, a port out of range).
    public static func parse(_ text: String) -> PublicOrigin? {
        guard let parts = URLParts(text), parts.scheme == "https" || parts.scheme == "http",
              parts.path.isEmpty, !text.contains("?"), !text.contains("#"), !text.contains("@"),
              isHostName(parts.host) else { return nil }
        let afterScheme = text.dropFirst(parts.scheme.utf8.count + 3)
        let hostEnd: Substring.Index
        if afterScheme.hasPrefix("[") {
            guard let close = afterScheme.firstIndex(of: "]") else { return nil }
            hostEnd = afterScheme.index(after: close)
        } else {
            hostEnd = afterScheme.firstIndex(of: ":") ?? afterScheme.endIndex
        }
        let portText = afterScheme[hostEnd...]
        var port: Int? = nil
        if !portText.isEmpty {
            guard portText.hasPrefix(":"), let p = Int(portText.dropFirst()), (1...65535).contains(p),
                  portText.dropFirst().allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
            port = p == (parts.scheme == "https" ? 443 : 80) ? nil : p
        }
        return PublicOrigin(scheme: parts.scheme, host: parts.host, port: port)
    }

    /// An origin no request matches: what a pool without STEEMAUTH_PUBLIC_ORIGIN would use (the pool
    /// refuses to start without one; tests that build the app alone may).
    public static let unconfigured = PublicOrigin(scheme: "https", host: "", port: nil)

    /// A name a browser sends as it is: ASCII letters, digits, dots and hyphens (IDNs in punycode),
    /// no empty label and no trailing dot; or a bracketed IPv6 address. Anything else could never
    /// equal an Origin header, and every form would be refused.
    static func isHostName(_ host: String) -> Bool {
        if host.hasPrefix("[") {
            return host.count > 2 && host.hasSuffix("]") && host.dropFirst().dropLast().allSatisfy { $0.isHexDigit || $0 == ":" || $0 == "." }
        }
        let labels = host.split(separator: ".", omittingEmptySubsequences: false)
        return !labels.isEmpty && labels.allSatisfy { label in
            !label.isEmpty && label.utf8.count <= 63 && !label.hasPrefix("-") && !label.hasSuffix("-")
                && label.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" }
        }
    }

    public var isHTTPS: Bool { scheme == "https" }

    /// Plain http is only for traffic that never leaves the machine.
    public var isLoopback: Bool { URLParts(description)?.isLoopbackHost ?? false }

    /// The serialized origin, as a browser sends it in `Origin`.
    public var description: String { port.map { "\(scheme)://\(host):\($0)" } ?? "\(scheme)://\(host)" }

    /// Whether an `Origin` header (else the origin of a `Referer`) is exactly this origin.
    public func isSameOrigin(origin: String?, referer: String?) -> Bool {
        if let origin, !origin.isEmpty, origin != "null" {
            return PublicOrigin.parse(origin) == self
        }
        guard let referer, let parts = URLParts(referer) else { return false }
        let rest = referer.dropFirst(parts.scheme.utf8.count + 3)
        let end = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
        return PublicOrigin.parse("\(parts.scheme)://\(rest[..<end])") == self
    }
}
