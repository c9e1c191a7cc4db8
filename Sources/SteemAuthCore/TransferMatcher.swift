/// Decides, from the operation alone, whether a transfer is a login claim worth checking in Redis.
public struct TransferMatcher: Sendable {
    public enum Rejection: String, Sendable, Equatable {
        case wrongRecipient = "wrong_recipient"
        case assetNotAccepted = "asset_not_accepted"
        case amountTooSmall = "amount_too_small"
        case encryptedMemo = "encrypted_memo"
        case notALoginCode = "not_a_login_code"
        case malformed = "malformed_transfer"
    }
    public enum Decision: Sendable, Equatable {
        case claim(LoginCode)
        case rejected(Rejection)
        case notForUs                      // not a transfer to the service account: silently skipped
    }

    public let serviceAccount: String
    /// The chain's own names of the assets taken (never another chain's: a HIVE transfer reported
    /// to a Steem service is refused).
    public let acceptedSymbols: Set<String>
    /// The chain's assets, which name the NAI form's kinds.
    public let chainAssets: ChainAssets
    public let minimumMilliUnits: Int64
    public let memoPrefix: String

    /// `chainAssets`: by default the family of the first accepted symbol.
    public init(serviceAccount: String, acceptedSymbols: [String], chainAssets: ChainAssets? = nil, minimumMilliUnits: Int64, memoPrefix: String) {
        let assets = chainAssets ?? acceptedSymbols.lazy.compactMap(ChainAssets.having).first ?? .steem
        self.serviceAccount = serviceAccount
        self.chainAssets = assets
        self.acceptedSymbols = Set(acceptedSymbols.filter(assets.symbols.contains))
        self.minimumMilliUnits = minimumMilliUnits
        self.memoPrefix = memoPrefix
    }

    public init(config: AppConfig) {
        self.init(serviceAccount: config.account, acceptedSymbols: config.assets, chainAssets: config.chainAssets,
                  minimumMilliUnits: config.minAmount.milliUnits, memoPrefix: config.memoPrefix)
    }

    public func decide(_ op: ChainOperation) -> Decision {
        switch op {
        case .other: return .notForUs
        case .malformedTransfer: return .rejected(.malformed)
        case .transfer(let t): return decide(t)
        }
    }

    public func decide(_ t: Transfer) -> Decision {
        // The chain only carries valid names: any other proves a lying or broken node.
        guard AccountName.isValid(t.from), AccountName.isValid(t.to) else { return .rejected(.malformed) }
        guard t.to == serviceAccount else { return .notForUs }
        guard let symbol = chainAssets.symbol(of: t.amount), acceptedSymbols.contains(symbol) else { return .rejected(.assetNotAccepted) }
        guard t.amount.milliUnits >= minimumMilliUnits else { return .rejected(.amountTooSmall) }
        if LoginCode.isEncrypted(memo: t.memo) { return .rejected(.encryptedMemo) }
        guard let code = LoginCode.fromMemo(t.memo, prefix: memoPrefix) else { return .rejected(.notALoginCode) }
        return .claim(code)
    }
}
