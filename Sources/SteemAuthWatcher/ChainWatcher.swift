import Logging
import SteemAuthAdapters
import SteemAuthCore

/// Tails the chain and binds login codes. Processes irreversible blocks (or head minus N
/// confirmations) strictly in order; the checkpoint in Redis only moves after a batch is applied.
public final class ChainWatcher {
    public struct Options: Sendable {
        public var fromBlock: Int64?
        public var batchSize: Int
        public var pollSeconds: Double
        public init(fromBlock: Int64? = nil, batchSize: Int = 100, pollSeconds: Double = 1) {
            self.fromBlock = fromBlock; self.batchSize = batchSize; self.pollSeconds = pollSeconds
        }
    }

    let config: AppConfig
    let options: Options
    let rpc: RPCClient
    let store: WatcherStore
    let source: BlockSource
    let matcher: TransferMatcher
    let signals: SignalWaiter
    let logger: Logger

    public init(config: AppConfig, options: Options, rpc: RPCClient, redis: RedisConnection, signals: SignalWaiter, logger: Logger) {
        self.config = config
        self.options = options
        self.rpc = rpc
        self.store = WatcherStore(redis: redis, prefix: config.redisPrefix, chain: config.chain,
                                  owner: "\(hostName())/\(processID())/" + Hex.encode(SystemRandom.bytes(4)))
        self.source = BlockSource(rpc: rpc, chain: config.chain)
        self.matcher = TransferMatcher(config: config)
        self.signals = signals
        self.logger = logger
    }

    public enum Exit: Int32 { case stopped = 0, wrongChain = 3 }

    /// How long the single-writer lease lasts without renewal: a standby takes over after this.
    static let leaseMilliseconds = 5000

    /// Where the watcher stands: the next block to process and the id of the block before it (the
    /// next block's `previous` must name it; nil at a fresh start).
    private var next: Int64 = 0
    private var lastID: String?
    /// The time of the last block this watcher applied (nil until it applies one): the lag it
    /// publishes while blocks the nodes call irreversible stay unprocessed.
    private var lastTime: ChainTime?
    /// Whether this watcher held the lease at the last tick (nil before the first).
    private var leading: Bool?
    private var warnedAhead = false
    /// Redis failed since the last tick: it may have come back without its last writes.
    var redisFailed = false

    public func run() -> Exit {
        guard checkChain() else { return signals.stopRequested ? .stopped : .wrongChain }
        guard let checkpoint = loadOrCreateCheckpoint() else { return .stopped }
        (next, lastID) = checkpoint
        defer { store.releaseLease() }
        var backoff = Backoff()
        while !signals.stopRequested {
            switch tick() {
            case .failed: signals.wait(seconds: backoff.next())
            case .leaseLost: continue
            case .standby: signals.wait(seconds: options.pollSeconds)
            case .stopped: return .stopped
            case .interrupted: backoff.reset()
            case .current:
                backoff.reset()
                signals.wait(seconds: options.pollSeconds)
            }
        }
        logger.notice("watcher stopped", metadata: ["next_block": "\(next)"])
        return .stopped
    }

    /// What one tick ended with, and so how long `run` waits before the next.
    enum Tick {
        /// Redis or the nodes failed: wait with backoff.
        case failed
        /// Another watcher took the lease mid-batch: look again at once.
        case leaseLost
        /// Another watcher holds the lease: wait a poll.
        case standby
        /// Asked to stop while applying a batch.
        case stopped
        /// A signal came between batches, after some progress: look again at once.
        case interrupted
        /// Processed up to the target: wait a poll for new blocks.
        case current
    }

    /// One step of the loop: hold (or wait for) the lease, read the head quorum nodes agree on,
    /// and catch up to the irreversible block (or head minus the confirmations).
    func tick() -> Tick {
        // Only the lease holder writes; the others wait as standbys and take over when it lapses.
        let holds: Bool
        do { holds = try store.holdLease(ttlMilliseconds: Self.leaseMilliseconds) } catch {
            logger.error("redis unavailable; waiting", metadata: ["error": "\(error)"])
            redisFailed = true
            return .failed
        }
        let tookOver = holds && leading != true
        if holds != leading {
            leading = holds
            logger.notice(holds ? "holding the watcher lease: processing" : "standby: another watcher holds the lease",
                          metadata: ["owner": "\(store.owner)"])
        }
        guard holds else { return .standby }
        publishRPCCounts()
        // Another leader may have moved the checkpoint while this one stood by; a Redis that failed
        // may have come back older. Only a checkpoint read that succeeded settles either.
        if tookOver || redisFailed {
            do {
                if let stored = try store.checkpoint() {
                    if tookOver { (next, lastID) = stored; lastTime = nil } else if stored.next < next { rewind(to: stored.next, lastID: stored.lastID) }
                }
                redisFailed = false
            } catch {
                logger.error("redis unavailable; waiting", metadata: ["error": "\(error)"])
                redisFailed = true
                if tookOver { leading = nil }
                return .failed
            }
        }
        guard let props = agreedProperties() else { return .failed }
        if next > props.headBlockNumber + 1000 && !warnedAhead {
            warnedAhead = true
            logger.warning("the checkpoint is far ahead of the node's head: is this the chain the checkpoint was made on?",
                           metadata: ["next_block": "\(next)", "head": "\(props.headBlockNumber)"])
        }
        let target = config.confirmations > 0 ? props.headBlockNumber - Int64(config.confirmations) : props.lastIrreversibleBlockNum
        let start = next
        let caughtUp = catchUp(to: target, props: props)
        if next == start && leading == true && caughtUp != .stopped { publishIdle(props: props, target: target) }
        switch caughtUp {
        case .failed: return leading == true ? .failed : .leaseLost
        case .stopped: return .stopped
        case .reached:
            if next > target { return .current }
            // Short of the target with nothing done: never look again at once (no spinning).
            return next == start ? .failed : .interrupted
        }
    }

    enum CatchUp { case reached, failed, stopped }

    /// Fetches, checks and applies batches from `next` through `target`, strictly in order; stops
    /// early on a signal (`reached` then leaves `next` short of the target) or a failure. Each round
    /// keeps a few requests in flight (BlockSource.pipelined) and applies what came back in batches
    /// of `batchSize`, each chained to the one before and confirmed by quorum.
    func catchUp(to target: Int64, props: DynamicGlobalProperties) -> CatchUp {
        while next <= target && !signals.poll() {
            let count = Int(min(Int64(source.roundSize(atLeast: options.batchSize)), target - next + 1))
            var fetched = source.pipelined(from: next, count: count)
            if let failure = fetched.failure {
                logger.warning("a batch in flight failed; fetching it again", metadata: [
                    "node": "\(rpc.nodes[fetched.node])", "from": "\(failure.from)", "blocks": "\(failure.count)", "error": "\(failure.error)"])
            } else if fetched.run.isEmpty {
                // Quorum nodes call block `next` irreversible: a node without it is failing, not behind.
                missingBlock(on: fetched.node)
            }
            // The round's first block did not come: it is asked again now, with failover to the other
            // nodes (a later failed request is the first of the next round).
            if fetched.run.isEmpty {
                do { (fetched.run, fetched.node) = try source.blocks(from: next, count: fetched.failure?.count ?? min(count, options.batchSize)) } catch {
                    logger.error("fetching blocks failed; retrying", metadata: ["from": "\(next)", "error": "\(error)"])
                    return .failed
                }
                guard !fetched.run.isEmpty else {
                    missingBlock(on: fetched.node)
                    return .failed
                }
            }
            for start in stride(from: 0, to: fetched.run.count, by: options.batchSize) {
                let batch = Array(fetched.run[start..<min(start + options.batchSize, fetched.run.count)])
                let run = believedPrefix(batch, after: lastID, servedBy: fetched.node)
                // Not one block could be believed: another node is asked after a short wait.
                guard !run.isEmpty else { return .failed }
                switch apply(batch: run, props: props) {
                case .applied: break
                case .failed: return .failed
                case .stopped: return .stopped
                }
                // What is cut is fetched again, from another node, in the next round.
                if run.count < batch.count { break }
            }
        }
        return .reached
    }

    /// A node answered null (or an empty range) for block `next`, which quorum nodes call
    /// irreversible: counted as its failure, logged, and the next fetch goes to another node.
    private func missingBlock(on node: Int) {
        rpc.countFailure(node)
        logger.warning("a node does not have a block the nodes call irreversible: avoiding it", metadata: [
            "node": "\(rpc.nodes[node])", "block": "\(next)"])
        rpc.avoid(node)
    }

    enum Applied { case applied, failed, stopped }

    /// Binds the claims of a believed run of blocks (chained to `lastID`, confirmed by quorum) and
    /// moves the checkpoint past it; on success `next` and `lastID` follow.
    func apply(batch run: [(Int64, Block)], props: DynamicGlobalProperties) -> Applied {
        guard let last = run.last else { return .applied }
        var scan = BlockScan()
        for (number, block) in run {
            let s = BlockScan.scan(block, number: number, matcher: matcher)
            scan.claims += s.claims
            scan.rejections += s.rejections
        }
        let progress = WatcherStore.Progress(head: props.headBlockNumber, irreversible: props.lastIrreversibleBlockNum,
                                             processed: last.0, headTime: props.time, processedTime: last.1.timestamp)
        let rejections = Dictionary(scan.rejections.map { ($0.reason.rawValue, 1) }, uniquingKeysWith: +)
        let outcomes: [String]
        // Under Sentinel a batch with claims keeps the checkpoint until a replica has it: a
        // failover right after must not lose a binding (the batch is applied again, harmlessly).
        let hold = config.redisMinReplicas > 0 && !scan.claims.isEmpty
        switch applyWithRetry(scan.claims, rejections: rejections, from: next, next: last.0 + 1, lastID: last.1.blockID, progress: progress, holdCheckpoint: hold) {
        case .applied(let o): outcomes = o
        case .stopped: return .stopped
        case .rewound: return .failed
        case .leaseLost:
            logger.warning("lost the watcher lease; the batch was not applied", metadata: ["next_block": "\(next)"])
            leading = false
            return .failed
        }
        log(scan, outcomes)
        if hold {
            do {
                let (wanted, acked) = try store.redis.waitForReplicas(minimum: config.redisMinReplicas, timeoutMs: 500)
                guard acked >= wanted else {
                    if !store.countWaitTimeout() { redisFailed = true }
                    logger.warning("no replica acknowledged the batch's bindings; applying it again",
                                   metadata: ["from": "\(next)", "to": "\(last.0)", "wanted": "\(wanted)", "acknowledged": "\(acked)"])
                    return .failed
                }
                if case .rewound(let stored, let storedID) = try store.moveCheckpoint(to: last.0 + 1, lastBlockID: last.1.blockID, expectedNext: next) {
                    rewind(to: stored, lastID: storedID)
                    return .failed
                }
            } catch {
                if error.kind == .leaseLost { leading = false }
                logger.error("moving the checkpoint failed; the batch will be applied again", metadata: ["error": "\(error)"])
                return .failed
            }
        }
        logger.debug("processed blocks", metadata: ["from": "\(next)", "to": "\(last.0)", "claims": "\(scan.claims.count)"])
        next = last.0 + 1
        lastID = last.1.blockID
        lastTime = last.1.timestamp
        return .applied
    }

    private func loadOrCreateCheckpoint() -> (next: Int64, lastID: String?)? {
        var backoff = Backoff()
        while !signals.stopRequested {
            do {
                if let current = try store.checkpoint() {
                    logger.notice("watcher started", metadata: startMetadata(next: current.next, fresh: false))
                    return current
                }
                let start: Int64
                if let from = options.fromBlock { start = from } else {
                    guard let p = agreedProperties() else {
                        logger.error("cannot read the irreversible block to start from; retrying")
                        signals.wait(seconds: backoff.next())
                        continue
                    }
                    start = p.lastIrreversibleBlockNum
                }
                // Written before anything is processed: a restart resumes here, never later.
                let inForce = try store.createCheckpoint(start)
                logger.notice("watcher started", metadata: startMetadata(next: inForce, fresh: inForce == start))
                return (inForce, inForce == start ? nil : try store.checkpoint()?.lastID)
            } catch {
                logger.error("redis unavailable; waiting", metadata: ["error": "\(error)"])
                signals.wait(seconds: backoff.next())
            }
        }
        return nil
    }

    private func startMetadata(next: Int64, fresh: Bool) -> Logger.Metadata {
        ["chain": "\(config.chain.rawValue)", "nodes": "\(config.shownNodes)", "quorum": "\(config.nodeQuorum)", "account": "\(config.account)",
         "next_block": "\(next)", "checkpoint": fresh ? "created" : "resumed",
         "mode": config.confirmations > 0 ? "head-\(config.confirmations)" : "irreversible"]
    }

    enum Stored { case applied([String]), stopped, leaseLost, rewound }

    /// Redis down mid-batch: wait and apply the same batch again (it is idempotent); give up only on
    /// stop, when another watcher took the lease, or when Redis came back with an older checkpoint
    /// (`rewound`: the watcher goes on from that one).
    /// The script is fenced by the checkpoint (`from`, where the batch starts): a Redis that came
    /// back older refuses the batch whether or not the watcher saw it fail, and the watcher goes back.
    private func applyWithRetry(_ claims: [BlockScan.Claim], rejections: [String: Int], from: Int64, next: Int64, lastID: String?,
                                progress: WatcherStore.Progress, holdCheckpoint: Bool) -> Stored {
        var backoff = Backoff()
        while true {
            do {
                switch try store.apply(claims: claims, rejections: rejections, nextBlock: next, lastBlockID: lastID, progress: progress,
                                       boundTTL: config.boundTTL, now: unixSeconds(), leaseMilliseconds: Self.leaseMilliseconds,
                                       holdCheckpoint: holdCheckpoint, expectedNext: from) {
                case .done(let outcomes): return .applied(outcomes)
                case .rewound(let stored, let storedID):
                    rewind(to: stored, lastID: storedID)
                    return .rewound
                }
            }
            catch {
                if error.kind == .leaseLost { return .leaseLost }
                logger.error("applying a batch to redis failed; will retry the same batch", metadata: ["error": "\(error)", "next_block": "\(next)"])
                if signals.wait(seconds: backoff.next()) { return .stopped }
                if rewindToStoredCheckpoint() { return .rewound }
            }
        }
    }

    /// A Redis that restarts from its append-only file may come back without its last writes
    /// (`appendfsync everysec` writes the file up to 2 s after it answered): bindings and checkpoint
    /// moves the watcher made. Going on from its own position would skip those blocks' claims, so it
    /// goes back to the checkpoint Redis has and applies again from there (harmless where the writes
    /// survived). True when it went back.
    @discardableResult
    private func rewindToStoredCheckpoint() -> Bool {
        guard let stored = try? store.checkpoint(), stored.next < next else { return false }
        rewind(to: stored.next, lastID: stored.lastID)
        return true
    }

    /// Goes on from the checkpoint Redis has (a fenced write found it other than `next`). Redis
    /// without any checkpoint (it came back empty) gets this watcher's position written again.
    private func rewind(to stored: Int64?, lastID storedID: String?) {
        guard let stored else {
            logger.error("redis came back without the watcher's checkpoint: writing it again", metadata: ["next_block": "\(next)"])
            do { _ = try store.createCheckpoint(next) } catch { redisFailed = true }
            return
        }
        logger.warning(stored < next ? "redis came back with an older checkpoint: applying the blocks since then again"
                                     : "redis has a newer checkpoint than this watcher: going on from it",
                       metadata: ["next_block": "\(stored)", "was": "\(next)"])
        (next, lastID, lastTime) = (stored, storedID, nil)
    }

    /// Publishes the lag and renews the lease when no block was applied this tick (fenced by the
    /// checkpoint like a batch). Blocks up to `target` still unprocessed count from the last block
    /// applied, never as no lag.
    private func publishIdle(props: DynamicGlobalProperties, target: Int64) {
        // Before this watcher applied a block, the lag is estimated at 3 s a block.
        let processedTime = next > target ? nil
            : lastTime ?? ChainTime(secondsSinceEpoch: props.time.secondsSinceEpoch - 3 * max(0, props.headBlockNumber - next + 1))
        let progress = WatcherStore.Progress(head: props.headBlockNumber, irreversible: props.lastIrreversibleBlockNum,
                                             processed: next - 1, headTime: props.time, processedTime: processedTime)
        do {
            if case .rewound(let stored, let storedID) = try store.apply(claims: [], nextBlock: next, progress: progress, boundTTL: config.boundTTL,
                                                                         now: unixSeconds(), leaseMilliseconds: Self.leaseMilliseconds, expectedNext: next) {
                rewind(to: stored, lastID: storedID)
            }
        } catch {
            if error.kind != .leaseLost { redisFailed = true }
            logger.warning("publishing the watcher's state failed", metadata: ["error": "\(error)"])
        }
    }

    private var publishedCalls: [String: Int] = [:], publishedFailures: [String: Int] = [:]

    /// RPC counters for `/metrics`, as deltas (they survive watcher restarts in Redis).
    private func publishRPCCounts() {
        let calls = rpc.calls, failures = rpc.failures
        let dc = calls.mapValues { $0 }.merging(publishedCalls.mapValues { -$0 }, uniquingKeysWith: +)
        let df = failures.merging(publishedFailures.mapValues { -$0 }, uniquingKeysWith: +)
        do {
            try store.addRPCCounts(calls: dc, failures: df, batchSizes: rpc.batchSizeByNode)
            publishedCalls = calls; publishedFailures = failures
        } catch {
            redisFailed = true
            logger.debug("rpc counters not published", metadata: ["error": "\(error)"])
        }
    }

    private func log(_ scan: BlockScan, _ outcomes: [String]) {
        for r in scan.rejections {
            logger.info("transfer rejected", metadata: ["block": "\(r.block)", "tx": "\(r.transactionID)", "from": "\(r.sender)", "reason": "\(r.reason.rawValue)"])
        }
        for (claim, outcome) in zip(scan.claims, outcomes) {
            let level: Logger.Level = outcome == "bound" ? .notice : .info
            logger.log(level: level, "claim", metadata: ["block": "\(claim.block)", "tx": "\(claim.transactionID)",
                                                         "from": "\(claim.sender)", "decision": "\(outcome)"])
        }
    }
}
