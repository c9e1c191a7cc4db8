/// Answers from several nodes, counted until `quorum` of them agree. A public node is run by
/// someone else: what binds an account is believed only when that many nodes say the same.
public struct QuorumTally<Answer: Hashable> {
    public let quorum: Int
    public private(set) var votes: [Answer: Int] = [:]
    public private(set) var answers = 0

    public init(quorum: Int) { self.quorum = max(1, quorum) }

    /// Counts one node's answer; returns the answer once `quorum` nodes gave it.
    public mutating func add(_ answer: Answer) -> Answer? {
        answers += 1
        votes[answer, default: 0] += 1
        return votes[answer]! >= quorum ? answer : nil
    }

    /// Two nodes gave different answers: at least one of them is wrong.
    public var disagreed: Bool { votes.count > 1 }
}

extension AppConfig {
    /// The warning `--check-config` and the start-up log give when one node decides alone.
    public var quorumWarning: String? {
        nodeQuorum > 1 ? nil : "STEEMAUTH_NODE_QUORUM is 1: one node is trusted with every login (list two or more independent nodes)"
    }
}
