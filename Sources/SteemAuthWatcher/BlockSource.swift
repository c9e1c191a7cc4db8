import SteemAuthAdapters
import SteemAuthCore

/// Fetches runs of blocks: JSON-RPC batches of `condenser_api.get_block` on Steem,
/// `block_api.get_block_range` calls on Hive. Returns the contiguous run that starts at `from` (a node
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

    /// How many requests a catch-up keeps in flight at once: a distant node's round trip is paid
    /// once for a few batches, each within the node's batch size.
    static let requestsInFlight = 4

    /// What `pipelined` brought: the contiguous run from `from`, the node that served it, and the
    /// first request that failed (its blocks and those after it are not in the run).
    struct Pipelined {
        var run: [(Int64, Block)] = []
        var node: Int
        var failure: (from: Int64, count: Int, error: any Error)?
    }

    /// The blocks a round of the catch-up reads: at least `count`, and enough to fill the requests
    /// in flight at the preferred node's batch size.
    func roundSize(atLeast count: Int) -> Int {
        max(count, Self.requestsInFlight * requestSize(on: rpc.nodesInOrder.first ?? rpc.preferredNode))
    }

    /// `count` blocks from `from` on, from the preferred node, in requests of its batch size with up
    /// to `requestsInFlight` in flight; their replies come in any order and are put back in chain
    /// order. The run stops at a block the node does not have yet (null), or at the first request
    /// that failed (no failover here: the node is avoided and the caller fetches it again). Nothing
    /// after a gap is kept.
    func pipelined(from: Int64, count: Int) -> Pipelined {
        let node = rpc.nodesInOrder.first ?? rpc.preferredNode
        let size = requestSize(on: node)
        let starts = Array(stride(from: from, to: from + Int64(count), by: size))
        let sizes = starts.map { Int(min(Int64(size), from + Int64(count) - $0)) }
        let replies: [Result<[Block?], RPCFailure>?]
        switch chain {
        case .hive:
            replies = inFlight(starts.indices.map { [(RPCMethod.getBlockRange, .object(["starting_block_num": .int(starts[$0]), "count": .int(Int64(sizes[$0]))]))] },
                               on: node, as: BlockAPIGetBlockRangeResult.self).map { $0?.map { $0.first.flatMap { $0?.blocks } ?? [] } }
        case .steem:
            replies = inFlight(starts.indices.map { i in (0..<Int64(sizes[i])).map { (RPCMethod.getBlock, .array([.int(starts[i] + $0)])) } },
                               on: node, as: Block.self)
        }
        var out = Pipelined(node: node)
        for (i, reply) in replies.enumerated() {
            let blocks: [Block?]
            switch reply {
            case .success(let b)?: blocks = b
            case .failure(let error)?:
                // Whichever request of the round failed, the next fetch goes to another node.
                rpc.avoid(node)
                out.failure = (starts[i], sizes[i], error)
                return out
            case nil:
                // Not sent: a request before it failed.
                return out
            }
            for (offset, block) in blocks.prefix(sizes[i]).enumerated() {
                guard let block else { return out }
                let expected = starts[i] + Int64(offset)
                // A reply for another block number is a broken node: never process it as this one.
                guard block.number == expected else {
                    rpc.avoid(node)
                    out.failure = (expected, sizes[i] - offset, Malformed(description: "\(rpc.nodes[node]): asked for block \(expected), got \(block.number.map(String.init) ?? "no number")"))
                    return out
                }
                out.run.append((expected, block))
            }
            if blocks.count < sizes[i] { return out }
        }
        return out
    }

    /// Sends the requests to the node, `requestsInFlight` at a time, the next as each one ends; once
    /// one has failed no more are sent (their results stay nil).
    private func inFlight<T: Decodable & Sendable>(_ requests: [[(String, JSONValue)]], on node: Int, as type: T.Type) -> [Result<[T?], RPCFailure>?] {
        var results: [Result<[T?], RPCFailure>?] = Array(repeating: nil, count: requests.count)
        var sent = min(Self.requestsInFlight, requests.count)
        var failed = false
        rpc.concurrently((0..<sent).map { RPCBatchRequest(node: node, calls: requests[$0]) }, as: type) { index, result in
            results[index] = result
            if case .failure = result { failed = true }
            guard !failed, sent < requests.count else { return [] }
            sent += 1
            return [RPCBatchRequest(node: node, calls: requests[sent - 1])]
        }
        return results
    }

    /// The calls one request to the node carries: its batch size as learned so far.
    private func requestSize(on node: Int) -> Int {
        max(1, rpc.batchSizeByNode[rpc.nodes[node]] ?? 1)
    }

    /// The same blocks from one node, no failover (to compare with what another node served).
    func blocks(_ numbers: [Int64], on node: Int) throws(RPCFailure) -> [Block?] {
        try rpc.batch(numbers.map { (RPCMethod.getBlock, .array([.int($0)])) }, on: node, as: Block.self)
    }
}
