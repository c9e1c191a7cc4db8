/// How long the watcher waits after a failed tick: 0.5 s doubling to 10 s.
struct Backoff {
    private(set) var current = 0.5
    mutating func next() -> Double { defer { current = min(current * 2, 10) }; return current }
    mutating func reset() { current = 0.5 }
}
