// Redis's values as the rest of the code sees them: a reply, an error, a script. No C here: the
// hiredis calls that make them live in RedisConnection.swift and RedisReplies.swift.
import SteemAuthCore

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

public struct RedisError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable { case unavailable, connectionLost, server, leaseLost }
    public let kind: Kind
    public let message: String
    public var description: String { "redis \(kind): \(message)" }
    public init(kind: Kind, message: String) { self.kind = kind; self.message = message }
}

/// A server-side script, run atomically by Redis.
public struct LuaScript: Sendable {
    public let name: String
    public let source: String
    /// The SHA-1 of the source, in hex: the name EVALSHA calls it by, known before any server has it
    /// (so a request makes no lookup of what a connection loaded).
    public let sha: String
    public init(name: String, source: String) {
        self.name = name; self.source = source
        sha = Hex.encode(OpenSSLDigest.sha1(Array(source.utf8)))
    }

    /// `text` as a Lua string literal, every byte written as a decimal escape: whatever the text
    /// holds (a configured prefix), it stays one string in a script's source.
    public static func literal(_ text: String) -> String {
        "\"" + text.utf8.map { "\\" + String($0) }.joined() + "\""
    }
}
