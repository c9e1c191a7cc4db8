/// How one page of followed names is looked up with `get_accounts`: the names in calls of at most
/// `namesPerCall`, the calls in batches of at most `callsPerBatch` (and of each node's batch size),
/// the batches spread over the nodes in turn so that every node answers a share at the same time.
public struct AccountLookupPlan: Sendable, Equatable {
    /// One JSON-RPC batch: to `node`, the calls for `names[range]` of the page, in order.
    public struct Batch: Sendable, Equatable {
        public var node: Int
        public var calls: [Range<Int>]
        public init(node: Int, calls: [Range<Int>]) { self.node = node; self.calls = calls }
    }

    public let batches: [Batch]

    /// `nodes`: the nodes to use, in order of preference, each with its batch size.
    public init(nameCount: Int, nodes: [(node: Int, batchSize: Int)], namesPerCall: Int, callsPerBatch: Int) {
        precondition(namesPerCall > 0 && callsPerBatch > 0)
        guard nameCount > 0, !nodes.isEmpty else { batches = []; return }
        let calls = stride(from: 0, to: nameCount, by: namesPerCall).map { $0..<min($0 + namesPerCall, nameCount) }
        // An even share of the calls per node (no more nodes than calls), in batches within its size.
        let used = Array(nodes.prefix(calls.count))
        var planned: [Batch] = []
        var next = 0
        for (i, node) in used.enumerated() {
            let share = calls.count / used.count + (i < calls.count % used.count ? 1 : 0)
            let perBatch = max(1, min(callsPerBatch, node.batchSize))
            for start in stride(from: next, to: next + share, by: perBatch) {
                planned.append(Batch(node: node.node, calls: Array(calls[start..<min(start + perBatch, next + share)])))
            }
            next += share
        }
        batches = planned
    }
}
