import SteemAuthAdapters
import SteemAuthCore

/// Fetches runs of blocks in one round trip: a JSON-RPC batch of `condenser_api.get_block` on Steem,
/// `block_api.get_block_range` on Hive. Returns the contiguous run that starts at `from` (a node
/// that is behind answers `null` past its head: the run stops there), and the node that served it.
struct BlockSource {
    let rpc: RPCClient
    let chain: AppConfig.Chain

    struct Malformed: Error, CustomStringConvertible { let description: String }

    func blocks(from: Int64, count: Int) throws -> (run: [(Int64, Block)], node: Int) {
        var fetched: [Block?]
        switch chain {
        case .hive:
            let range = try rpc.call(RPCMethod.getBlockRange, .object(["starting_block_num": .int(from), "count": .int(Int64(count))]),
                                     as: BlockAPIGetBlockRangeResult.self)
            fetched = range?.blocks ?? []
        case .steem:
            fetched = try rpc.batch((0..<Int64(count)).map { (RPCMethod.getBlock, .array([.int(from + $0)])) }, as: Block.self)
        }
        let node = rpc.preferredNode
        var run: [(Int64, Block)] = []
        for (offset, block) in fetched.enumerated() {
            guard let block else { break }
            let expected = from + Int64(offset)
            // A reply for another block number is a broken node: never process it as this one.
            guard block.number == expected else {
                rpc.avoid(node)
                throw Malformed(description: "\(rpc.nodes[node]): asked for block \(expected), got \(block.number.map(String.init) ?? "no number")")
            }
            run.append((expected, block))
        }
        return (run, node)
    }

    /// The same blocks from one node, no failover (to compare with what another node served).
    func blocks(_ numbers: [Int64], on node: Int) throws(RPCFailure) -> [Block?] {
        try rpc.batch(numbers.map { (RPCMethod.getBlock, .array([.int($0)])) }, on: node, as: Block.self)
    }
}
