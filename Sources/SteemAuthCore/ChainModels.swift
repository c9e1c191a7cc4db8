/// The parts of chain replies steemauth reads. Unknown fields are ignored; both the condenser
/// (`["transfer", {...}]`, `"0.001 STEEM"`) and appbase (`{"type":"transfer_operation"}`, NAI) forms decode.
public struct DynamicGlobalProperties: Codable, Sendable, Equatable {
    public var headBlockNumber: Int64
    public var lastIrreversibleBlockNum: Int64
    public var time: ChainTime
    enum CodingKeys: String, CodingKey {
        case headBlockNumber = "head_block_number", lastIrreversibleBlockNum = "last_irreversible_block_num", time
    }
    public init(headBlockNumber: Int64, lastIrreversibleBlockNum: Int64, time: ChainTime) {
        self.headBlockNumber = headBlockNumber; self.lastIrreversibleBlockNum = lastIrreversibleBlockNum; self.time = time
    }
}

public struct Transfer: Codable, Sendable, Equatable {
    public var from: String
    public var to: String
    public var amount: Asset
    public var memo: String
    public init(from: String, to: String, amount: Asset, memo: String) {
        self.from = from; self.to = to; self.amount = amount; self.memo = memo
    }
}

public enum ChainOperation: Codable, Sendable, Equatable {
    case transfer(Transfer)
    /// Any other operation, by its short name (`transfer_to_savings`, `vote`, …).
    case other(String)
    /// A transfer whose fields did not decode: logged and rejected, never fatal to the block.
    case malformedTransfer

    private enum AppbaseKeys: String, CodingKey { case type, value }

    public var name: String {
        switch self {
        case .transfer: return "transfer"
        case .other(let n): return n
        case .malformedTransfer: return "transfer"
        }
    }

    public init(from decoder: any Decoder) throws {
        if var pair = try? decoder.unkeyedContainer() {
            let name = try pair.decode(String.self)
            self = name == "transfer" ? ((try? pair.decode(Transfer.self)).map(ChainOperation.transfer) ?? .malformedTransfer) : .other(name)
            return
        }
        let c = try decoder.container(keyedBy: AppbaseKeys.self)
        var name = try c.decode(String.self, forKey: .type)
        if name.hasSuffix("_operation") { name = String(name.dropLast(10)) }
        self = name == "transfer" ? ((try? c.decode(Transfer.self, forKey: .value)).map(ChainOperation.transfer) ?? .malformedTransfer) : .other(name)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.unkeyedContainer()
        switch self {
        case .transfer(let t): try c.encode("transfer"); try c.encode(t)
        case .other(let n): try c.encode(n); try c.encode([String: String]())
        case .malformedTransfer: try c.encode("transfer"); try c.encode([String: String]())
        }
    }
}

public struct ChainTransaction: Codable, Sendable, Equatable {
    public var operations: [ChainOperation]
    public var transactionID: String?
    enum CodingKeys: String, CodingKey { case operations, transactionID = "transaction_id" }
    public init(operations: [ChainOperation], transactionID: String? = nil) { self.operations = operations; self.transactionID = transactionID }
}

public struct Block: Codable, Sendable, Equatable {
    public var previous: String
    public var timestamp: ChainTime
    public var witness: String?
    public var blockID: String?
    public var transactions: [ChainTransaction]
    public var transactionIDs: [String]?
    enum CodingKeys: String, CodingKey {
        case previous, timestamp, witness, transactions, blockID = "block_id", transactionIDs = "transaction_ids"
    }
    public init(previous: String, timestamp: ChainTime, witness: String?, blockID: String?,
                transactions: [ChainTransaction], transactionIDs: [String]?) {
        self.previous = previous; self.timestamp = timestamp; self.witness = witness; self.blockID = blockID
        self.transactions = transactions; self.transactionIDs = transactionIDs
    }

    /// The block number is encoded in the first 4 bytes of a block id (and of `previous` + 1).
    public var number: Int64? {
        if let id = blockID, let n = Self.numberPrefix(id) { return n }
        return Self.numberPrefix(previous).map { $0 + 1 }
    }
    static func numberPrefix(_ id: String) -> Int64? {
        guard id.utf8.count >= 8 else { return nil }
        return Int64(id.prefix(8), radix: 16)
    }

    /// The id of the i-th transaction, from the block's list or the transaction itself; "unknown"
    /// unless it is a real transaction id (it reaches Redis, pages and logs).
    public func transactionID(at index: Int) -> String {
        if let ids = transactionIDs, index < ids.count { return TransactionID.sanitized(ids[index]) }
        return transactions[index].transactionID.map(TransactionID.sanitized) ?? TransactionID.unknown
    }
}

/// `block_api.get_block` → `{"block": {...}}` (absent past head); get_block_range → `{"blocks": [...]}`.
public struct BlockAPIGetBlockResult: Codable, Sendable { public var block: Block? }
public struct BlockAPIGetBlockRangeResult: Codable, Sendable { public var blocks: [Block] }

public struct FollowEntry: Codable, Sendable, Equatable {
    public var follower: String
    public var following: String
    public var what: [String]
    public init(follower: String, following: String, what: [String]) { self.follower = follower; self.following = following; self.what = what }
}

public struct ChainAccount: Codable, Sendable, Equatable {
    public var name: String
    public var lastPost: ChainTime
    public var lastRootPost: ChainTime?
    public var created: ChainTime?
    enum CodingKeys: String, CodingKey { case name, lastPost = "last_post", lastRootPost = "last_root_post", created }
    public init(name: String, lastPost: ChainTime, lastRootPost: ChainTime? = nil, created: ChainTime? = nil) {
        self.name = name; self.lastPost = lastPost; self.lastRootPost = lastRootPost; self.created = created
    }
}

/// get_config: the keys that tell which chain a node serves.
public struct ChainConfigProbe: Decodable, Sendable {
    public var chainID: String?
    public var isHive: Bool
    private struct AnyKey: CodingKey {
        var stringValue: String; var intValue: Int? { nil }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: AnyKey.self)
        isHive = c.allKeys.contains { $0.stringValue.hasPrefix("HIVE_") }
        let idKey = c.allKeys.first { $0.stringValue == "HIVE_CHAIN_ID" || $0.stringValue == "STEEM_CHAIN_ID" || $0.stringValue == "STEEMIT_CHAIN_ID" }
        chainID = idKey.flatMap { try? c.decode(String.self, forKey: $0) }
    }
}
