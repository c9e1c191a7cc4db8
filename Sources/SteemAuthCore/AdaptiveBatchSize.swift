/// How many JSON-RPC calls one batch to a node may carry. Gateways cap batches (jussi refuses any
/// batch over 50 by default with one error object in place of the array), so: start at `maximum`,
/// halve when the node refuses a batch, and grow back slowly — by a quarter (at least one) after
/// every `growAfter` batches it answered in a row — never above `maximum`.
public struct AdaptiveBatchSize: Sendable, Equatable {
    public let maximum: Int
    public let growAfter: Int
    public private(set) var current: Int
    private var answeredInARow = 0

    public init(maximum: Int, growAfter: Int = 20) {
        precondition(maximum >= 1 && growAfter >= 1)
        self.maximum = maximum
        self.growAfter = growAfter
        self.current = maximum
    }

    /// The node answered a batch of the current size.
    public mutating func answered() {
        guard current < maximum else { answeredInARow = 0; return }
        answeredInARow += 1
        if answeredInARow >= growAfter {
            current = min(maximum, current + max(1, current / 4))
            answeredInARow = 0
        }
    }

    /// The node refused a batch of `size` calls. Returns false when no smaller batch is left to try.
    public mutating func refused(size: Int) -> Bool {
        answeredInARow = 0
        guard size > 1 else { return false }
        current = max(1, min(current, size / 2))
        return true
    }
}
