import Logging
import SteemAuthAdapters
import SteemAuthCore

/// What the watcher believes: only what a quorum of nodes agree on (the irreversible block, the
/// blocks that bind, the chain they serve).
extension ChainWatcher {
    /// The part of a run that can be believed: blocks that chain (each `previous` names the block
    /// before), and only when `quorum` nodes confirm every claim-bearing block among them and the
    /// last one (whose id is kept for the next batch to chain to: a forged id there would stop the
    /// watcher for good). Otherwise nothing of the run is applied. Anything cut is logged and
    /// counted, and the node that served it is avoided for the next fetch.
    func believedPrefix(_ run: [(Int64, Block)], after lastID: String?, servedBy node: Int) -> [(Int64, Block)] {
        var kept = BlockChaining.chainedPrefix(run.map(\.1), after: lastID)
        if kept < run.count {
            let (number, block) = run[kept]
            logger.error("a block does not chain to the one before it: refused, fetching it again from another node", metadata: [
                "node": "\(rpc.nodes[node])", "block": "\(number)", "previous": "\(block.previous)",
                "expected": "\(kept > 0 ? run[kept - 1].1.blockID ?? "-" : lastID ?? "-")", "id": "\(block.blockID ?? "-")"])
            if !store.countDisagreement("chain") { redisFailed = true }
        }
        if config.nodeQuorum > 1, kept > 0, let unconfirmed = firstUnconfirmedBlock(Array(run.prefix(kept)), servedBy: node) {
            logger.error("a block is not confirmed by enough nodes: nothing of this batch binds, fetching it again from another node", metadata: [
                "node": "\(rpc.nodes[node])", "block": "\(run[unconfirmed].0)", "id": "\(run[unconfirmed].1.blockID ?? "-")", "quorum": "\(config.nodeQuorum)"])
            if !store.countDisagreement("block") { redisFailed = true }
            kept = 0
        }
        if kept < run.count { rpc.avoid(node) }
        return Array(run.prefix(kept))
    }

    /// The index of the first block, among those holding a claim and the run's last, whose id and
    /// claims `quorum` nodes do not report alike (the serving node counts as one); nil when all are
    /// confirmed. Only those blocks are asked for again: one batch per other node asked.
    func firstUnconfirmedBlock(_ run: [(Int64, Block)], servedBy node: Int) -> Int? {
        var bearing = run.indices.filter { !BlockScan.scan(run[$0].1, number: run[$0].0, matcher: matcher).claims.isEmpty }
        if bearing.last != run.count - 1 { bearing.append(run.count - 1) }
        var agreeing = Dictionary(uniqueKeysWithValues: bearing.map { ($0, 1) })
        for other in rpc.nodesInOrder where other != node {
            if agreeing.values.allSatisfy({ $0 >= config.nodeQuorum }) { break }
            let copies: [Block?]
            do { copies = try source.blocks(bearing.map { run[$0].0 }, on: other) } catch {
                logger.warning("rpc: node failed, trying next", metadata: ["node": "\(rpc.nodes[other])", "reason": "\(error.reason)"])
                continue
            }
            for (i, index) in bearing.enumerated() {
                guard i < copies.count, let copy = copies[i] else { continue }
                if BlockChaining.sameForClaims(run[index].1, copy, number: run[index].0, matcher: matcher) { agreeing[index, default: 0] += 1 }
            }
        }
        return bearing.first { agreeing[$0, default: 0] < config.nodeQuorum }
    }

    /// The head and irreversible block as `quorum` nodes report them: with a quorum above one every
    /// node is asked and the quorum-th highest answer is taken, so at least `quorum` nodes vouch for
    /// it (no single node can make the watcher read blocks that are not irreversible yet) and no
    /// single node reporting a low one can hold the watcher back.
    func agreedProperties() -> DynamicGlobalProperties? {
        var answers: [DynamicGlobalProperties] = []
        var failures: [String] = []
        for node in rpc.nodesInOrder where config.nodeQuorum > 1 || answers.count < config.nodeQuorum {
            do throws(RPCFailure) {
                guard let p = try rpc.call(RPCMethod.getDynamicGlobalProperties, .array([]), on: node, as: DynamicGlobalProperties.self) else {
                    throw RPCFailure(node: rpc.nodes[node], reason: "null global properties")
                }
                answers.append(p)
            } catch {
                failures.append(error.description)
                logger.warning("rpc: node failed, trying next", metadata: ["node": "\(rpc.nodes[node])", "reason": "\(error.reason)"])
            }
        }
        guard answers.count >= config.nodeQuorum else {
            logger.error(answers.isEmpty ? "every node failed; retrying" : "too few nodes answered for the irreversible block; retrying", metadata: [
                "answered": "\(answers.count)", "quorum": "\(config.nodeQuorum)", "error": "\(failures.joined(separator: "; "))"])
            return nil
        }
        let vouched = config.nodeQuorum - 1
        let head = answers.sorted { $0.headBlockNumber > $1.headBlockNumber }[vouched]
        let irreversible = answers.map(\.lastIrreversibleBlockNum).sorted(by: >)[vouched]
        return DynamicGlobalProperties(headBlockNumber: head.headBlockNumber, lastIrreversibleBlockNum: irreversible, time: head.time)
    }

    /// Asks every node for its chain id (a node of another chain is dropped, with an error log);
    /// refuses to run when every node serves another chain.
    func checkChain() -> Bool {
        var backoff = Backoff()
        while !signals.stopRequested {
            var reached = 0
            for node in rpc.nodes.indices {
                if (try? rpc.call(RPCMethod.getConfig, .array([]), on: node, as: ChainConfigProbe.self)) != nil { reached += 1 }
            }
            if rpc.dropped.count == rpc.nodes.count {
                logger.critical("every node serves another chain; refusing to run", metadata: [
                    "configured": "\(config.chain.rawValue)", "chain_id": "\(config.chainID)"])
                return false
            }
            if reached > 0 {
                logger.info("chain checked", metadata: ["chain": "\(config.chain.rawValue)", "chain_id": "\(config.chainID)",
                                                        "nodes": "\(reached) of \(rpc.nodes.count)"])
                return true
            }
            logger.error("cannot reach any node for get_config; retrying")
            signals.wait(seconds: backoff.next())
        }
        return false
    }
}
