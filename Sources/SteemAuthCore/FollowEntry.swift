public struct FollowEntry: Codable, Sendable, Equatable {
    public var follower: String
    public var following: String
    public var what: [String]
    public init(follower: String, following: String, what: [String]) { self.follower = follower; self.following = following; self.what = what }
}
