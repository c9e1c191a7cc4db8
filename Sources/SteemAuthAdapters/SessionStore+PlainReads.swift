import SteemAuthCore

/// The plain reads (no script) of a session this worker has served: bound, with the cached page in
/// the same round trip; unbound, for its status poll and ask page. They only read, and whatever
/// they find changed goes back to the view script (see `viewPage` and `view`).
extension SessionStore {
    /// What a logged-in page reads of a session this worker saw bound: its state, account, whether
    /// its id was rotated, and a waiting authorization (the proof does not change once bound).
    static let boundSessionFields = ["st", "acct", "rot", "oidc"]

    /// The session's state and the hinted account's cached page (and the watcher's lag, unless read
    /// in the last second) in one round trip of plain reads. nil unless the session is still bound to
    /// the hinted account and its id was rotated already (anything else, even a session gone, goes
    /// to the view script, which decides).
    func readBoundSession(id: SessionID, hint: BoundSessionHint, gzip: Bool) throws(RedisError) -> (SessionView, RedisBulkReply?)? {
        let lag = LagRead(recentLag)
        let reads = lag.commands([["HMGET", prefix + "s:" + id.hex] + Self.boundSessionFields, ["GET", pageKey(hint.account, gzip: gzip)]],
                                 watcherKey: watcherKey)
        let (view, page) = try redis.pipelineKeepingLastBulk(reads) { replies throws(RedisError) -> SessionView? in
            let behind = lag.behind(replies)
            let fields = replies[replies.count - 1]
            guard fields.count == Self.boundSessionFields.count, fields[0]?.isString("b") == true, fields[1]?.string == hint.account,
                  fields[2]?.isString("1") == true else { return nil }
            var view = SessionView(state: .bound(account: hint.account, proof: hint.proof), behindSeconds: behind)
            if let pending = fields[3]?.bytes, !pending.isEmpty { view.oidcPending = pending }
            return view
        }
        guard let view else { return nil }
        return (view, page)
    }

    /// What the ask page and a status poll read of a session this worker saw unbound with `code`.
    static let unboundStatusFields = ["st", "code", "cexp"], unboundPageFields = ["st", "code", "cexp", "oidc"]

    /// A session this worker saw unbound with `code`, read with plain commands in one round trip (the
    /// session's fields, the code's TTL, for a page the session's TTL, and the watcher's lag unless
    /// read in the last second): a script costs Redis about twice as much. Only reads: nil, for the
    /// script to decide (and write), unless the session is still unbound with that code, the code
    /// lives, and — for a page, which renews the session's lifetime — less than `renewalSlack` of
    /// that lifetime has passed since it was last renewed. Bound, gone, denied, a new code: all nil.
    func readUnboundSession(id: SessionID, code: String, page: Bool) throws(RedisError) -> SessionView? {
        let lag = LagRead(recentLag)
        let session = prefix + "s:" + id.hex, wanted = page ? Self.unboundPageFields : Self.unboundStatusFields
        let reads = page ? [["HMGET", session] + wanted, ["TTL", prefix + "c:" + code], ["TTL", session]]
                         : [["HMGET", session] + wanted, ["TTL", prefix + "c:" + code]]
        let renewedAtLeast = unboundTTL - renewalSlack
        return try redis.pipeline(lag.commands(reads, watcherKey: watcherKey)) { replies throws(RedisError) -> SessionView? in
            let behind = lag.behind(replies)
            let fields = replies[replies.count - reads.count], codeTTL = replies[replies.count - reads.count + 1]
            guard fields.count == wanted.count, fields[0]?.isString("u") == true,
                  fields[1]?.string == code, let codeExpiresAt = fields[2]?.integer,
                  let expiresIn = codeTTL.integer, expiresIn > 0 else { return nil }
            if page { guard let left = replies[replies.count - 1].integer, left >= renewedAtLeast else { return nil } }
            var view = SessionView(state: .unbound(memo: code, expiresIn: Int(expiresIn)), behindSeconds: behind)
            view.codeExpiresAt = codeExpiresAt
            if page, let pending = fields[3]?.bytes, !pending.isEmpty { view.oidcPending = pending }
            return view
        }
    }
}

/// The watcher's lag for a round trip of plain reads: known from the last second, or read first in it.
private struct LagRead {
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
