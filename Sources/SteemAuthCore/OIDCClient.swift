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
