import SteemAuthAdapters
import SteemAuthCore

/// Fetches runs of blocks in one round trip: a JSON-RPC batch of `condenser_api.get_block` on Steem,
/// `block_api.get_block_range` on Hive. Returns the contiguous run that starts at `from` (a node
/// that is behind answers `null` past its head: the run stops there).
struct BlockSource {
    let rpc: RPCClient
    let chain: AppConfig.Chain

    struct Malformed: Error, CustomStringConvertible { let description: String }

    func blocks(from: Int64, count: Int) throws -> [(Int64, Block)] {
        var fetched: [Block?]
        switch chain {
        case .hive:
            let range = try rpc.call(RPCMethod.getBlockRange, .object(["starting_block_num": .int(from), "count": .int(Int64(count))]),
                                     as: BlockAPIGetBlockRangeResult.self)
            fetched = range?.blocks ?? []
        case .steem:
            fetched = try rpc.batch((0..<Int64(count)).map { (RPCMethod.getBlock, .array([.int(from + $0)])) }, as: Block.self)
        }
        var run: [(Int64, Block)] = []
        for (offset, block) in fetched.enumerated() {
            guard let block else { break }
            let expected = from + Int64(offset)
            // A reply for another block number is a broken node: never process it as this one.
            guard block.number == expected else {
                throw Malformed(description: "asked for block \(expected), got \(block.number.map(String.init) ?? "no number")")
            }
            run.append((expected, block))
        }
        return run
    }
}
