/// The chain of block ids the watcher follows: block N's `previous` is the id of block N-1. A node
/// that serves a block which does not chain is lying or on a fork; nothing past it is believed.
public enum BlockChaining {
    /// How many blocks at the start of `run` chain: each has an id, and each `previous` names the
    /// block before it (the first names `lastID`, when known).
    public static func chainedPrefix(_ run: [Block], after lastID: String?) -> Int {
        var expected = lastID
        for (index, block) in run.enumerated() {
            guard let id = block.blockID, !id.isEmpty else { return index }
            if let expected, block.previous != expected { return index }
            expected = id
        }
        return run.count
    }

    /// Two nodes' copies of a block say the same for a login: the same id and the same claims
    /// (a node can keep a block's id and still add a transfer to it).
    public static func sameForClaims(_ a: Block, _ b: Block, number: Int64, matcher: TransferMatcher) -> Bool {
        a.blockID == b.blockID && a.previous == b.previous && a.timestamp == b.timestamp
            && BlockScan.scan(a, number: number, matcher: matcher).claims == BlockScan.scan(b, number: number, matcher: matcher).claims
    }
}
