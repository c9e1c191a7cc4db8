@testable import SteemAuthAdapters
import SteemAuthCore

extension Cluster {
    /// A transfer paying `memo` from `account`, bound as the watcher binds it (the same claim script,
    /// on the cluster's real Redis), without a watcher, a lease or a block. `blockTime` as the chain
    /// writes it; a code past its visible expiry binds only when that time parses and is at or before
    /// the code's expiry.
    func claim(memo: String, account: String, block: Int64, transactionID: String,
               blockTime: String, boundTTL: Int, now: Int64) throws -> ClaimOutcome {
        let unix = ChainTime(blockTime).map { String($0.secondsSinceEpoch) } ?? ""
        let reply = try redis().eval(SessionScripts.claim, args: ["steemauth:", memo, account, String(block), transactionID,
                                                                  blockTime, String(boundTTL), String(now), "transfer", "", "active", unix])
        guard let s = reply.string, let outcome = ClaimOutcome(rawValue: s) else {
            throw RedisError(kind: .server, message: "unexpected claim reply \(reply)")
        }
        return outcome
    }
}
