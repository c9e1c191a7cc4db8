@testable import SteemAuthAdapters
import SteemAuthCore

extension Cluster {
    /// A transfer paying `memo` from `account`, bound as the watcher binds it (the same claim script,
    /// on the cluster's real Redis), without a watcher, a lease or a block. `blockTime` as the chain
    /// writes it; a code past its visible expiry binds only when that time parses and is at or before
    /// the code's expiry.
    func claim(memo: String, account: String, block: Int64, transactionID: String,
               blockTime: String, boundTTL: Int, now: Int64) throws -> ClaimOutcome {
        try SessionScripts.claimProof(on: redis(), prefix: "steemauth:", memo: memo, account: account, block: block, transactionID: transactionID,
                                 blockTime: blockTime, boundTTL: boundTTL, now: now, method: .transfer, publicKey: "", level: .active,
                                 blockUnixTime: ChainTime(blockTime).map { String($0.secondsSinceEpoch) } ?? "")
    }
}
