public struct Transfer: Codable, Sendable, Equatable {
    public var from: String
    public var to: String
    public var amount: Asset
    public var memo: String
    public init(from: String, to: String, amount: Asset, memo: String) {
        self.from = from; self.to = to; self.amount = amount; self.memo = memo
    }
}
