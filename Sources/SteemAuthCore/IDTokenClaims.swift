import FoundationEssentials

/// The ID token's claims (OpenID Connect Core §2). `sub` is the account name: on these chains a
/// name is never reassigned, so it is a stable identifier.
public struct IDTokenClaims: Codable, Equatable, Sendable {
    public var iss: String
    public var sub: String
    public var aud: String
    public var exp: Int64
    public var iat: Int64
    public var authTime: Int64
    public var nonce: String?
    public var azp: String
    public var preferredUsername: String
    public var chain: String
    public var amr: [String]
    /// `active` (a transfer, or an active or owner key's signature) or `posting` (a posting key's).
    public var acr: String?

    enum CodingKeys: String, CodingKey {
        case iss, sub, aud, exp, iat, authTime = "auth_time", nonce, azp, preferredUsername = "preferred_username", chain, amr, acr
    }

    public init(issuer: String, grant: AuthorizationGrant, now: Int64, lifetime: Int) {
        iss = issuer; sub = grant.account; aud = grant.clientID; exp = now + Int64(lifetime); iat = now
        authTime = grant.authTime; nonce = grant.nonce; azp = grant.clientID
        preferredUsername = grant.account; chain = grant.chain
        amr = [grant.method == "signature" ? "signature" : "transfer"]
        acr = grant.level.rawValue
    }
}
