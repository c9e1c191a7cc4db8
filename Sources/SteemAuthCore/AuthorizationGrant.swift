import FoundationEssentials

/// What a one-time authorization code stands for (kept in Redis for 60 s under the code's hash).
public struct AuthorizationGrant: Codable, Equatable, Sendable {
    public var clientID: String
    public var redirectURI: String
    public var scope: String
    public var nonce: String?
    public var codeChallenge: String?
    public var account: String
    public var chain: String
    public var method: String
    public var authTime: Int64
    public var level: ProofLevel
    /// The login (session id) the code came from: its logout or revocation ends the access tokens.
    public var session: String

    enum CodingKeys: String, CodingKey {
        case clientID = "client_id", redirectURI = "redirect_uri", scope, nonce, codeChallenge = "code_challenge"
        case account, chain, method = "amr", authTime = "auth_time", level = "acr", session = "sid"
    }

    public init(pending: PendingAuthorization, account: String, chain: String, method: String, authTime: Int64,
                level: ProofLevel, session: String) {
        clientID = pending.clientID; redirectURI = pending.redirectURI; scope = pending.scope; nonce = pending.nonce
        codeChallenge = pending.codeChallenge; self.account = account; self.chain = chain; self.method = method; self.authTime = authTime
        self.level = level; self.session = session
    }
}
