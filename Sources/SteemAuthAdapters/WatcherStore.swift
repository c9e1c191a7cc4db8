import SteemAuthCore

/// The watcher's Redis state: its checkpoint (the next block to process, per chain), its published
/// lag, and the claims of each batch — all written in one pipeline per batch, checkpoint last, so a
/// crash at any point replays the batch (claims are idempotent) and never skips it.
public struct WatcherStore {
    public let redis: RedisConnection
    public let prefix: String
    public let chain: AppConfig.Chain
    public var stateKey: String { prefix + "w:" + chain.rawValue }
    public var checkpointKey: String { stateKey + ":next" }

    public init(redis: RedisConnection, prefix: String, chain: AppConfig.Chain) {
        self.redis = redis; self.prefix = prefix; self.chain = chain
    }

    public func nextBlock() throws(RedisError) -> Int64? {
        try redis.command(["GET", checkpointKey]).integer
    }

    public func setNextBlock(_ n: Int64) throws(RedisError) {
        let r = try redis.command(["SET", checkpointKey, String(n)])
        if case .error(let e) = r { throw RedisError(kind: .server, message: e) }
    }

    public struct Progress: Sendable {
        public var head: Int64, irreversible: Int64, processed: Int64
        public var headTime: ChainTime, processedTime: ChainTime?
        public var behindSeconds: Int64 { processedTime.map { max(0, headTime.secondsSinceEpoch - $0.secondsSinceEpoch) } ?? 0 }
        public init(head: Int64, irreversible: Int64, processed: Int64, headTime: ChainTime, processedTime: ChainTime?) {
            self.head = head; self.irreversible = irreversible; self.processed = processed; self.headTime = headTime; self.processedTime = processedTime
        }
    }

    /// Applies a batch in one atomic script: claims in chain order, the lag, then the new checkpoint.
    /// Returns each claim's outcome in order.
    public func apply(claims: [BlockScan.Claim], rejections: [String: Int] = [:], nextBlock: Int64, progress: Progress,
                      boundTTL: Int, now: Int64) throws(RedisError) -> [String] {
        var args = [prefix, checkpointKey, String(nextBlock), stateKey, String(boundTTL), String(now),
                    String(progress.head), String(progress.irreversible), String(progress.processed),
                    progress.headTime.description, String(progress.behindSeconds), String(rejections.count)]
        for (reason, count) in rejections { args += [reason, String(count)] }
        for c in claims { args += [c.memo, c.sender, String(c.block), c.transactionID, c.time.description] }
        let reply = try redis.eval(SessionScripts.applyBatch, args: args)
        if case .error(let e) = reply { throw RedisError(kind: .server, message: e) }
        guard let items = reply.array, items.count == claims.count else {
            throw RedisError(kind: .server, message: "unexpected batch reply \(reply)")
        }
        return items.map { $0.string ?? "unexpected" }
    }

    /// Adds RPC call and failure counts (deltas since the last call) for `/metrics`.
    public func addRPCCounts(calls: [String: Int], failures: [String: Int]) throws(RedisError) {
        var commands: [[String]] = []
        for (node, n) in calls where n > 0 { commands.append(["HINCRBY", stateKey + ":rpc", "calls|" + node, String(n)]) }
        for (node, n) in failures where n > 0 { commands.append(["HINCRBY", stateKey + ":rpc", "failures|" + node, String(n)]) }
        if !commands.isEmpty { _ = try redis.pipeline(commands) }
    }
}
