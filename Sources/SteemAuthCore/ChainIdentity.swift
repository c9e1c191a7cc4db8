/// Which chain a node serves, told by the chain id it reports, and the assets that chain has.
/// Steem takes STEEM/SBD, Hive HIVE/HBD, a testnet (any other chain id) TESTS/TBD; in NAI form the
/// same two assets are `@@000000021` and `@@000000013` on every chain, so the chain decides the name.
public struct ChainAssets: Sendable, Equatable {
    public let core: String
    public let debt: String
    public var symbols: [String] { [core, debt] }

    public static let steem = ChainAssets(core: "STEEM", debt: "SBD")
    public static let hive = ChainAssets(core: "HIVE", debt: "HBD")
    public static let testnet = ChainAssets(core: "TESTS", debt: "TBD")

    /// The family that has `symbol` (nil for VESTS and anything unknown).
    public static func having(_ symbol: String) -> ChainAssets? {
        [steem, hive, testnet].first { $0.symbols.contains(symbol) }
    }

    /// The chain's name for an asset: legacy strings carry it; NAI objects carry only the kind.
    public func symbol(of asset: Asset) -> String? {
        guard asset.symbol.hasPrefix("@@") else { return asset.symbol }
        switch asset.kind {
        case .core: return core
        case .debt: return debt
        default: return nil
        }
    }
}

public enum ChainIdentity {
    public static let steemMainnet = String(repeating: "0", count: 64)
    public static let hiveMainnet = "beeab0de" + String(repeating: "0", count: 56)

    /// The chain id every node must report: the configured one, else the chain's main network.
    public static func expectedID(chain: AppConfig.Chain, configured: String?) -> String {
        configured ?? (chain == .steem ? steemMainnet : hiveMainnet)
    }

    /// The assets of the chain with this id: a main network's own, a testnet's TESTS/TBD.
    public static func assets(chainID: String) -> ChainAssets {
        switch chainID.lowercased() {
        case steemMainnet: return .steem
        case hiveMainnet: return .hive
        default: return .testnet
        }
    }

    /// A chain id as nodes write it: 64 hex characters.
    public static func isValid(_ id: String) -> Bool {
        id.utf8.count == 64 && id.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) || (0x41...0x46).contains($0) }
    }
}
