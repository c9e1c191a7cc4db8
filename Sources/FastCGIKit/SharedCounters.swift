import CFastCGI

/// Counters shared by the master and every worker it forks (a MAP_SHARED anonymous mapping made
/// before the first fork): pool-wide, and they survive worker recycling. The mapping holds one
/// bank of the slots per worker number, each on its own cache lines: a worker adds to its own
/// bank only, so two workers never write the same line; a read sums the banks. The master (and
/// a worker numbered past the banks) adds to bank 0; adds are atomic, so a shared bank is correct.
public final class SharedCounters: @unchecked Sendable {
    public static let banks = 64
    public let slots: Int
    private let stride: Int             // slots rounded up to whole 64-byte lines
    private let base: UnsafeMutablePointer<UInt64>
    private var bank = 0                // set once, in a worker, before it serves

    public init?(slots: Int) {
        stride = (slots + 7) / 8 * 8
        guard slots > 0, let p = steemauth_counters_map(stride * Self.banks) else { return nil }
        self.slots = slots
        base = p
    }

    /// From now on this process adds to the bank of worker `number` (bank 0 when out of range).
    public func useBank(_ number: Int) { bank = (0..<Self.banks).contains(number) ? number : 0 }

    public func add(_ slot: Int, _ value: UInt64 = 1) {
        guard slot >= 0 && slot < slots else { return }
        steemauth_counter_add(base, bank * stride + slot, value)
    }

    /// The slot's total over every bank.
    public func load(_ slot: Int) -> UInt64 {
        guard slot >= 0 && slot < slots else { return 0 }
        var total: UInt64 = 0
        for bank in 0..<Self.banks { total &+= steemauth_counter_load(base, bank * stride + slot) }
        return total
    }
}
