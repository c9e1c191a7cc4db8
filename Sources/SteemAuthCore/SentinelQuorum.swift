/// Which master address the sentinels' answers name, if any. A sentinel's answer is an opinion (a
/// stale one after a failover, or a lie from a host that should not be listed): an address counts
/// only when more than half of the sentinels that answered name it, and at least two of them when
/// two or more sentinels are listed.
public enum SentinelQuorum {
    public struct Verdict: Equatable, Sendable {
        public let address: String?       // "host:port", or nil: no quorum
        public let votes: Int
        public let answered: Int
        public let needed: Int
    }

    /// `answers`: the address each answering sentinel gave; `listed`: how many are configured.
    public static func decide(answers: [String], listed: Int) -> Verdict {
        var tally: [String: Int] = [:]
        for a in answers { tally[a, default: 0] += 1 }
        let needed = max(answers.count / 2 + 1, listed >= 2 ? 2 : 1)
        let best = tally.max { $0.value < $1.value || ($0.value == $1.value && $0.key > $1.key) }
        guard let best, best.value >= needed else {
            return Verdict(address: nil, votes: best?.value ?? 0, answered: answers.count, needed: needed)
        }
        return Verdict(address: best.key, votes: best.value, answered: answers.count, needed: needed)
    }
}
