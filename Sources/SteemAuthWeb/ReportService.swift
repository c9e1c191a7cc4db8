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
        var description: String {
            switch self {
            case .deadline(let s): return "the report took longer than \(s) s"
            case .nodes(let reason): return "every node failed: \(reason)"
            case .busy: return "another request is computing this report"
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
        rpc = RPCClient(nodes: config.nodes, timeoutSeconds: config.rpcTimeout, maxBatchSize: config.rpcBatch,
                        expectedChainID: config.chainID, logger: logger)
    }

    func compute(account: String) throws(Failure) -> StaleReport {
        let deadline = monotonicMilliseconds() + Int64(config.reportTimeout * 1000)
        var following: [String] = []
        var start = ""
        for _ in 0..<Self.maxPages {
            let page = try call(deadline) { () throws(RPCFailure) in
                try self.rpc.call(RPCMethod.getFollowing, .array([.string(account), .string(start), .string("blog"), .int(Int64(FollowPaging.pageSize))]),
                                  as: [FollowEntry].self) ?? []
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
                try self.rpc.batch(batch.map { names in (RPCMethod.getAccounts, .array([.array(names.map { .string($0) })])) }, as: [ChainAccount].self)
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

    /// One RPC step under the report's deadline: each call's timeout is what is left of it.
    private func call<T>(_ deadline: Int64, _ body: () throws(RPCFailure) -> T) throws(Failure) -> T {
        let left = Double(deadline - monotonicMilliseconds()) / 1000
        guard left > 0.05 else { throw .deadline(seconds: config.reportTimeout) }
        rpc.timeoutSeconds = min(config.rpcTimeout, left)
        do { return try body() } catch {
            if error.timedOut || monotonicMilliseconds() >= deadline { throw .deadline(seconds: config.reportTimeout) }
            throw .nodes(error.description)
        }
    }
}
