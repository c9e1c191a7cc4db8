import SteemAuthCore

/// What a session request learned from its one Redis round trip.
public struct SessionView: Equatable, Sendable {
    public enum State: Equatable, Sendable {
        case denied                             // logged out or rotated away: the id is dead
        case none                               // no live session (status/verify never create one)
        case unbound(memo: String, expiresIn: Int)
        case bound(account: String, proof: BindingProof?)
        case rotated(account: String, proof: BindingProof?)   // bound, and the id was just replaced
    }
    public var state: State
    public var behindSeconds: Double?
    /// The bound account's cached report, fetched in the same round trip: its rendered HTML in
    /// page mode, its JSON in report mode.
    public var cachedReport: [UInt8]? = nil
    /// Page mode without gzip: the cached page's HTML as Redis sent it, to be written out as is.
    public var cachedPage: RedisBulkReply? = nil
    /// `cachedReport` is the stored deflate segment of the report's HTML (see DeflateSegment.stored).
    public var cachedReportIsDeflate = false
    /// When the unbound session's current code expires (unix seconds): part of the sign-in challenge.
    public var codeExpiresAt: Int64? = nil
    /// This request created the session and its code (the first view of the ask page).
    public var createdSession = false
    /// Nothing was read or changed: the script needs a fresh id or code (`view` was called without).
    public var needsFreshValues = false
    /// Page mode: the OpenID Connect authorization waiting for this session's proof (its JSON).
    public var oidcPending: [UInt8]? = nil
}

/// What proved a binding (the audit trail shown on the report page): a transfer's transaction, or a
/// wallet signature by a key of the account.
public struct BindingProof: Equatable, Sendable {
    public enum Method: String, Sendable { case transfer, signature }
    public var block: Int64
    public var transactionID: String
    public var time: String
    public var method: Method = .transfer
    public var publicKey: String = ""
}

/// Where a sign-in by signature starts (one read, no writes).
public enum SignInState: Equatable, Sendable {
    case noSession
    case alreadyBound
    case codeExpired
    /// `requiredLevel`: an authorization waiting for this proof asked for an active-level one.
    case unbound(code: String, codeExpiresAt: Int64, attempts: Int, requiredLevel: ProofLevel)
}

public enum ClaimOutcome: String, Sendable {
    case bound
    case unknownOrExpiredCode = "unknown_or_expired_code"
    case sessionGone = "session_gone"
    case alreadyBound = "already_bound"
}

/// How long (seconds) an unbound session, a login code and a bound session live; a bound session's
/// lifetime is also how long a dead id stays deny-listed.
public struct SessionLifetimes: Sendable {
    public var unbound: Int, code: Int, deny: Int
    public init(unbound: Int, code: Int, deny: Int) { self.unbound = unbound; self.code = code; self.deny = deny }
    public init(_ config: AppConfig) { self.init(unbound: config.unboundTTL, code: config.codeTTL, deny: config.boundTTL) }
}

/// What a worker remembers of a session it served bound: the account and the proof, neither of which
/// changes while the session lives (a new binding is a new login, under a new id).
public struct BoundSessionHint: Sendable {
    public let account: String
    public let proof: BindingProof?
    public init(account: String, proof: BindingProof?) { self.account = account; self.proof = proof }
}

/// Session state in Redis. Every call is one round trip. A class: the closures of each call capture
/// one reference, not a copy of every field (each a retain and a release per request).
public final class SessionStore {
    public let redis: RedisConnection
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
        viewScript = SessionScripts.view(prefix: prefix, watcherKey: watcherKey, lifetimes: lifetimes)
        unboundTTL = lifetimes.unbound
    }

    public enum Mode: String, Sendable { case page, pageGzip = "pagegz", status, verify, report }

    /// Reads (and, where the rules say so, creates, re-issues or rotates) a session.
    /// `replacementID` and `freshMemo` may be nil: a view that would need one comes back with
    /// `needsFreshValues` and nothing changed. `unboundCode`: the code this worker last saw the session
    /// unbound with; a status poll then reads with plain commands (see `readUnboundSession`).
    public func view(id: SessionID, mode: Mode, replacementID: SessionID?, freshMemo: String?, now: Int64,
                     unboundCode: String? = nil) throws(RedisError) -> SessionView {
        if mode == .status, freshMemo == nil, let unboundCode, let view = try readUnboundSession(id: id, code: unboundCode, page: false) {
            return view
        }
        return try redis.eval(viewScript, args: viewArgs(id: id, mode: mode, replacementID: replacementID, freshMemo: freshMemo, now: now),
                              reading: parseView)
    }

    /// Page mode: the session, and the bound account's cached page by a plain GET. With `bound`
    /// (what this worker last saw the session bound to) the GET rides in the same round trip as the
    /// session's read and is used only if the read confirms that binding; otherwise it is a second
    /// round trip. For gzip the stored deflate segment is fetched, else (an older cache) the HTML.
    /// As with `view`, nil `replacementID`/`freshMemo` may come back with `needsFreshValues` (a new
    /// session, an expired code, a rotation), having changed nothing. With `unboundCode` (the code
    /// this worker last saw the session unbound with) the ask page reads with plain commands.
    public func viewPage(id: SessionID, gzip: Bool, bound hint: BoundSessionHint?, unboundCode: String? = nil, replacementID: SessionID?,
                         freshMemo: String?, now: Int64) throws(RedisError) -> SessionView {
        if hint == nil, freshMemo == nil, let unboundCode, let view = try readUnboundSession(id: id, code: unboundCode, page: true) {
            return view
        }
        let accountHint = hint?.account
        // Made only when the script runs (a bound session this worker knows reads without it).
        var args: [String] { viewArgs(id: id, mode: gzip ? .pageGzip : .page, replacementID: replacementID, freshMemo: freshMemo, now: now) }
        var view: SessionView
        var prefetched: RedisBulkReply? = nil
        if let hint, let read = try readBoundSession(id: id, hint: hint, gzip: gzip) {
            // A session this worker saw bound, and still bound under an id already rotated: for it the
            // view script would only read, so plain reads did (no Lua), with the page in the same round trip.
            (view, prefetched) = read
        } else if let accountHint {
            (view, prefetched) = try redis.evalPipelined(viewScript, args: args, then: ["GET", pageKey(accountHint, gzip: gzip)],
                                                         reading: parseView)
        } else {
            view = try redis.eval(viewScript, args: args, reading: parseView)
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

    /// What a logout found.
    public enum LogoutOutcome: Equatable, Sendable {
        /// There was no session under that id: nothing was written.
        case noSession
        /// The session was deleted and its id deny-listed; the account it was bound to, if any.
        case ended(account: String?)
    }

    /// Deletes a session and deny-lists its id, if there was one.
    @discardableResult
    public func logout(id: SessionID, denyTTL: Int) throws(RedisError) -> LogoutOutcome {
        let reply = try redis.eval(SessionScripts.logout, args: [prefix, id.hex, String(denyTTL)]).checked()
        let items = reply.array ?? []
        switch items.first?.string {
        case "none": return .noSession
        case "ended" where items.count == 2: return .ended(account: items[1].string.flatMap { $0.isEmpty ? nil : $0 })
        default: throw RedisError(kind: .server, message: "unexpected logout reply \(reply)")
        }
    }

    /// Caches a freshly computed report for `ttl` seconds (0 = no caching): its JSON for
    /// report.json, its rendered HTML for the page, and that HTML compressed once (a stored deflate
    /// segment) for clients that take gzip — so a cached page view renders and compresses almost nothing.
    public func cacheReport(account: String, json: [UInt8], html: String, compressedHTML: [UInt8], ttl: Int) throws(RedisError) {
        guard ttl > 0 else { return }
        let expiry: [[UInt8]] = [Array("EX".utf8), Array(String(ttl).utf8)]
        let replies = try redis.pipeline(binary: [
            [Array("SET".utf8), Array((prefix + "r:" + account).utf8), json] + expiry,
            [Array("SET".utf8), Array((prefix + "rh:" + account).utf8), Array(html.utf8)] + expiry,
            [Array("SET".utf8), Array((prefix + "rz:" + account).utf8), compressedHTML] + expiry,
        ])
        for r in replies { _ = try r.checked() }
    }

    public enum ReportClaim: Equatable, Sendable {
        /// This request computes the report.
        case claimed
        /// Another request is computing it.
        case heldByAnother
        /// Another request cached it after this one read the session: no computation needed.
        case cached(json: [UInt8], html: [UInt8], compressedHTML: [UInt8])
        /// A computation failed within the last `rememberFailureSeconds`: not asked again until then.
        case recentlyFailed(secondsLeft: Int)
    }

    /// How long a failed report is remembered per account (the nodes are not asked again meanwhile).
    public static let rememberFailureSeconds = 30

    /// Remembers that `account`'s report failed, for `rememberFailureSeconds`.
    public func rememberReportFailure(account: String) throws(RedisError) {
        _ = try redis.command(["SET", prefix + "rf:" + account, "1", "EX", String(Self.rememberFailureSeconds)]).checked()
    }

    /// Claims the computation of `account`'s report for `milliseconds`, so that one request at a
    /// time (of every worker and web host) fetches it from the chain. In the same round trip, a report
    /// cached since the session was read is returned instead of a claim.
    public func claimReportComputation(account: String, token: String, milliseconds: Int) throws(RedisError) -> ReportClaim {
        let reply = try redis.eval(SessionScripts.claimReport, args: [prefix, account, token, String(milliseconds)]).checked()
        if let parts = reply.array {
            guard parts.count == 3, case .bulk(let json) = parts[0], case .bulk(let html) = parts[1], case .bulk(let compressed) = parts[2] else {
                throw RedisError(kind: .server, message: "claimReport: unexpected reply")
            }
            return .cached(json: json, html: html, compressedHTML: compressed)
        }
        if let left = reply.integer, left < 0 { return .recentlyFailed(secondsLeft: Int((-left + 999) / 1000)) }
        return reply.integer == 1 ? .claimed : .heldByAnother
    }

    /// Gives the claim back, unless it expired and another request holds it now.
    public func releaseReportComputation(account: String, token: String) throws(RedisError) {
        _ = try redis.eval(SessionScripts.releaseReportClaim, args: [prefix, account, token]).checked()
    }

    /// Drops the cached report so the next view recomputes it; false when refreshed within the last minute.
    public func requestRefresh(account: String) throws(RedisError) -> Bool {
        try redis.eval(SessionScripts.refresh, args: [prefix, account]).integer == 1
    }

    /// A binding as `admin sessions` lists it (the id shortened: ids are bearer secrets).
    public struct Binding: Sendable {
        public var idPrefix: String
        public var block: String
        public var transactionID: String
        public var time: String
        public var secondsLeft: Int64
    }

    /// The live sessions bound to an account; ids whose session expired are dropped from the index.
    public func bindings(of account: String) throws(RedisError) -> [Binding] {
        let ids = (try redis.command(["SMEMBERS", prefix + "a:" + account]).array ?? []).compactMap(\.string)
        guard !ids.isEmpty else { return [] }
        let replies = try redis.pipeline(ids.flatMap { id in
            [["HMGET", prefix + "s:" + id, "acct", "blk", "tx", "btime"], ["TTL", prefix + "s:" + id]]
        })
        var out: [Binding] = [], gone: [String] = []
        for (i, id) in ids.enumerated() {
            let fields = replies[2 * i].array ?? []
            guard fields.count == 4, fields[0].string == account else { gone.append(id); continue }
            out.append(Binding(idPrefix: String(id.prefix(8)), block: fields[1].string ?? "", transactionID: fields[2].string ?? "",
                               time: fields[3].string ?? "", secondsLeft: replies[2 * i + 1].integer ?? -1))
        }
        if !gone.isEmpty { _ = try redis.command(["SREM", prefix + "a:" + account] + gone) }
        return out
    }

    /// Deletes every session bound to the account; returns how many were live.
    public func revoke(account: String, denyTTL: Int) throws(RedisError) -> Int64 {
        try redis.eval(SessionScripts.revoke, args: [prefix, account, String(denyTTL)]).checked().integer ?? 0
    }

    /// The watcher's published state and counters, for `/metrics` (one round trip).
    public func watcherCounters() throws(RedisError) -> [[String: String]] {
        let replies = try redis.pipeline([["HGETALL", watcherKey], ["HGETALL", watcherKey + ":claims"],
                                          ["HGETALL", watcherKey + ":rejections"], ["HGETALL", watcherKey + ":rpc"]])
        return replies.map { reply in
            var out: [String: String] = [:]
            let items = reply.array ?? []
            var i = 0
            while i + 1 < items.count { out[items[i].string ?? ""] = items[i + 1].string ?? ""; i += 2 }
            return out
        }
    }

    /// `/healthz`: a real PING, and the watcher's published state, in one round trip.
    /// Returns nil when healthy, else the reason.
    public func healthProblem(now: Int64, maxLag: Int) throws(RedisError) -> String? {
        let replies = try redis.pipeline([["PING"], ["HMGET", watcherKey, "behind", "updated"]])
        guard replies[0] == .status("PONG") else { throw RedisError(kind: .server, message: "PING answered \(replies[0])") }
        guard let fields = replies[1].array, fields.count == 2, let updated = fields[1].integer else {
            return nil          // no watcher has published yet: the web tier itself is healthy
        }
        if now - updated > Int64(maxLag) { return "watcher stopped publishing \(now - updated) s ago" }
        if let behind = fields[0].integer, behind > Int64(maxLag) { return "watcher is \(behind) s behind the chain" }
        return nil
    }

    public func signInState(id: SessionID) throws(RedisError) -> SignInState {
        let reply = try redis.eval(SessionScripts.signInState, args: [prefix, id.hex]).checked()
        let items = reply.array ?? []
        switch items.first?.string {
        case "none": return .noSession
        case "bound": return .alreadyBound
        case "expired": return .codeExpired
        case "unbound" where items.count == 5:
            return .unbound(code: items[1].string ?? "", codeExpiresAt: items[2].integer ?? 0, attempts: Int(items[3].integer ?? 0),
                            requiredLevel: items[4].string == ProofLevel.active.rawValue ? .active : .posting)
        default: throw RedisError(kind: .server, message: "unexpected sign-in state \(reply)")
        }
    }

    /// Counts an attempt that is about to reach the node; returns how many there have been, or nil
    /// when the session is gone or no longer unbound (nothing is written then).
    public func countSignInAttempt(id: SessionID) throws(RedisError) -> Int? {
        let n = try redis.eval(SessionScripts.countSignInAttempt, args: [prefix, id.hex]).checked().integer ?? -1
        return n < 0 ? nil : Int(n)
    }

    /// Binds the session that owns `code` by a signature, through the same atomic rule as a transfer:
    /// first proof wins, a bound session is never overwritten, the code is consumed.
    public func bindBySignature(code: String, account: String, publicKey: String, level: ProofLevel, time: String,
                                boundTTL: Int, now: Int64) throws(RedisError) -> ClaimOutcome {
        let reply = try redis.eval(SessionScripts.claim, args: [prefix, code, account, "0", "", time, String(boundTTL), String(now),
                                                                 BindingProof.Method.signature.rawValue, publicKey, level.rawValue, String(now)])
        guard let s = reply.string, let outcome = ClaimOutcome(rawValue: s) else {
            throw RedisError(kind: .server, message: "unexpected claim reply \(reply)")
        }
        return outcome
    }

    /// `blockTime` as the chain writes it; a code past its visible expiry binds only when that time
    /// parses and is at or before the code's expiry.
    public func claim(memo: String, account: String, block: Int64, transactionID: String,
                      blockTime: String, boundTTL: Int, now: Int64) throws(RedisError) -> ClaimOutcome {
        let unix = ChainTime(blockTime).map { String($0.secondsSinceEpoch) } ?? ""
        let reply = try redis.eval(SessionScripts.claim, args: [prefix, memo, account, String(block), transactionID,
                                                                 blockTime, String(boundTTL), String(now), "transfer", "", "active", unix])
        guard let s = reply.string, let outcome = ClaimOutcome(rawValue: s) else {
            throw RedisError(kind: .server, message: "unexpected claim reply \(reply)")
        }
        return outcome
    }
}
