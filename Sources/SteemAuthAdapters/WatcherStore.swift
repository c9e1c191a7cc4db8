import SteemAuthCore

/// The watcher's Redis state: its checkpoint (the next block to process, per chain), its published
/// lag, its lease, and the claims of each batch — all of a batch written by one atomic script,
/// checkpoint last, so a crash at any point replays the batch (claims are idempotent) and never
/// skips it.
public struct WatcherStore {
    public let redis: RedisConnection
    public let prefix: String
    public let chain: AppConfig.Chain
    /// Where a chain's watcher publishes; the pool reads the same key (RedisSessionStore.watcherKey).
    public static func stateKey(prefix: String, chain: AppConfig.Chain) -> String { prefix + "w:" + chain.rawValue }
    public var stateKey: String { Self.stateKey(prefix: prefix, chain: chain) }
    public var checkpointKey: String { stateKey + ":next" }

    public var leaseKey: String { stateKey + ":lease" }
    /// Who this watcher is in the lease (random per process, so a restarted one is a new owner).
    public let owner: String

    public init(redis: RedisConnection, prefix: String, chain: AppConfig.Chain, owner: String) {
        self.redis = redis; self.prefix = prefix; self.chain = chain; self.owner = owner
    }

    /// Takes or renews the single-writer lease; false while another watcher holds it.
    public func holdLease(ttlMilliseconds: Int) throws(RedisError) -> Bool {
        let reply = try redis.evalTagged(SessionScripts.lease, keys: [leaseKey], args: [owner, String(ttlMilliseconds)])
        switch reply.tag {
        case "held": return true
        case "other": return false
        default: throw reply.unexpected
        }
    }

    /// Gives the lease up at a clean stop, so a standby takes over at once.
    public func releaseLease() {
        _ = try? redis.eval(SessionScripts.releaseLease, keys: [leaseKey], args: [owner])
    }

    public func nextBlock() throws(RedisError) -> Int64? {
        try redis.command(["GET", checkpointKey]).integer
    }

    /// The checkpoint and the id of the block before it (nil when not known: a fresh start).
    public func checkpoint() throws(RedisError) -> (next: Int64, lastID: String?)? {
        let r = try redis.pipeline([["GET", checkpointKey], ["GET", checkpointKey + ":id"]])
        guard let next = try r[0].checked().integer else { return nil }
        return (next, r[1].string)
    }

    /// Creates the checkpoint unless one exists (a standby starting up never moves the leader's);
    /// returns the checkpoint in force.
    public func createCheckpoint(_ n: Int64) throws(RedisError) -> Int64 {
        let r = try redis.pipeline([["SET", checkpointKey, String(n), "NX"], ["GET", checkpointKey]])
        _ = try r[0].checked()
        return r[1].integer ?? n
    }

    public struct Progress: Sendable {
        public var head: Int64, irreversible: Int64, processed: Int64
        public var headTime: ChainTime, processedTime: ChainTime?
        public var behindSeconds: Int64 { processedTime.map { max(0, headTime.secondsSinceEpoch - $0.secondsSinceEpoch) } ?? 0 }
        public init(head: Int64, irreversible: Int64, processed: Int64, headTime: ChainTime, processedTime: ChainTime?) {
            self.head = head; self.irreversible = irreversible; self.processed = processed; self.headTime = headTime; self.processedTime = processedTime
        }
    }

    /// What a write fenced by the checkpoint found: done (with each claim's outcome), or a stored
    /// checkpoint other than the one expected (nil when there is none), and nothing written.
    public enum Fenced: Sendable {
        case done([String])
        case rewound(next: Int64?, lastID: String?)
    }

    /// Applies a batch in one atomic script: claims in chain order, the lag, then the new checkpoint.
    /// Returns each claim's outcome in order.
    /// With `holdCheckpoint` the checkpoint stays where it is (see moveCheckpoint).
    /// `lastBlockID`: the id of block `nextBlock - 1`, kept with the checkpoint (nil keeps the one stored).
    /// `expectedNext`: the checkpoint the batch starts at; when Redis has another (it came back from
    /// an older snapshot) nothing is written and the stored one is returned (`rewound`).
    public func apply(claims: [BlockScan.Claim], rejections: [String: Int] = [:], nextBlock: Int64, lastBlockID: String? = nil, progress: Progress,
                      boundTTL: Int, now: Int64, leaseMilliseconds: Int = 5000, holdCheckpoint: Bool = false,
                      expectedNext: Int64? = nil) throws(RedisError) -> Fenced {
        var keys = [checkpointKey, checkpointKey + ":id", stateKey, stateKey + ":claims", stateKey + ":rejections", leaseKey]
        var args = [prefix, holdCheckpoint ? "" : String(nextBlock), String(boundTTL), String(now),
                    String(progress.head), String(progress.irreversible), String(progress.processed),
                    progress.headTime.description, String(progress.behindSeconds), owner, String(leaseMilliseconds),
                    lastBlockID ?? "", expectedNext.map(String.init) ?? "", String(rejections.count)]
        for (reason, count) in rejections { args += [reason, String(count)] }
        for c in claims {
            keys += [prefix + "c:" + c.memo, prefix + "cg:" + c.memo]
            args += [c.memo, c.sender, String(c.block), c.transactionID, c.time.description, String(c.time.secondsSinceEpoch)]
        }
        let reply = try redis.eval(SessionScripts.applyBatch, keys: keys, args: args)
        if case .error(let e) = reply {
            throw RedisError(kind: e.hasPrefix("LEASE") ? .leaseLost : .server, message: e)
        }
        let applied = try TaggedReply(reply, of: SessionScripts.applyBatch)
        if let rewound = Self.rewound(applied) { return rewound }
        guard applied.tag == "applied", applied.fields.count == claims.count else { throw applied.unexpected }
        return .done(applied.fields.map { $0.string ?? "unexpected" })
    }

    /// Moves the checkpoint once a replica has acknowledged a held batch; fenced by the lease and,
    /// given `expectedNext`, by the checkpoint as `apply` is.
    public func moveCheckpoint(to next: Int64, lastBlockID: String?, expectedNext: Int64? = nil) throws(RedisError) -> Fenced {
        let reply = try redis.eval(SessionScripts.moveCheckpoint, keys: [checkpointKey, checkpointKey + ":id", leaseKey],
                                   args: [String(next), owner, lastBlockID ?? "", expectedNext.map(String.init) ?? ""])
        if case .error(let e) = reply { throw RedisError(kind: e.hasPrefix("LEASE") ? .leaseLost : .server, message: e) }
        let moved = try TaggedReply(reply, of: SessionScripts.moveCheckpoint)
        if let rewound = Self.rewound(moved) { return rewound }
        guard moved.tag == "moved" else { throw moved.unexpected }
        return .done([])
    }

    private static func rewound(_ reply: TaggedReply) -> Fenced? {
        guard reply.tag == "rewound" else { return nil }
        return .rewound(next: reply.string(0).flatMap { Int64($0) }, lastID: reply.string(1))
    }

    /// Counts answers of nodes that disagree (`what`: block, chain, irreversible, missing), for
    /// /metrics; false when Redis failed.
    @discardableResult
    public func countDisagreement(_ what: String) -> Bool {
        (try? redis.command(["HINCRBY", stateKey + ":rpc", "disagreements|" + what, "1"])) != nil
    }

    /// Counts a batch that no replica acknowledged in time (for /metrics); false when Redis failed.
    @discardableResult
    public func countWaitTimeout() -> Bool {
        (try? redis.command(["HINCRBY", stateKey + ":rpc", "wait_timeouts", "1"])) != nil
    }

    /// Adds RPC call and failure counts (deltas since the last call), and sets the batch size in use
    /// per node, for `/metrics`.
    public func addRPCCounts(calls: [String: Int], failures: [String: Int], batchSizes: [String: Int] = [:]) throws(RedisError) {
        var commands: [[String]] = []
        for (node, n) in batchSizes { commands.append(["HSET", stateKey + ":rpc", "batch|" + node, String(n)]) }
        for (node, n) in calls where n > 0 { commands.append(["HINCRBY", stateKey + ":rpc", "calls|" + node, String(n)]) }
        for (node, n) in failures where n > 0 { commands.append(["HINCRBY", stateKey + ":rpc", "failures|" + node, String(n)]) }
        if !commands.isEmpty { _ = try redis.pipeline(commands) }
    }
}
