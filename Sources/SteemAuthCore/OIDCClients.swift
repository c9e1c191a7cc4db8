import FoundationEssentials

/// One relying party, as the clients file registers it (RFC 7591's metadata names).
public struct OIDCClient: Codable, Equatable, Sendable {
    public enum AuthMethod: String, Codable, Sendable {
        case clientSecretBasic = "client_secret_basic", clientSecretPost = "client_secret_post", none
    }
    public var clientID: String
    public var clientSecret: String?
    public var redirectURIs: [String]
    public var authMethod: AuthMethod
    public var clientName: String?
    /// Where RP-initiated logout may send the browser back to (OpenID Connect RP-Initiated Logout).
    public var postLogoutRedirectURIs: [String]
    /// A visitor already logged in clicks to allow each code (always so for a public client).
    public var requireConsent: Bool
    /// PKCE (S256) on every authorization; `false` only for a confidential relying party that cannot send it.
    public var requirePKCE: Bool

    enum CodingKeys: String, CodingKey {
        case clientID = "client_id", clientSecret = "client_secret", redirectURIs = "redirect_uris"
        case authMethod = "token_endpoint_auth_method", clientName = "client_name"
        case postLogoutRedirectURIs = "post_logout_redirect_uris"
        case requireConsent = "require_consent", requirePKCE = "require_pkce"
    }

    public init(clientID: String, clientSecret: String?, redirectURIs: [String], authMethod: AuthMethod,
                clientName: String? = nil, postLogoutRedirectURIs: [String] = [], requireConsent: Bool = false, requirePKCE: Bool = true) {
        self.clientID = clientID; self.clientSecret = clientSecret; self.redirectURIs = redirectURIs
        self.authMethod = authMethod; self.clientName = clientName; self.postLogoutRedirectURIs = postLogoutRedirectURIs
        self.requireConsent = requireConsent; self.requirePKCE = requirePKCE
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        clientID = try c.decode(String.self, forKey: .clientID)
        clientSecret = try c.decodeIfPresent(String.self, forKey: .clientSecret)
        redirectURIs = try c.decode([String].self, forKey: .redirectURIs)
        authMethod = try c.decode(AuthMethod.self, forKey: .authMethod)
        clientName = try c.decodeIfPresent(String.self, forKey: .clientName)
        postLogoutRedirectURIs = try c.decodeIfPresent([String].self, forKey: .postLogoutRedirectURIs) ?? []
        requireConsent = try c.decodeIfPresent(Bool.self, forKey: .requireConsent) ?? false
        requirePKCE = try c.decodeIfPresent(Bool.self, forKey: .requirePKCE) ?? true
    }

    /// A public client (no secret): whoever holds its redirect URI (a loopback port) can redeem a code.
    public var isPublic: Bool { authMethod == .none }
    /// Whether a code needs the visitor's click on the consent page: a GET alone proves nothing about
    /// who sent the browser, and only a confidential client's code is useless to someone else.
    public var needsConsent: Bool { isPublic || requireConsent }

    /// Whether `uri` is one of the registered redirect URIs: byte for byte, except that a loopback
    /// one may come back on any port (RFC 8252 §7.3: a native app takes whatever port is free).
    public func allowsRedirect(_ uri: String) -> Bool {
        redirectURIs.contains { $0 == uri || RedirectURI.sameLoopbackURIOnAnotherPort($0, uri) }
    }
    /// The name visitors see on the ask page.
    public var displayName: String { clientName ?? clientID }
}

/// The registered clients, by id. Parsing checks every rule a clients file must meet; a problem
/// names the client and the field, never a secret.
public struct OIDCClientRegistry: Sendable {
    public let clients: [String: OIDCClient]

    public init(_ list: [OIDCClient]) { clients = Dictionary(list.map { ($0.clientID, $0) }) { first, _ in first } }

    public subscript(id: String) -> OIDCClient? { clients[id] }

    public static func parse(_ data: [UInt8]) throws(OIDCConfigProblem) -> OIDCClientRegistry {
        let list: [OIDCClient]
        do { list = try JSONDecoder().decode([OIDCClient].self, from: Data(data)) } catch {
            throw OIDCConfigProblem("is not a JSON array of clients (client_id, redirect_uris, token_endpoint_auth_method): \(Self.describe(error))")
        }
        guard !list.isEmpty else { throw OIDCConfigProblem("lists no client") }
        var seen = Set<String>()
        for client in list {
            let id = client.clientID
            guard !id.isEmpty, id.utf8.count <= 128, id.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f }) else {
                throw OIDCConfigProblem("has a client_id that is empty, too long or not printable ASCII")
            }
            guard seen.insert(id).inserted else { throw OIDCConfigProblem("lists client '\(id)' twice") }
            switch client.authMethod {
            case .none:
                if client.clientSecret != nil { throw OIDCConfigProblem("client '\(id)': a public client (token_endpoint_auth_method none) has no client_secret") }
                if !client.requirePKCE { throw OIDCConfigProblem("client '\(id)': a public client cannot turn PKCE off (require_pkce false): PKCE is what protects its codes") }
            case .clientSecretBasic, .clientSecretPost:
                guard let secret = client.clientSecret, secret.utf8.count >= 16 else {
                    throw OIDCConfigProblem("client '\(id)': client_secret is missing or shorter than 16 characters")
                }
            }
            guard !client.redirectURIs.isEmpty else { throw OIDCConfigProblem("client '\(id)': redirect_uris is empty") }
            for (field, uris) in [("redirect_uris", client.redirectURIs), ("post_logout_redirect_uris", client.postLogoutRedirectURIs)] {
                for (i, uri) in uris.enumerated() {
                    if let problem = RedirectURI.problem(uri) {
                        throw OIDCConfigProblem("client '\(id)': \(field)[\(i)] '\(uri.prefix(200))' \(problem)")
                    }
                }
            }
        }
        return OIDCClientRegistry(list)
    }

    private static func describe(_ error: Error) -> String {
        switch error as? DecodingError {
        case .keyNotFound(let key, let context)?: return "missing \(key.stringValue)\(path(context))"
        case .typeMismatch(_, let context)?, .valueNotFound(_, let context)?: return "wrong type\(path(context))"
        case .dataCorrupted(let context)?: return context.codingPath.isEmpty ? "invalid JSON" : "invalid value\(path(context))"
        default: return "invalid JSON"
        }
    }

    private static func path(_ context: DecodingError.Context) -> String {
        let parts = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? "." + $0.stringValue }
        return parts.isEmpty ? "" : " at " + parts.joined()
    }
}

public struct OIDCConfigProblem: Error, Equatable, Sendable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

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

/// scheme://authority/path?query of an absolute http(s) URL, as far as the rules above need it.
public struct URLParts: Sendable {
    public let scheme: String
    public let host: String
    public let path: String

    public init?(_ text: String) {
        guard let colon = text.firstIndex(of: ":"), text[colon...].hasPrefix("://") else { return nil }
        let scheme = text[..<colon].lowercased()
        let schemeOK = !scheme.isEmpty && scheme.unicodeScalars.allSatisfy { c in
            (c >= "a" && c <= "z") || (c >= "0" && c <= "9") || c == "+" || c == "-" || c == "." }
        guard schemeOK else { return nil }
        let rest = text[text.index(colon, offsetBy: 3)...]
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
        var authority = rest[..<authorityEnd]
        if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }
        let host: Substring
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return nil }
            host = authority[...close]
        } else {
            host = authority.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        }
        guard !host.isEmpty else { return nil }
        self.scheme = scheme
        self.host = host.lowercased()
        let afterAuthority = rest[authorityEnd...]
        let pathEnd = afterAuthority.firstIndex { $0 == "?" || $0 == "#" } ?? afterAuthority.endIndex
        self.path = String(afterAuthority[..<pathEnd])
    }

    /// 127.0.0.0/8, ::1 and localhost: traffic that never leaves the machine.
    public var isLoopbackHost: Bool {
        if host == "localhost" || host == "[::1]" { return true }
        let octets = host.split(separator: ".", omittingEmptySubsequences: false)
        return octets.count == 4 && octets[0] == "127" && octets.allSatisfy { UInt8($0) != nil }
    }
}

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
