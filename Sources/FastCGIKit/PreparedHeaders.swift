/// A fixed list of headers in wire form, made once (with the same CR/LF/NUL stripping as any
/// header): a hot route copies its bytes instead of checking and writing each header per request.
public struct PreparedHeaders: Sendable {
    let bytes: [UInt8]
    /// No headers.
    public static let none = PreparedHeaders(bytes: [])
    private init(bytes: [UInt8]) { self.bytes = bytes }

    public init(_ list: [(String, String)]) {
        bytes = [UInt8](unsafeUninitializedCapacity: HeadWriter.capacity(list)) { buffer, count in
            var out = HeadWriter(buffer)
            out.putHeaderLines(list)
            count = out.at
        }
    }
}
