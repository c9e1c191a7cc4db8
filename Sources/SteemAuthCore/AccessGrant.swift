import FoundationEssentials

/// What an access token stands for (kept in Redis for its lifetime under the token's hash).
public struct AccessGrant: Codable, Equatable, Sendable {
    public var account: String
    public var chain: String
    public var clientID: String
    public var scope: String

    enum CodingKeys: String, CodingKey { case account = "sub", chain, clientID = "client_id", scope }
    public init(account: String, chain: String, clientID: String, scope: String) {
        self.account = account; self.chain = chain; self.clientID = clientID; self.scope = scope
    }
}
