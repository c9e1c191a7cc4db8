/// Transaction ids as the chain writes them: 40 lower-case hex digits. Anything else from a node is
/// kept out of Redis, pages and logs.
public enum TransactionID {
    public static let unknown = "unknown"

    public static func isValid(_ id: String) -> Bool {
        id.utf8.count == 40 && id.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }
    }

    public static func sanitized(_ id: String) -> String { isValid(id) ? id : unknown }
}
