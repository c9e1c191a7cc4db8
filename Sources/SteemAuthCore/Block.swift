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
