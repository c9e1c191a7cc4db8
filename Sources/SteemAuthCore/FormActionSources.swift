import FoundationEssentials

/// The `form-action` sources a page whose form leads on to an app's address needs: Chromium and
/// Safari hold the redirect after a form's POST to `form-action` too, so a consent page limited to
/// `'self'` would never reach the app. A loopback address is allowed on any port (RFC 8252: the app
/// listens on whichever is free).
public enum FormActionSources {
    /// `scheme://host[:port]` of each address, or nil for an address that is not plainly one
    /// (nothing that could add a directive to the header).
    public static func sources(for uris: [String]) -> [String] {
        var out: [String] = []
        for uri in uris {
            guard let parts = URLParts(uri), parts.scheme == "https" || parts.scheme == "http" else { continue }
            let afterScheme = uri.dropFirst(parts.scheme.utf8.count + 3)
            var authority = afterScheme.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
            if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }
            guard !authority.isEmpty, authority.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || ".-:[]".contains($0)) }) else { continue }
            let source = parts.isLoopbackHost ? "\(parts.scheme)://\(parts.host):*" : "\(parts.scheme)://\(authority.lowercased())"
            if !out.contains(source) { out.append(source) }
        }
        return out
    }
}
