/// What proved a binding (the audit trail shown on the report page): a transfer's transaction, or a
/// wallet signature by a key of the account.
public struct BindingProof: Equatable, Sendable {
    public enum Method: String, Sendable { case transfer, signature }
    public var block: Int64
    public var transactionID: String
    public var time: String
    public var method: Method = .transfer
    public var publicKey: String = ""

    public init(block: Int64, transactionID: String, time: String, method: Method = .transfer, publicKey: String = "") {
        self.block = block
        self.transactionID = transactionID
        self.time = time
        self.method = method
        self.publicKey = publicKey
    }
}
