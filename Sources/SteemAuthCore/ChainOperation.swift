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
