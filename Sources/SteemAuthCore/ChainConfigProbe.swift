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
