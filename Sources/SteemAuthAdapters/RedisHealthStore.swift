import SteemAuthCore

/// The watcher's published state and the Redis deployment's health, read for `/healthz` and `/metrics`.
public final class RedisHealthStore: HealthStore {
    private let redis: RedisConnection
    public let watcherKey: String

    public init(redis: RedisConnection, prefix: String, chain: AppConfig.Chain) {
        self.redis = redis
        watcherKey = WatcherStore.stateKey(prefix: prefix, chain: chain)
    }

    /// The watcher's published state and counters, for `/metrics` (one round trip).
    public func watcherCounters() throws(RedisError) -> [[String: String]] {
        let replies = try redis.pipeline([["HGETALL", watcherKey], ["HGETALL", watcherKey + ":claims"],
                                          ["HGETALL", watcherKey + ":rejections"], ["HGETALL", watcherKey + ":rpc"]])
        return replies.map { reply in
            var out: [String: String] = [:]
            let items = reply.array ?? []
            var i = 0
            while i + 1 < items.count { out[items[i].string ?? ""] = items[i + 1].string ?? ""; i += 2 }
            return out
        }
    }

    /// `/healthz`: a real PING, and the watcher's published state, in one round trip.
    /// Returns nil when healthy, else the reason.
    public func healthProblem(now: Int64, maxLag: Int) throws(RedisError) -> String? {
        let replies = try redis.pipeline([["PING"], ["HMGET", watcherKey, "behind", "updated"]])
        guard replies[0] == .status("PONG") else { throw RedisError(kind: .server, message: "PING answered \(replies[0])") }
        guard let fields = replies[1].array, fields.count == 2, let updated = fields[1].integer else {
            return nil          // no watcher has published yet: the web tier itself is healthy
        }
        if now - updated > Int64(maxLag) { return "watcher stopped publishing \(now - updated) s ago" }
        if let behind = fields[0].integer, behind > Int64(maxLag) { return "watcher is \(behind) s behind the chain" }
        return nil
    }

    public var masterAddress: String? { redis.masterAddress }

    public func connectedReplicaCount() throws(RedisError) -> Int { try redis.connectedReplicaCount() }
}
