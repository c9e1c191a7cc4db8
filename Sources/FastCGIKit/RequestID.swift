/// The id of a request for its log lines (nginx's `$request_id`: 32 hex characters), kept inline:
/// every request has one, and it is read only when a line is written (a String of more than 15
/// bytes would be an allocation per request). An id over 64 bytes is cut to its first 64.
public struct RequestID: Sendable, CustomStringConvertible {
    public static let maxLength = 64
    private var bytes = InlineArray<64, UInt8>(repeating: 0)
    private var length = 0

    public init(_ id: UnsafeBufferPointer<UInt8>) {
        length = min(id.count, Self.maxLength)
        for i in 0..<length { bytes[i] = id[i] }
    }

    public init(_ text: String) {
        var text = text
        self = text.withUTF8 { RequestID($0) }
    }

    public var description: String {
        String(unsafeUninitializedCapacity: length) { out in
            for i in 0..<length { out[i] = bytes[i] }
            return length
        }
    }
}
