import FoundationEssentials
import Logging
import SteemAuthAdapters
import SteemAuthCore

/// Reads an account's authorities (`condenser_api.get_accounts`) for a sign-in, through its own RPC
/// client: nodes in order, failover, one timeout.
final class AccountKeysService {
    private let rpc: RPCClient

    init(config: AppConfig, logger: Logger) {
        rpc = RPCClient(nodes: config.nodes, timeoutSeconds: config.rpcTimeout, maxBatchSize: config.rpcBatch, logger: logger)
    }

    /// The account's authorities; nil when the chain has no such account.
    func authorities(of account: String) throws(ReportService.Failure) -> AccountAuthorities? {
        do {
            let accounts = try rpc.call(RPCMethod.getAccounts, .array([.array([.string(account)])]), as: [AccountAuthorities].self) ?? []
            // get_accounts drops unknown names silently: match by name, never by position.
            return accounts.first { $0.name == account }
        } catch {
            if error.timedOut { throw .deadline(seconds: rpc.timeoutSeconds) }
            throw .nodes(error.description)
        }
    }
}
