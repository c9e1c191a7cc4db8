import FoundationEssentials
import Logging
import SteemAuthAdapters
import SteemAuthCore

/// Decides whether a key speaks for an account (`condenser_api.get_accounts`) for a sign-in, through
/// its own RPC client. `quorum` nodes must agree on the verdict before it is believed: a node that
/// puts its own key in an account's authority logs no one in.
final class AccountKeysService {
    enum Failure: Error, CustomStringConvertible {
        case deadline(seconds: Double)
        case nodes(String)
        /// Nodes answered differently, and no verdict reached the quorum.
        case disagreement(String)
        var description: String {
            switch self {
            case .deadline(let s): return "the nodes took longer than \(s) s"
            case .nodes(let reason): return "too few nodes answered: \(reason)"
            case .disagreement(let detail): return "the nodes disagree: \(detail)"
            }
        }
    }

    private let rpc: RPCClient
    private let quorum: Int
    private let logger: Logger
    /// Milliseconds a whole sign-in may spend on nodes, every node together: it ends before nginx's
    /// fastcgi_read_timeout, as a report does, so no worker is held after nginx gave up.
    private let budgetMilliseconds: Int64

    init(config: AppConfig, logger: Logger) {
        rpc = RPCClient(nodes: config.nodes, timeoutSeconds: config.rpcTimeout, maxReplyBytes: config.rpcMaxBytes, maxBatchSize: config.rpcBatch,
                        expectedChainID: config.chainID, logger: logger)
        quorum = config.nodeQuorum
        budgetMilliseconds = Int64((config.nginxReadTimeout - AppConfig.reportMarginBeforeNginx) * 1000)
        self.logger = logger
    }

    /// The verdict `quorum` nodes agree on; nil inside means the chain has no such account.
    /// `onDisagreement` runs once when two nodes answered differently (even if a quorum was reached).
    func verdict(account: String, key: String, onDisagreement: () -> Void) throws(Failure) -> AccountAuthorities.Verdict? {
        var tally = QuorumTally<AccountAuthorities.Verdict?>(quorum: quorum)
        var seen: [String] = [], failures: [String] = [], timedOut = false
        let deadline = monotonicMilliseconds() + budgetMilliseconds
        let nodes = rpc.nodesInOrder
        for (asked, node) in nodes.enumerated() {
            // No verdict can reach the quorum from the nodes left: stop asking.
            if tally.answers + (nodes.count - asked) < quorum { break }
            let answer: AccountAuthorities.Verdict?
            do {
                let accounts = try rpc.call(RPCMethod.getAccounts, .array([.array([.string(account)])]), on: node, as: [AccountAuthorities].self,
                                            deadline: deadline) ?? []
                // get_accounts drops unknown names silently: match by name, never by position.
                answer = accounts.first { $0.name == account }?.verdict(for: key)
            } catch {
                timedOut = timedOut || error.timedOut
                failures.append(error.description)
                continue
            }
            seen.append("\(rpc.nodes[node])=\(answer.map { "\($0)" } ?? "no account")")
            let wasSplit = tally.disagreed
            let agreed = tally.add(answer)
            if tally.disagreed && !wasSplit {
                onDisagreement()
                logger.warning("sign-in: nodes disagree about an account's keys", metadata: ["account": "\(account)", "answers": "\(seen.joined(separator: " "))"])
            }
            if let agreed { return agreed }
        }
        if tally.disagreed { throw .disagreement(seen.joined(separator: " ")) }
        if timedOut && tally.answers == 0 { throw .deadline(seconds: rpc.timeoutSeconds) }
        throw .nodes("\(tally.answers) of the \(quorum) needed; \(failures.joined(separator: "; "))")
    }
}
