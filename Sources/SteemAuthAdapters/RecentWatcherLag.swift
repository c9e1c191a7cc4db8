/// The watcher's lag for a round trip of plain reads: known from the last second, or read first in it.
struct LagRead {
    let recent: RecentWatcherLag
    let at = monotonicMicroseconds()
    let known: RecentWatcherLag.Known?
    init(_ recent: RecentWatcherLag) { self.recent = recent; known = recent.known(at: at) }

    /// `reads`, led by the read of the lag unless it is known.
    func commands(_ reads: [[String]], watcherKey: String) -> [[String]] { known == nil ? [["HGET", watcherKey, "behind"]] + reads : reads }

    /// The lag: as known, or from the first reply (then kept for the next second).
    func behind(_ replies: [RedisReplyView]) -> Double? {
        if let known { return known.behind }
        let behind = replies[0].double
        recent.keep(behind, at: at)
        return behind
    }
}

/// The watcher's lag and when (monotonic microseconds) it was read: a worker's own, reused for a second.
final class RecentWatcherLag {
    struct Known { let behind: Double? }     // behind is nil when the watcher has not reported
    private var readAt: Int64? = nil
    private var known = Known(behind: nil)

    /// The lag read within the second before `now`, or nil when it must be read again.
    func known(at now: Int64) -> Known? {
        guard let readAt, now >= readAt, now - readAt < 1_000_000 else { return nil }
        return known
    }

    func keep(_ behind: Double?, at now: Int64) { known = Known(behind: behind); readAt = now }
}
