/// The report rule: a followed account is stale when its last post is more than `staleDays` days old.
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
