/// The bytes of a cached page as the store holds them, written to the client without a copy (for
/// Redis, hiredis's own reply buffer). A class: a view carries one reference, not a copy of the page.
public protocol StoredPageBytes: AnyObject, Sendable {
    var count: Int { get }
    func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R
}

extension RedisBulkReply: StoredPageBytes {}
