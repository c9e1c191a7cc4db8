/// Bytes a response carries without copying them first: a byte array, or a buffer another library
/// owns (a Redis reply holding a cached page).
public protocol ResponseBytes: Sendable {
    var count: Int { get }
    func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R
}

extension Array: ResponseBytes where Element == UInt8 {}
