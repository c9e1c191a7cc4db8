/// The report rule: a followed account is stale when its last post is more than `staleDays` days old.
/// Which time says an account is stale: its last post or comment (`last_post`, the seed's rule and
/// the default), or its last top-level post (`last_root_post`), which ignores comments.
public enum StaleBasis: String, Sendable, Codable, CaseIterable {
    case lastPost = "last_post", lastRootPost = "last_root_post"

    public func time(of account: ChainAccount) -> ChainTime {
        self == .lastRootPost ? (account.lastRootPost ?? account.lastPost) : account.lastPost
    }
}

public struct StalenessRule: Sendable {
    public let staleDays: Int
    public init(staleDays: Int) { self.staleDays = staleDays }

    public enum Verdict: Equatable, Sendable { case active, stale(days: Int), neverPosted }

    /// Exactly `staleDays` days is not yet stale; one second more is.
    public func verdict(lastPost: ChainTime, now: Int64) -> Verdict {
        if lastPost.isNever { return .neverPosted }
        let age = now - lastPost.secondsSinceEpoch
        return age > Int64(staleDays) * 86400 ? .stale(days: Int(age / 86400)) : .active
    }
}
