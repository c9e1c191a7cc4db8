import SteemAuthCore

/// Session state in Redis. Every call is one round trip. A class: the closures of each call capture
/// one reference, not a copy of every field (each a retain and a release per request).
public final class RedisSessionStore: SessionStore {
    private let redis: RedisConnection
    public let prefix: String
    public let watcherKey: String
    /// The view script with this store's prefix, watcher key and lifetimes in its source.
    private let viewScript: LuaScript
    /// The watcher's lag as this worker's plain reads last read it, reused for up to a second: pages
    /// show it in whole seconds, and a logged-in page then makes two Redis reads, not three.
    let recentLag = RecentWatcherLag()
    /// An unbound session's lifetime, renewed by each view of the ask page (by the script, or skipped
    /// by the plain reads while less than `renewalSlack` of it has passed).
    let unboundTTL: Int
    var renewalSlack: Int { min(60, unboundTTL / 10) }

    public init(redis: RedisConnection, prefix: String, chain: AppConfig.Chain, lifetimes: SessionLifetimes) {
        self.redis = redis
        self.prefix = prefix
        self.watcherKey = WatcherStore.stateKey(prefix: prefix, chain: chain)
        viewScript = SessionScripts.view(prefix: prefix, lifetimes: lifetimes)
        unboundTTL = lifetimes.unbound
    }

    /// The view script's modes.
    enum Mode: String, Sendable { case page, pageGzip = "pagegz", status, verify, report }

    /// Reads (and, where the rules say so, re-issues or rotates) a session. `unboundCode`: the code
    /// this worker last saw the session unbound with; a status poll then reads with plain commands
    /// (see `readUnboundSession`).
    public func lookUp(id: SessionID, for purpose: SessionLookup, replacementID: SessionID?, freshMemo: String?, now: Int64,
                       unboundCode: String?) throws(RedisError) -> SessionView {
        let mode: Mode
        switch purpose {
        case .status: mode = .status
        case .verify:
            return try redis.eval(SessionScripts.verify, keys: [prefix + "s:" + id.hex, prefix + "d:" + id.hex], args: [], reading: parseVerify)
        case .report: mode = .report
        }
        if mode == .status, freshMemo == nil, let unboundCode, let view = try readUnboundSession(id: id, code: unboundCode, page: false) {
            return view
        }
        return try redis.eval(viewScript, keys: viewKeys(id: id, replacementID: replacementID, freshMemo: freshMemo),
                              args: viewArgs(id: id, mode: mode, replacementID: replacementID, freshMemo: freshMemo, now: now), reading: parseView)
    }

    /// Page mode: the session, and the bound account's cached page by a plain GET. With `bound`
    /// (what this worker last saw the session bound to) the GET rides in the same round trip as the
    /// session's read and is used only if the read confirms that binding; otherwise it is a second
    /// round trip. For gzip the stored deflate segment is fetched, else (an older cache) the HTML.
    /// As with `view`, nil `replacementID`/`freshMemo` may come back with `needsFreshValues` (a new
    /// session, an expired code, a rotation), having changed nothing. With `unboundCode` (the code
    /// this worker last saw the session unbound with) the ask page reads with plain commands.
    public func viewPage(id: SessionID, gzip: Bool, bound hint: BoundSessionHint?, unboundCode: String?, replacementID: SessionID?,
                         freshMemo: String?, now: Int64) throws(RedisError) -> SessionView {
        if hint == nil, freshMemo == nil, let unboundCode, let view = try readUnboundSession(id: id, code: unboundCode, page: true) {
            return view
        }
        let accountHint = hint?.account
        // Made only when the script runs (a bound session this worker knows reads without it).
        var args: [String] { viewArgs(id: id, mode: gzip ? .pageGzip : .page, replacementID: replacementID, freshMemo: freshMemo, now: now) }
        var keys: [String] { viewKeys(id: id, replacementID: replacementID, freshMemo: freshMemo) }
        var view: SessionView
        var prefetched: RedisBulkReply? = nil
        if let hint, let read = try readBoundSession(id: id, hint: hint, gzip: gzip) {
            // A session this worker saw bound, and still bound under an id already rotated: for it the
            // view script would only read, so plain reads did (no Lua), with the page in the same round trip.
            (view, prefetched) = read
        } else if let accountHint {
            (view, prefetched) = try redis.evalPipelined(viewScript, keys: keys, args: args, then: ["GET", pageKey(accountHint, gzip: gzip)],
                                                         reading: parseView)
        } else {
            view = try redis.eval(viewScript, keys: keys, args: args, reading: parseView)
        }
        if view.needsFreshValues { return view }
        let account: String
        switch view.state {
        case .bound(let a, _), .rotated(let a, _): account = a
        default: return view
        }
        var page = account == accountHint ? prefetched : nil
        if page == nil { page = try redis.getKeepingBulk(pageKey(account, gzip: gzip)) }
        if gzip, let page, page.count > 0 {
            view.cachedReport = page.bytes
            view.cachedReportIsDeflate = true
            return view
        }
        if gzip { page = try redis.getKeepingBulk(pageKey(account, gzip: false)) }
        if let page, page.count > 0 { view.cachedPage = page }
        return view
    }

    /// A bound session's proof from its fields: a signature's public key, or a transfer's block and tx.
    private static func proof(block: Int64?, transactionID: String?, time: String?, method: String?, publicKey: String?) -> BindingProof? {
        if method == "signature", let publicKey, !publicKey.isEmpty {
            return BindingProof(block: 0, transactionID: "", time: time ?? "", method: .signature, publicKey: publicKey)
        }
        if let block, let transactionID, !transactionID.isEmpty { return BindingProof(block: block, transactionID: transactionID, time: time ?? "") }
        return nil
    }

    func pageKey(_ account: String, gzip: Bool) -> String { prefix + (gzip ? "rz:" : "rh:") + account }

    /// The view script's KEYS: the session, its deny-list entry, the watcher's state, and with fresh
    /// values the new id's session and the new code's `c:` and `cg:`.
    private func viewKeys(id: SessionID, replacementID: SessionID?, freshMemo: String?) -> [String] {
        let keys = [prefix + "s:" + id.hex, prefix + "d:" + id.hex, watcherKey]
        guard replacementID != nil || freshMemo != nil else { return keys }
        return keys + [prefix + "s:" + (replacementID?.hex ?? ""), prefix + "c:" + (freshMemo ?? ""), prefix + "cg:" + (freshMemo ?? "")]
    }

    private func viewArgs(id: SessionID, mode: Mode, replacementID: SessionID?, freshMemo: String?, now: Int64) -> [String] {
        [id.hex, replacementID?.hex ?? "", freshMemo ?? "", JSONText.decimal(now), mode.rawValue]
    }

    /// The view script's reply, read where hiredis made it.
    private func parseView(_ reply: RedisReplyView) throws(RedisError) -> SessionView {
        if reply.count == 1, reply[0]?.isString("again") == true {
            var view = SessionView(state: .none, behindSeconds: nil)
            view.needsFreshValues = true
            return view
        }
        guard let count = reply.count, count >= 4, let outcome = reply[0] else {
            throw RedisError(kind: .server, message: "unexpected view reply \(reply.converted)")
        }
        let behind = reply[3]?.double
        let text = reply[1]?.string ?? ""
        // The outcome is compared as bytes: no String for a word every session request reads.
        if outcome.isString("unbound") {
            var view = SessionView(state: .unbound(memo: text, expiresIn: Int(reply[2]?.integer ?? 0)), behindSeconds: behind)
            if count >= 5 { view.codeExpiresAt = reply[4]?.integer }
            view.createdSession = count >= 6 && reply[5]?.isString("new") == true
            if count >= 7, let pending = reply[6]?.bytes, !pending.isEmpty { view.oidcPending = pending }
            return view
        }
        if outcome.isString("denied") { return SessionView(state: .denied, behindSeconds: behind) }
        if outcome.isString("none") { return SessionView(state: .none, behindSeconds: behind) }
        let bound = outcome.isString("bound")
        guard bound || outcome.isString("rotated") else {
            throw RedisError(kind: .server, message: "unexpected view outcome \(outcome.string ?? "(not a string)")")
        }
        let account = text
        let proof = count >= 7 ? Self.proof(block: reply[4]?.integer, transactionID: reply[5]?.string, time: reply[6]?.string,
                                            method: count >= 10 ? reply[8]?.string : nil, publicKey: count >= 10 ? reply[9]?.string : nil) : nil
        let cached = count >= 8 ? reply[7]?.bytes.flatMap { $0.isEmpty ? nil : $0 } : nil
        var view = SessionView(state: bound ? .bound(account: account, proof: proof) : .rotated(account: account, proof: proof),
                               behindSeconds: behind, cachedReport: cached)
        if count >= 11, let pending = reply[10]?.bytes, !pending.isEmpty { view.oidcPending = pending }
        return view
    }

    /// The verify script's reply: a bound session carries its account (and no proof: verify shows none).
    private func parseVerify(_ reply: RedisReplyView) throws(RedisError) -> SessionView {
        guard let outcome = reply[0] else { throw RedisError(kind: .server, message: "unexpected verify reply \(reply.converted)") }
        if outcome.isString("bound"), reply.count == 2, let account = reply[1]?.string {
            return SessionView(state: .bound(account: account, proof: nil), behindSeconds: nil)
        }
        if outcome.isString("unbound") { return SessionView(state: .unbound(memo: "", expiresIn: -1), behindSeconds: nil) }
        if outcome.isString("denied") { return SessionView(state: .denied, behindSeconds: nil) }
        if outcome.isString("none") { return SessionView(state: .none, behindSeconds: nil) }
        throw RedisError(kind: .server, message: "unexpected verify outcome \(outcome.string ?? "(not a string)")")
    }

    /// Deletes a session and deny-lists its id, if there was one.
    @discardableResult
    public func logout(id: SessionID, denyTTL: Int) throws(RedisError) -> LogoutOutcome {
        let reply = try redis.evalTagged(SessionScripts.logout, keys: [prefix + "s:" + id.hex, prefix + "d:" + id.hex],
                                         args: [prefix, id.hex, String(denyTTL)])
        switch reply.tag {
        case "none": return .noSession
        case "ended" where reply.fields.count == 1: return .ended(account: reply.string(0).flatMap { $0.isEmpty ? nil : $0 })
        default: throw reply.unexpected
        }
    }

    public func signInState(id: SessionID) throws(RedisError) -> SignInState {
        let reply = try redis.evalTagged(SessionScripts.signInState, keys: [prefix + "d:" + id.hex, prefix + "s:" + id.hex],
                                         args: [prefix, id.hex])
        switch reply.tag {
        case "none": return .noSession
        case "bound": return .alreadyBound
        case "expired": return .codeExpired
        case "unbound" where reply.fields.count == 4:
            return .unbound(code: reply.string(0) ?? "", codeExpiresAt: reply.integer(1) ?? 0, attempts: Int(reply.integer(2) ?? 0),
                            requiredLevel: reply.string(3) == ProofLevel.active.rawValue ? .active : .posting)
        default: throw reply.unexpected
        }
    }

    /// Counts an attempt that is about to reach the node; returns how many there have been, or nil
    /// when the session is gone or no longer unbound (nothing is written then).
    public func countSignInAttempt(id: SessionID) throws(RedisError) -> Int? {
        let reply = try redis.evalTagged(SessionScripts.countSignInAttempt, keys: [prefix + "s:" + id.hex], args: [prefix, id.hex])
        switch reply.tag {
        case "none": return nil
        case "counted": if let n = reply.integer(0) { return Int(n) }
        default: break
        }
        throw reply.unexpected
    }

    /// Binds the session that owns `code` by a signature, through the same atomic rule as a transfer:
    /// first proof wins, a bound session is never overwritten, the code is consumed.
    public func bindBySignature(code: String, account: String, publicKey: String, level: ProofLevel, time: String,
                                boundTTL: Int, now: Int64) throws(RedisError) -> ClaimOutcome {
        try SessionScripts.claimProof(on: redis, prefix: prefix, memo: code, account: account, block: 0, transactionID: "", blockTime: time,
                                 boundTTL: boundTTL, now: now, method: .signature, publicKey: publicKey, level: level, blockUnixTime: String(now))
    }

    public func awaitReplicas(minimum: Int, timeoutMs: Int) throws(RedisError) -> (wanted: Int, acknowledged: Int) {
        try redis.waitForReplicas(minimum: minimum, timeoutMs: timeoutMs)
    }
}

/// The plain reads (no script) of a session this worker has served: bound, with the cached page in
/// the same round trip; unbound, for its status poll and ask page. They only read, and whatever
/// they find changed goes back to the view script (see `viewPage` and `view`).
extension RedisSessionStore {
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
