import FoundationEssentials

/// A validated authorization request, kept with the visitor's session until they prove the account.
public struct PendingAuthorization: Codable, Equatable, Sendable {
    public var clientID: String
    public var redirectURI: String
    public var scope: String
    public var state: String?
    public var nonce: String?
    public var codeChallenge: String?
    /// Unix seconds after which the request is dropped (the login code's lifetime).
    public var expiresAt: Int64

    enum CodingKeys: String, CodingKey {
        case clientID = "client_id", redirectURI = "redirect_uri", scope, state, nonce
        case codeChallenge = "code_challenge", expiresAt = "exp"
    }
}
