import SteemAuthAdapters
import SteemAuthCore

/// The in-memory session store and its siblings on one keyspace and clock, as a worker's Redis
/// stores share one connection: what one writes, the others read.
public final class InMemoryStores {
    public let clock: TestClock
    public let keyspace: InMemoryKeyspace
    public let sessions: InMemorySessionStore
    public let reportCache: InMemoryReportCacheStore
    public let authorizations: InMemoryAuthorizationStore
    public let health: InMemoryHealthStore

    public init(clock: TestClock = TestClock(), prefix: String = "steemauth:", chain: AppConfig.Chain = .steem,
                lifetimes: SessionLifetimes = SessionLifetimes(unbound: 7200, code: 900, deny: 7200)) {
        self.clock = clock
        keyspace = InMemoryKeyspace(clock: clock)
        sessions = InMemorySessionStore(keyspace: keyspace, prefix: prefix, chain: chain, lifetimes: lifetimes)
        reportCache = InMemoryReportCacheStore(keyspace: keyspace, prefix: prefix)
        authorizations = InMemoryAuthorizationStore(keyspace: keyspace, prefix: prefix)
        health = InMemoryHealthStore(keyspace: keyspace, prefix: prefix, chain: chain)
    }
}
