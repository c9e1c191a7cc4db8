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

    init(config: AppConfig, logger: Logger) {
        self.config = config
        self.logger = logger
        rpc = RPCClient(nodes: config.nodes, timeoutSeconds: config.rpcTimeout, maxReplyBytes: config.rpcMaxBytes,
                        maxBatchSize: config.rpcBatch, expectedChainID: config.chainID, logger: logger)
    }

    /// The report, every node call ending by `deadline` (monotonic milliseconds). The follow pages
    /// come one after another (each starts at the previous page's last name); a page's accounts
    /// are looked up while the next page is fetched, in batches spread over the nodes that answer.
    func compute(account: String, deadline: Int64) throws(Failure) -> StaleReport {
        guard deadline - monotonicMilliseconds() > 50 else { throw .deadline(seconds: config.reportTimeout) }
        var lookup = FollowLookup(account: account, nodes: rpc.nodesInOrder, nodeNames: rpc.nodes, deadline: deadline)
        lookup.plan = { [rpc] count, nodes in
            let sizes = rpc.batchSizeByNode
            return AccountLookupPlan(nameCount: count, nodes: nodes.map { ($0, sizes[rpc.nodes[$0]] ?? 1) },
                                     namesPerCall: Self.accountsPerCall, callsPerBatch: Self.callsPerBatch)
        }
        rpc.concurrently([lookup.firstPage()], as: [FollowLookup.Reply].self, deadline: deadline) { index, result in
            lookup.received(index, result, logger: self.logger)
        }
        if let failure = lookup.failure {
            if failure.timedOut || monotonicMilliseconds() >= deadline { throw .deadline(seconds: config.reportTimeout) }
            throw .nodes(failure.description)
        }
        for node in lookup.failedNodes where node == rpc.preferredNode { rpc.avoid(node) }
        // Names a node made up never reach a page, a link, a Redis key or a log line as they came.
        dropped(lookup.badFollowing, from: "get_following", account: account)
        // Accounts need no such check: a node's lookup answers only for the valid names it was asked
        // (FollowLookup refuses any other).
        return StaleReport.build(account: account, following: lookup.following, accounts: lookup.accounts.flatMap { $0 },
                                 rule: StalenessRule(staleDays: config.staleDays), now: unixSeconds(), basis: config.staleBasis)
    }

    private func dropped(_ names: [String], from method: String, account: String) {
        guard !names.isEmpty else { return }
        logger.warning("report: the node returned invalid account names; dropped", metadata: [
            "account": "\(account)", "method": "\(method)", "count": "\(names.count)",
            "first": "\(names[0].prefix(64))"])
    }
}
