/// What the watcher found in one block: login claims to try in Redis, and rejections to log.
public struct BlockScan: Sendable, Equatable {
    public struct Claim: Sendable, Equatable {
        public var memo: String
        public var sender: String
        public var block: Int64
        public var transactionID: String
        public var time: ChainTime
    }
    public struct Rejection: Sendable, Equatable {
        public var reason: TransferMatcher.Rejection
        public var sender: String
        public var block: Int64
        public var transactionID: String
    }
    public var claims: [Claim] = []
    public var rejections: [Rejection] = []

    public init() {}

    /// Scans every operation of a block, in chain order (first valid claim wins).
    public static func scan(_ block: Block, number: Int64, matcher: TransferMatcher) -> BlockScan {
        var out = BlockScan()
        for (index, tx) in block.transactions.enumerated() {
            for op in tx.operations {
                let sender: String
                if case .transfer(let t) = op { sender = t.from } else { sender = "?" }
                switch matcher.decide(op) {
                case .notForUs: continue
                case .rejected(let reason):
                    out.rejections.append(Rejection(reason: reason, sender: sender, block: number, transactionID: block.transactionID(at: index)))
                case .claim(let code):
                    out.claims.append(Claim(memo: code.memo, sender: sender, block: number,
                                            transactionID: block.transactionID(at: index), time: block.timestamp))
                }
            }
        }
        return out
    }
}
