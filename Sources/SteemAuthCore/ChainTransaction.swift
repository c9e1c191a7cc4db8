public struct ChainTransaction: Codable, Sendable, Equatable {
    public var operations: [ChainOperation]
    public var transactionID: String?
    enum CodingKeys: String, CodingKey { case operations, transactionID = "transaction_id" }
    public init(operations: [ChainOperation], transactionID: String? = nil) { self.operations = operations; self.transactionID = transactionID }
}
