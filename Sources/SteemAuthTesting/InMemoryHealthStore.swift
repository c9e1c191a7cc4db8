import SteemAuthAdapters
import SteemAuthCore

/// `HealthStore` in memory: the watcher's published state is what a test writes with `publish`.
public final class InMemoryHealthStore: HealthStore {
    public let keyspace: InMemoryKeyspace
    public let watcherKey: String
    /// What `/metrics` shows as the master found through Sentinel.
    public var masterAddress: String?
    /// How many replicas the master has connected.
    public var replicas = 0

    public init(keyspace: InMemoryKeyspace, prefix: String = "steemauth:", chain: AppConfig.Chain = .steem) {
        self.keyspace = keyspace
        watcherKey = WatcherStore.stateKey(prefix: prefix, chain: chain)
    }

    /// Writes the watcher's state fields (e.g. `behind`, `updated`) as the watcher's batch does.
    public func publish(_ fields: [String: String]) {
        keyspace.hset(watcherKey, fields.map { ($0.key, $0.value) })
    }

    /// Adds to one of the watcher's counters (`claims`, `rejections` or `rpc`), as the watcher does.
    public func count(_ map: String, _ field: String, by n: Int64 = 1) {
        _ = keyspace.hincrby(watcherKey + ":" + map, field, n)
    }

    public func watcherCounters() throws(RedisError) -> [[String: String]] {
        try keyspace.reachable()
        return [watcherKey, watcherKey + ":claims", watcherKey + ":rejections", watcherKey + ":rpc"].map { keyspace.hash($0) ?? [:] }
    }

    /// As `RedisHealthStore.healthProblem`.
    public func healthProblem(now: Int64, maxLag: Int) throws(RedisError) -> String? {
        try keyspace.reachable()
        guard let updated = keyspace.hget(watcherKey, "updated").flatMap({ Int64($0) }) else { return nil }
        if now - updated > Int64(maxLag) { return "watcher stopped publishing \(now - updated) s ago" }
        if let behind = keyspace.hget(watcherKey, "behind").flatMap({ Int64($0) }), behind > Int64(maxLag) {
            return "watcher is \(behind) s behind the chain"
        }
        return nil
    }

    public func connectedReplicaCount() throws(RedisError) -> Int {
        try keyspace.reachable()
        return replicas
    }
}
