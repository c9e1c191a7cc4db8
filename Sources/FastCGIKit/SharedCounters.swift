import CFastCGI

/// Counters shared by the master and every worker it forks (a MAP_SHARED anonymous mapping made
/// before the first fork): pool-wide, and they survive worker recycling.
public final class SharedCounters: @unchecked Sendable {
    public let slots: Int
    private let base: UnsafeMutablePointer<UInt64>

    public init?(slots: Int) {
        guard slots > 0, let p = steemauth_counters_map(slots) else { return nil }
        self.slots = slots
        base = p
    }

    public func add(_ slot: Int, _ value: UInt64 = 1) {
        guard slot >= 0 && slot < slots else { return }
        steemauth_counter_add(base, slot, value)
    }

    public func load(_ slot: Int) -> UInt64 {
        guard slot >= 0 && slot < slots else { return 0 }
        return steemauth_counter_load(base, slot)
    }
}
