import Logging
import SteemAuthAdapters
import SteemAuthCore

/// The stores a worker's routes use: in production all on the worker's one Redis connection
/// (opened after fork, never shared); in tests the in-memory fakes.
public struct WebStores {
    public var sessions: any SessionStore
    public var reportCache: any ReportCacheStore
    public var authorizations: any AuthorizationStore
    public var health: any HealthStore

    public init(sessions: any SessionStore, reportCache: any ReportCacheStore, authorizations: any AuthorizationStore,
                health: any HealthStore) {
        self.sessions = sessions
        self.reportCache = reportCache
        self.authorizations = authorizations
        self.health = health
    }

    /// The Redis stores on one new connection; a failover is counted and logged.
    public static func redis(config: AppConfig, logger: Logger, metrics: PoolMetrics?) -> WebStores {
        let redis = RedisConnection(endpoint: config.redis, sentinelPassword: config.redisSentinelPassword, sentinelUser: config.redisSentinelUser)
        redis.onFailover = { [logger, metrics] address in
            metrics?.count(.redisFailover)
            logger.warning("redis: the master moved (failover)", metadata: ["master": "\(address)"])
        }
        return WebStores(sessions: RedisSessionStore(redis: redis, prefix: config.redisPrefix, chain: config.chain, lifetimes: SessionLifetimes(config)),
                         reportCache: RedisReportCacheStore(redis: redis, prefix: config.redisPrefix),
                         authorizations: RedisAuthorizationStore(redis: redis, prefix: config.redisPrefix),
                         health: RedisHealthStore(redis: redis, prefix: config.redisPrefix, chain: config.chain))
    }
}
