import FoundationEssentials
import Logging
import SteemAuthAdapters
import SteemAuthCore

/// Computes a visitor's stale-follows report from the chain: `get_following` paged to the end,
/// `get_accounts` in batched chunks, all within one deadline.
final class ReportService {
    enum Failure: Error, CustomStringConvertible {
        case deadline(seconds: Double)
        case nodes(String)
        /// Another request (of any worker or web host) is computing this account's report.
        case busy
        /// This account's report failed moments ago: the nodes are not asked again for a while.
        case recentlyFailed(secondsLeft: Int)
        var description: String {
            switch self {
            case .deadline(let s): return "the report took longer than \(s) s"
            case .nodes(let reason): return "every node failed: \(reason)"
            case .busy: return "another request is computing this report"
            case .recentlyFailed(let s): return "the report failed moments ago; the nodes are asked again in \(s) s"
            }
        }

        /// When the visitor may retry (Retry-After): a failure is remembered for a while.
        var retryAfterSeconds: Int {
            switch self {
            case .busy: return 2
            case .recentlyFailed(let s): return s
            case .deadline, .nodes: return ReportClaim.rememberFailureSeconds
            }
        }
    }

    private let config: AppConfig
    private let rpc: RPCClient
    private let logger: Logger
    static let accountsPerCall = 100
    static let callsPerBatch = 10
    static let maxPages = 1000

    init(config: AppConfig, logger: Logger) {
        self.config = config
        self.logger = logger
        rpc = RPCClient(nodes: config.nodes, timeoutSeconds: config.rpcTimeout, maxReplyBytes: config.rpcMaxBytes,
                        maxBatchSize: config.rpcBatch, expectedChainID: config.chainID, logger: logger)
    }

    func compute(account: String) throws(Failure) -> StaleReport {
        let deadline = monotonicMilliseconds() + Int64(config.reportTimeout * 1000)
        var following: [String] = []
        var start = ""
        for _ in 0..<Self.maxPages {
            let page = try call(deadline) { () throws(RPCFailure) in
                try self.rpc.call(RPCMethod.getFollowing, .array([.string(account), .string(start), .string("blog"), .int(Int64(FollowPaging.pageSize))]),
                                  as: [FollowEntry].self, deadline: deadline) ?? []
            }
            following += FollowPaging.names(on: page, start: start)
            guard let next = FollowPaging.nextStart(after: page) else { break }
            start = next
        }
        // Names a node made up never reach a page, a link, a Redis key or a log line as they came.
        let (validFollowing, badFollowing) = AccountName.partition(following)
        following = validFollowing
        dropped(badFollowing, from: "get_following", account: account)
        var accounts: [ChainAccount] = []
        for batch in following.chunked(into: Self.accountsPerCall).chunked(into: Self.callsPerBatch) {
            let replies = try call(deadline) { () throws(RPCFailure) in
                try self.rpc.batch(batch.map { names in (RPCMethod.getAccounts, .array([.array(names.map { .string($0) })])) }, as: [ChainAccount].self, deadline: deadline)
            }
            accounts += replies.compactMap { $0 }.flatMap { $0 }
        }
        let badAccounts = accounts.filter { !AccountName.isValid($0.name) }
        if !badAccounts.isEmpty {
            accounts.removeAll { !AccountName.isValid($0.name) }
            dropped(badAccounts.map(\.name), from: "get_accounts", account: account)
        }
        return StaleReport.build(account: account, following: following, accounts: accounts,
                                 rule: StalenessRule(staleDays: config.staleDays), now: unixSeconds(), basis: config.staleBasis)
    }

    private func dropped(_ names: [String], from method: String, account: String) {
        guard !names.isEmpty else { return }
        logger.warning("report: the node returned invalid account names; dropped", metadata: [
            "account": "\(account)", "method": "\(method)", "count": "\(names.count)",
            "first": "\(names[0].prefix(64))"])
    }

    /// One RPC step under the report's one deadline, which the client shares out among the nodes
    /// it fails over to (each gets at most what is left of it, not a timeout of its own).
    private func call<T>(_ deadline: Int64, _ body: () throws(RPCFailure) -> T) throws(Failure) -> T {
        guard deadline - monotonicMilliseconds() > 50 else { throw .deadline(seconds: config.reportTimeout) }
        do { return try body() } catch {
            if error.timedOut || monotonicMilliseconds() >= deadline { throw .deadline(seconds: config.reportTimeout) }
            throw .nodes(error.description)
        }
    }
}
