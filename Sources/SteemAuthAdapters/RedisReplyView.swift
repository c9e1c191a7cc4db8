import CHiredis
#if canImport(Glibc)
import Glibc
#endif

// hiredis's reply objects as the rest of the code reads them: converted into a `RedisReply`, kept
// as they are (a cached page), or read in place. The connection and its commands are in
// RedisConnection.swift.

extension RedisConnection {
    static func convert(_ r: UnsafeMutablePointer<redisReply>) -> RedisReply {
        let reply = r.pointee
        func bytes() -> [UInt8] {
            guard let str = reply.str, reply.len > 0 else { return [] }
            return str.withMemoryRebound(to: UInt8.self, capacity: Int(reply.len)) { Array(UnsafeBufferPointer(start: $0, count: Int(reply.len))) }
        }
        switch reply.type {
        case REDIS_REPLY_STRING: return .bulk(bytes())
        case REDIS_REPLY_STATUS: return .status(String(decoding: bytes(), as: UTF8.self))
        case REDIS_REPLY_ERROR: return .error(String(decoding: bytes(), as: UTF8.self))
        case REDIS_REPLY_INTEGER: return .integer(reply.integer)
        case REDIS_REPLY_ARRAY:
            var items: [RedisReply] = []
            for i in 0..<Int(reply.elements) {
                if let e = reply.element[i] { items.append(convert(e)) } else { items.append(.null) }
            }
            return .array(items)
        default: return .null
        }
    }
}

/// A string reply exactly as hiredis read it, owned until this object goes: a cached page is written
/// from here straight to the client, with no copy into Swift memory.
public final class RedisBulkReply: @unchecked Sendable {     // immutable once made
    private let reply: UnsafeMutablePointer<redisReply>
    init(owning reply: UnsafeMutablePointer<redisReply>) { self.reply = reply }
    deinit { freeReplyObject(reply) }

    public var count: Int { Int(reply.pointee.len) }

    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(start: reply.pointee.str.map { UnsafeRawPointer($0) }, count: count))
    }

    /// A copy, for the rare caller that needs an array.
    public var bytes: [UInt8] { withUnsafeBytes { Array($0) } }
}

/// A reply read where hiredis made it, without converting it into a `RedisReply` (no arrays, no
/// copies of its strings unless asked); valid only inside the closure it is handed to.
public struct RedisReplyView {
    private let reply: UnsafeMutablePointer<redisReply>
    init(_ reply: UnsafeMutablePointer<redisReply>) { self.reply = reply }

    /// The number of elements of an array reply; nil for any other.
    public var count: Int? { reply.pointee.type == REDIS_REPLY_ARRAY ? Int(reply.pointee.elements) : nil }

    /// An array reply's element; nil past its end or for any other reply.
    public subscript(index: Int) -> RedisReplyView? {
        guard let count, index >= 0, index < count, let element = reply.pointee.element[index] else { return nil }
        return RedisReplyView(element)
    }

    private var text: UnsafeBufferPointer<UInt8> {
        guard let str = reply.pointee.str, reply.pointee.len > 0 else { return UnsafeBufferPointer(start: nil, count: 0) }
        return UnsafeBufferPointer(start: UnsafeRawPointer(str).assumingMemoryBound(to: UInt8.self), count: Int(reply.pointee.len))
    }

    /// As `RedisReply.string`: a string or status reply's text, an integer's digits, else nil.
    public var string: String? {
        switch reply.pointee.type {
        case REDIS_REPLY_STRING, REDIS_REPLY_STATUS: return String(decoding: text, as: UTF8.self)
        case REDIS_REPLY_INTEGER: return String(reply.pointee.integer)
        default: return nil
        }
    }

    /// Whether this is a string or status reply of exactly `literal`'s bytes (no String made).
    public func isString(_ literal: StaticString) -> Bool {
        guard reply.pointee.type == REDIS_REPLY_STRING || reply.pointee.type == REDIS_REPLY_STATUS,
              Int(reply.pointee.len) == literal.utf8CodeUnitCount else { return false }
        return literal.utf8CodeUnitCount == 0 || memcmp(reply.pointee.str, literal.utf8Start, literal.utf8CodeUnitCount) == 0
    }

    /// A string reply that is a decimal number (digits, an optional sign, point and exponent, as
    /// `Double(String)` reads them), without making a String; nil for anything else.
    public var double: Double? {
        guard reply.pointee.type == REDIS_REPLY_STRING, let str = reply.pointee.str, reply.pointee.len > 0 else { return nil }
        for b in text where !(b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9")) && b != UInt8(ascii: ".") && b != UInt8(ascii: "-")
            && b != UInt8(ascii: "+") && b != UInt8(ascii: "e") && b != UInt8(ascii: "E") { return nil }
        // hiredis ends every string reply with a NUL, so strtod stops there at the latest.
        var end: UnsafeMutablePointer<CChar>? = nil
        let value = strtod(str, &end)
        return end == str + Int(reply.pointee.len) ? value : nil
    }

    /// As `RedisReply.integer`: an integer reply, or a string reply that is one.
    public var integer: Int64? {
        switch reply.pointee.type {
        case REDIS_REPLY_INTEGER: return reply.pointee.integer
        case REDIS_REPLY_STRING: return string.flatMap { Int64($0) }
        default: return nil
        }
    }

    /// A string reply's bytes (copied); nil for any other reply.
    public var bytes: [UInt8]? { reply.pointee.type == REDIS_REPLY_STRING ? Array(text) : nil }

    /// The reply converted, for messages and the rare caller that keeps it.
    public var converted: RedisReply { RedisConnection.convert(reply) }
}

extension RedisBulkReply: Equatable {
    public static func == (a: RedisBulkReply, b: RedisBulkReply) -> Bool {
        a.withUnsafeBytes { x in b.withUnsafeBytes { y in x.elementsEqual(y) } }
    }
}
