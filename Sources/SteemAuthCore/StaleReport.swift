/// The report a logged-in visitor sees: followed accounts silent for more than `staleDays` days.
/// Only stale and never-posted accounts are named; active ones are only counted.
public struct StaleReport: Codable, Sendable, Equatable {
    public struct Entry: Codable, Sendable, Equatable {
        public var name: String
        public var lastPost: String
        public var days: Int
        enum CodingKeys: String, CodingKey { case name, lastPost = "last_post", days }
    }
    public var account: String
    public var computedAt: String
    public var staleDays: Int
    public var followingCount: Int
    public var stale: [Entry]
    public var neverPosted: [String]
    /// Which time the report went by (nil in reports cached before it was recorded: `last_post`).
    public var basis: StaleBasis?

    enum CodingKeys: String, CodingKey {
        case account, computedAt = "computed_at", staleDays = "stale_days", followingCount = "following_count"
        case stale, neverPosted = "never_posted", basis
    }

    /// Most stale first (ties by name); never-posted by name. Followed names the node did not
    /// return (deleted or unknown) are neither.
    public static func build(account: String, following: [String], accounts: [ChainAccount], rule: StalenessRule, now: Int64,
                             basis: StaleBasis = .lastPost) -> StaleReport {
        let byName = Dictionary(accounts.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        var stale: [Entry] = [], never: [String] = []
        for name in Set(following) {
            guard let a = byName[name] else { continue }
            let last = basis.time(of: a)
            switch rule.verdict(lastPost: last, now: now) {
            case .active: continue
            case .neverPosted: never.append(name)
            case .stale(let days): stale.append(Entry(name: name, lastPost: last.description, days: days))
            }
        }
        stale.sort { $0.days != $1.days ? $0.days > $1.days : $0.name < $1.name }
        return StaleReport(account: account, computedAt: ChainTime(secondsSinceEpoch: now).description + "Z", staleDays: rule.staleDays,
                           followingCount: Set(following).count, stale: stale, neverPosted: never.sorted(), basis: basis)
    }
}

/// `get_following(account, start, "blog", limit)` paging: each page after the first starts with the
/// previous page's last name, which comes back again and is dropped.
public enum FollowPaging {
    public static let pageSize = 1000

    /// The new followed names on a page (blog follows only), without the repeated start.
    public static func names(on page: [FollowEntry], start: String) -> [String] {
        var entries = page
        if !start.isEmpty, entries.first?.following == start { entries.removeFirst() }
        return entries.filter { $0.what.contains("blog") }.map(\.following)
    }

    /// Where the next page starts, or nil when this one was the last.
    public static func nextStart(after page: [FollowEntry], limit: Int = pageSize) -> String? {
        guard page.count >= limit, let last = page.last?.following else { return nil }
        return last
    }
}

extension Array {
    /// Consecutive slices of at most `size` elements.
    public func chunked(into size: Int) -> [[Element]] {
        precondition(size > 0)
        return stride(from: 0, to: count, by: size).map { Array(self[$0..<Swift.min($0 + size, count)]) }
    }
}
