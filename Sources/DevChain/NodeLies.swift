import SteemAuthCore

/// What one listener of the devchain lies about, so tests can play a dishonest public node next to
/// an honest one over the same chain. Set through `devchain.lie` (the `lie` subcommand).
public struct NodeLies: Sendable {
    /// The older `fault --mode fork`: another version of every block above irreversibility.
    var forkMemo: String?
    /// `get_accounts` answers with this key (weight = threshold) in the account's authority.
    var forgedAuthority: (account: String, role: String, key: String)?
    /// Block number → a transfer this node adds to that block, keeping the block's id.
    var injected: [Int64: SimulatedChain.SimTransfer] = [:]
    /// From this block on (`forkCount` blocks), the node serves a fork: other ids, and a `previous`
    /// that does not chain to the real block before; the fork's first block pays `forkFromMemo`.
    var forkFrom: Int64?
    var forkCount: Int64 = .max
    var forkFromMemo = "fork"
    /// The node reports its irreversible block this many blocks higher (at most its head); lower
    /// when negative (at least 1).
    var irreversibleAhead: Int64 = 0
    /// The chain id the node claims in get_config and get_version.
    var chainID: String?
    /// `get_accounts` also answers for every other account of the chain, each claiming it never posted.
    var unaskedAccounts = false
    /// The node has no block above this one: `get_block` answers null, `get_block_range` stops
    /// before it (an empty range from there), while its head and irreversible block stay true.
    var nullBlocksAbove: Int64?

    public init() {}

    /// `params.kind`: forge_authority {account, role, key} | inject_transfer {block, from, memo, amount}
    /// | fork {from_block, count, memo} | irreversible {ahead} or {behind} | chain_id {chain_id} | unasked_accounts
    /// | null_blocks {above} | none (tells the truth again).
    static func apply(_ p: JSONValue, to faults: FaultInjector) async throws -> String {
        guard let kind = p["kind"]?.stringValue else { throw RPCErrorObject(code: -32602, message: "kind is required") }
        switch kind {
        case "forge_authority":
            guard let account = p["account"]?.stringValue, let key = p["key"]?.stringValue else {
                throw RPCErrorObject(code: -32602, message: "account and key are required")
            }
            let role = p["role"]?.stringValue ?? "posting"
            guard ["owner", "active", "posting"].contains(role) else { throw RPCErrorObject(code: -32602, message: "role is owner|active|posting") }
            await faults.update { $0.forgedAuthority = (account, role, key) }
        case "inject_transfer":
            guard let block = p["block"]?.intValue, let from = p["from"]?.stringValue, let memo = p["memo"]?.stringValue else {
                throw RPCErrorObject(code: -32602, message: "block, from and memo are required")
            }
            let amount = p["amount"]?.stringValue ?? "0.001 STEEM"
            guard Asset.parseLegacy(amount) != nil else { throw RPCErrorObject(code: -32602, message: "amount is like \"0.001 STEEM\"") }
            await faults.update { $0.injected[block] = SimulatedChain.SimTransfer(from: from, to: "", amount: amount, memo: memo) }
        case "fork":
            guard let from = p["from_block"]?.intValue, from > 1 else { throw RPCErrorObject(code: -32602, message: "from_block (> 1) is required") }
            let memo = p["memo"]?.stringValue ?? "fork", count = p["count"]?.intValue ?? .max
            await faults.update { $0.forkFrom = from; $0.forkCount = max(1, count); $0.forkFromMemo = memo }
        case "irreversible" where p["behind"] != nil:
            guard let behind = p["behind"]?.intValue, behind > 0 else { throw RPCErrorObject(code: -32602, message: "behind (> 0) is required") }
            await faults.update { $0.irreversibleAhead = -behind }
        case "irreversible":
            guard let ahead = p["ahead"]?.intValue, ahead >= 0 else { throw RPCErrorObject(code: -32602, message: "ahead (>= 0) is required") }
            await faults.update { $0.irreversibleAhead = ahead }
        case "chain_id":
            guard let id = p["chain_id"]?.stringValue, id.utf8.count == 64, Hex.decodeAnyCase(id) != nil else {
                throw RPCErrorObject(code: -32602, message: "chain_id is 64 hex characters")
            }
            await faults.update { $0.chainID = id.lowercased() }
        case "unasked_accounts":
            await faults.update { $0.unaskedAccounts = true }
        case "null_blocks":
            guard let above = p["above"]?.intValue, above >= 0 else { throw RPCErrorObject(code: -32602, message: "above (>= 0) is required") }
            await faults.update { $0.nullBlocksAbove = above }
        case "none":
            await faults.update { $0 = NodeLies() }
        default:
            throw RPCErrorObject(code: -32602, message: "kind is forge_authority|inject_transfer|fork|irreversible|chain_id|unasked_accounts|null_blocks|none")
        }
        return kind
    }
}
