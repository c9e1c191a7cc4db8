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

    /// These stores as the contract suite's subject; expiry moves no clock (the key's time is up now).
    public func contractSubject() -> SessionStoreContract.Subject {
        SessionStoreContract.Subject(
            sessions: sessions, authorizations: authorizations, reportCache: reportCache, lifetimes: sessions.lifetimes,
            bindByTransfer: { [sessions, clock] memo, account, block, tx in
                sessions.bindByTransfer(memo: memo, account: account, block: block, transactionID: tx, blockTime: "t",
                                        boundTTL: 3600, now: clock.seconds)
            },
            ttl: { [keyspace, sessions] key in keyspace.ttl(sessions.prefix + key) },
            expire: { [keyspace, sessions] key in keyspace.expireNow(sessions.prefix + key) },
            now: { [clock] in clock.seconds })
    }
}
