/// `POST /steemauth/signin` body: `{"account": "<name>", "signature": "<130 hex>"}`.
public struct SignInRequest: Sendable, Equatable {
    public let account: String
    public let signature: CompactSignature

    public enum Problem: Error, Sendable, Equatable, CustomStringConvertible {
        case notAnObject, badAccount, badSignature
        /// What the visitor sees.
        public var description: String {
            switch self {
            case .notAnObject: return "send a JSON object with \"account\" and \"signature\""
            case .badAccount: return "that is not a valid account name"
            case .badSignature: return "the signature is not a 130-character hex signature from a wallet"
            }
        }
    }

    public static func parse(_ body: JSONValue) -> Result<SignInRequest, Problem> {
        guard case .object(let fields) = body else { return .failure(.notAnObject) }
        guard let raw = fields["account"]?.stringValue else { return .failure(.badAccount) }
        // Wallets and people type "@alice" or "Alice"; the chain's names are lower case.
        var account = raw.hasPrefix("@") ? String(raw.dropFirst()) : raw
        if account.utf8.count <= 17 { account = account.lowercased() }
        guard AccountName.isValid(account) else { return .failure(.badAccount) }
        guard let hex = fields["signature"]?.stringValue, let signature = CompactSignature.parse(hex: hex) else {
            return .failure(.badSignature)
        }
        return .success(SignInRequest(account: account, signature: signature))
    }
}
