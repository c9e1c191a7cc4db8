import FastCGIKit
import SteemAuthAdapters

/// A cached page as Redis sent it, written to the client from hiredis's buffer (no copy).
struct CachedPagePart: ResponseBytes {
    let reply: any StoredPageBytes
    var count: Int { reply.count }
    func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R { try reply.withUnsafeBytes(body) }
}
