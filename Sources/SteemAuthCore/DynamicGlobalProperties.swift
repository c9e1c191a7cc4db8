/// The head and irreversible blocks as `get_dynamic_global_properties` gives them. Like every chain
/// reply model here, it reads only the fields steemauth uses (unknown ones are ignored), in both the
/// condenser (`["transfer", {...}]`, `"0.001 STEEM"`) and appbase (`{"type":"transfer_operation"}`, NAI) forms.
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
