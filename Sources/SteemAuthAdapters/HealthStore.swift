/// What `/healthz` and `/metrics` read of the watcher and the Redis deployment. Implemented by
/// `RedisHealthStore`, and in tests by `InMemoryHealthStore`.
public protocol HealthStore: AnyObject {
    /// The watcher's published state and its claim, rejection and RPC counters (four maps, in that order).
    func watcherCounters() throws(RedisError) -> [[String: String]]

    /// nil when healthy (the store answers; the watcher publishes and keeps up), else the reason.
    func healthProblem(now: Int64, maxLag: Int) throws(RedisError) -> String?

    /// The master's address when found through Sentinel (for `/metrics`).
    var masterAddress: String? { get }

    /// How many replicas the master has connected now.
    func connectedReplicaCount() throws(RedisError) -> Int
}
