import FoundationEssentials

/// The userinfo answer: who the token's holder is, and where their profile is.
public struct UserInfo: Codable, Equatable, Sendable {
    public var sub: String
    public var preferredUsername: String
    public var chain: String
    public var profile: String

    enum CodingKeys: String, CodingKey { case sub, preferredUsername = "preferred_username", chain, profile }
    public init(grant: AccessGrant, frontend: String) {
        sub = grant.account; preferredUsername = grant.account; chain = grant.chain; profile = frontend + "/@" + grant.account
    }
}
