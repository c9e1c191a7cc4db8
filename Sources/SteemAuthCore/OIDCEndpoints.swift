import FoundationEssentials

/// The provider's paths (discovery names them) and its discovery document.
public enum OIDCEndpoints {
    public static let discovery = "/.well-known/openid-configuration"
    public static let authorize = "/steemauth/oidc/authorize"
    public static let token = "/steemauth/oidc/token"
    public static let userinfo = "/steemauth/oidc/userinfo"
    public static let jwks = "/steemauth/oidc/jwks.json"
    public static let endSession = "/steemauth/oidc/logout"
    /// The consent page's form (a same-origin POST) and the fresh-proof page's status poll.
    public static let consent = "/steemauth/oidc/consent"
    public static let freshStatus = "/steemauth/oidc/fresh"
    /// The fresh-proof page's Cancel (a same-origin POST): the login stays, the app gets `access_denied`.
    public static let cancel = "/steemauth/oidc/cancel"

    public struct Discovery: Codable, Equatable, Sendable {
        var issuer: String
        var authorization_endpoint: String
        var token_endpoint: String
        var userinfo_endpoint: String
        var jwks_uri: String
        var end_session_endpoint: String
        var response_types_supported = ["code"]
        var response_modes_supported = ["query"]
        var grant_types_supported = ["authorization_code"]
        var subject_types_supported = ["public"]
        var id_token_signing_alg_values_supported = ["RS256"]
        var scopes_supported = ["openid", "profile"]
        var token_endpoint_auth_methods_supported = ["client_secret_basic", "client_secret_post", "none"]
        var code_challenge_methods_supported = ["S256"]
        var claims_supported = ["iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "azp", "amr", "acr",
                                "preferred_username", "chain", "profile"]
        var acr_values_supported = ["posting", "active"]
        var prompt_values_supported = ["none", "login"]
        var authorization_response_iss_parameter_supported = true
        var request_parameter_supported = false
        var request_uri_parameter_supported = false
        var claims_parameter_supported = false
    }

    public static func discovery(issuer: String) -> Discovery {
        Discovery(issuer: issuer, authorization_endpoint: issuer + authorize, token_endpoint: issuer + token,
                  userinfo_endpoint: issuer + userinfo, jwks_uri: issuer + jwks, end_session_endpoint: issuer + endSession)
    }

    /// An issuer is an origin: https (or http on loopback), no path, query, fragment or trailing slash.
    public static func issuerProblem(_ issuer: String) -> String? {
        guard let parts = URLParts(issuer), parts.scheme == "https" || parts.scheme == "http" else {
            return "is not an absolute https URL such as https://login.example.org"
        }
        if issuer.hasSuffix("/") { return "must not end with a slash" }
        if !parts.path.isEmpty || issuer.contains("?") || issuer.contains("#") || issuer.contains("@") {
            return "must be scheme://host[:port] only (the endpoints live at fixed paths under it)"
        }
        if parts.scheme == "http" && !parts.isLoopbackHost { return "must be https (plain http only on loopback)" }
        return nil
    }
}
