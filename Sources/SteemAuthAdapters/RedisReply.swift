// Redis's replies as the rest of the code sees them. No C here: the hiredis calls that make them
// live in RedisConnection.swift and RedisReplyView.swift.
/// A reply converted from hiredis's objects.
public enum RedisReply: Equatable, Sendable {
    case status(String), error(String), integer(Int64), bulk([UInt8]), array([RedisReply]), null

    public var string: String? {
        switch self {
        case .bulk(let b): return String(decoding: b, as: UTF8.self)
        case .status(let s): return s
        case .integer(let i): return String(i)
        default: return nil
        }
    }
    public var integer: Int64? {
        switch self {
        case .integer(let i): return i
        case .bulk: return string.flatMap { Int64($0) }
        default: return nil
        }
    }
    public var array: [RedisReply]? { if case .array(let a) = self { return a }; return nil }

    /// The reply itself, or the error Redis answered, thrown.
    public func checked() throws(RedisError) -> RedisReply {
        if case .error(let e) = self { throw RedisError(kind: .server, message: e) }
        return self
    }
}
