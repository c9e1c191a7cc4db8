public struct ChainAccount: Codable, Sendable, Equatable {
    public var name: String
    public var lastPost: ChainTime
    public var lastRootPost: ChainTime?
    public var created: ChainTime?
    enum CodingKeys: String, CodingKey { case name, lastPost = "last_post", lastRootPost = "last_root_post", created }
    public init(name: String, lastPost: ChainTime, lastRootPost: ChainTime? = nil, created: ChainTime? = nil) {
        self.name = name; self.lastPost = lastPost; self.lastRootPost = lastRootPost; self.created = created
    }
}
