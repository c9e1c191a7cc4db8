import SteemAuthAdapters
import SteemAuthCore

/// The behaviour every `SessionStore` (and its sibling stores) must have, as routes observe it:
/// written once, run against `InMemoryStores` with no process and against the Redis stores on a
/// real redis-server, so that the fake and Redis cannot drift apart. Each case throws a
/// `ContractViolation` naming what differed; a test target runs each case as one test.
public struct SessionStoreContract {
    /// The stores under test and the few things a case does beside them.
    public struct Subject {
        public var sessions: any SessionStore
        public var authorizations: any AuthorizationStore
        public var reportCache: any ReportCacheStore
        public var lifetimes: SessionLifetimes
        /// A transfer paying `memo` from `account`, bound as the watcher binds it.
        public var bindByTransfer: (_ memo: String, _ account: String, _ block: Int64, _ transactionID: String) throws -> ClaimOutcome
        /// Seconds left to the key under the store's prefix (`s:<id>`, `c:<code>`…), as Redis's TTL
        /// answers (-2 without the key).
        public var ttl: (_ key: String) throws -> Int
        /// Makes the key under the store's prefix reach the end of its lifetime now (and be gone).
        public var expire: (_ key: String) throws -> Void
        /// The unix seconds the stores are at.
        public var now: () -> Int64

        public init(sessions: any SessionStore, authorizations: any AuthorizationStore, reportCache: any ReportCacheStore,
                    lifetimes: SessionLifetimes, bindByTransfer: @escaping (String, String, Int64, String) throws -> ClaimOutcome,
                    ttl: @escaping (String) throws -> Int, expire: @escaping (String) throws -> Void, now: @escaping () -> Int64) {
            self.sessions = sessions; self.authorizations = authorizations; self.reportCache = reportCache; self.lifetimes = lifetimes
            self.bindByTransfer = bindByTransfer; self.ttl = ttl; self.expire = expire; self.now = now
        }
    }

    public struct ContractViolation: Error, CustomStringConvertible {
        public let description: String
    }

    /// The cases, by name: each runs on a fresh subject.
    public static var cases: [(name: String, run: (Subject) throws -> Void)] { [
        ("create", create), ("reissue", reissue), ("bind", bind), ("rotateWithDeny", rotateWithDeny),
        ("verifyNeverRotates", verifyNeverRotates), ("logout", logout), ("expiry", expiry), ("signIn", signIn),
        ("oidcParkingOnANewBrowser", oidcParkingOnANewBrowser), ("oidcFreshProof", oidcFreshProof), ("reportCache", reportCache),
    ] }

    // MARK: helpers

    static func expect(_ condition: Bool, _ what: @autoclosure () -> String) throws {
        if !condition { throw ContractViolation(description: what()) }
    }

    static func sessionID(_ n: UInt8) -> SessionID { SessionID(randomBytes: [UInt8](repeating: n, count: SessionID.byteCount))! }

    /// A new unbound session, as the first view of the ask page makes it.
    static func newSession(_ s: Subject, _ id: SessionID, memo: String) throws -> SessionView {
        try s.sessions.viewPage(id: id, gzip: false, bound: nil, replacementID: nil, freshMemo: memo, now: s.now())
    }

    static func status(_ s: Subject, _ id: SessionID, replacement: SessionID? = nil) throws -> SessionView {
        try s.sessions.lookUp(id: id, for: .status, replacementID: replacement, freshMemo: nil, now: s.now())
    }

    /// A bound session whose id was rotated already (its first view after binding): the new id.
    static func boundSession(_ s: Subject, _ id: SessionID, memo: String, account: String, rotatedTo newID: SessionID) throws {
        _ = try newSession(s, id, memo: memo)
        try expect(try s.bindByTransfer(memo, account, 7, "feed" + memo) == .bound, "the transfer binds")
        let view = try status(s, id, replacement: newID)
        guard case .rotated(account, _) = view.state else { throw ContractViolation(description: "rotated on its first view: \(view.state)") }
    }

    // MARK: cases

    /// A page view creates an unbound session with a code; status and verify never create one.
    public static func create(_ s: Subject) throws {
        let id = sessionID(1)
        let none = try status(s, id)
        try expect(none.state == .none && !none.needsFreshValues, "status of an unknown id: none, \(none.state)")
        try expect(try s.ttl("s:" + id.hex) == -2, "status wrote no session")
        let verify = try s.sessions.lookUp(id: id, for: .verify, replacementID: nil, freshMemo: nil, now: s.now())
        try expect(verify.state == .none, "verify of an unknown id: none")
        let asks = try s.sessions.viewPage(id: id, gzip: false, bound: nil, replacementID: nil, freshMemo: nil, now: s.now())
        try expect(asks.needsFreshValues, "a new session asks for fresh values")
        try expect(try s.ttl("s:" + id.hex) == -2, "and writes nothing until given them")
        let now = s.now()
        let view = try newSession(s, id, memo: "code1")
        try expect(view.state == .unbound(memo: "code1", expiresIn: s.lifetimes.code), "unbound with the code: \(view.state)")
        try expect(view.createdSession, "created")
        try expect(view.codeExpiresAt == now + Int64(s.lifetimes.code), "the code's expiry")
        try expect(try s.ttl("s:" + id.hex) == s.lifetimes.unbound, "the session lives the unbound lifetime")
        try expect(try s.ttl("c:code1") == s.lifetimes.code, "the code lives the code lifetime")
        let again = try s.sessions.viewPage(id: id, gzip: false, bound: nil, replacementID: nil, freshMemo: nil, now: s.now())
        try expect(again.state == .unbound(memo: "code1", expiresIn: s.lifetimes.code) && !again.createdSession,
                   "a reload shows the same code: \(again.state)")
        let polled = try status(s, id)
        try expect(polled.state == .unbound(memo: "code1", expiresIn: s.lifetimes.code), "status shows the code")
        try expect(polled.codeExpiresAt == now + Int64(s.lifetimes.code), "status shows its expiry")
        let verified = try s.sessions.lookUp(id: id, for: .verify, replacementID: nil, freshMemo: nil, now: s.now())
        try expect(verified.state == .unbound(memo: "", expiresIn: -1), "verify shows no code: \(verified.state)")
    }

    /// An expired code is replaced on the next view, which asks for a fresh one first.
    public static func reissue(_ s: Subject) throws {
        let id = sessionID(2)
        _ = try newSession(s, id, memo: "old1")
        try s.expire("c:old1")
        let asks = try status(s, id)
        try expect(asks.needsFreshValues, "an expired code asks for a fresh one")
        let view = try s.sessions.lookUp(id: id, for: .status, replacementID: nil, freshMemo: "new1", now: s.now())
        try expect(view.state == .unbound(memo: "new1", expiresIn: s.lifetimes.code), "the new code: \(view.state)")
        try expect(!view.createdSession, "the same session")
        try expect(try s.ttl("c:new1") == s.lifetimes.code, "the new code lives the code lifetime")
        try expect(try s.bindByTransfer("old1", "alice", 1, "tx-old") == .unknownOrExpiredCode, "the old code binds nothing")
        guard case .unbound(let code, _, let attempts, _) = try s.sessions.signInState(id: id) else {
            throw ContractViolation(description: "sign-in sees the session unbound")
        }
        try expect(code == "new1" && attempts == 0, "sign-in signs the new code")
    }

    /// A transfer binds the session once; the first view after it rotates the id.
    public static func bind(_ s: Subject) throws {
        let id = sessionID(3), newID = sessionID(4)
        _ = try newSession(s, id, memo: "bind1")
        try expect(try s.bindByTransfer("bind1", "alice", 42, "tx42") == .bound, "bound")
        try expect(try s.bindByTransfer("bind1", "mallory", 43, "tx43") == .unknownOrExpiredCode, "the code is consumed")
        try expect(try s.ttl("c:bind1") == -2, "the code is gone")
        let asks = try s.sessions.viewPage(id: id, gzip: false, bound: nil, replacementID: nil, freshMemo: nil, now: s.now())
        try expect(asks.needsFreshValues, "the first view after binding asks for a new id")
        let page = try s.sessions.viewPage(id: id, gzip: false, bound: nil, replacementID: newID, freshMemo: nil, now: s.now())
        guard case .rotated("alice", let proof?) = page.state else { throw ContractViolation(description: "rotated: \(page.state)") }
        try expect(proof.block == 42 && proof.transactionID == "tx42" && proof.method == .transfer, "the proof: \(proof)")
        let next = try s.sessions.viewPage(id: newID, gzip: false, bound: nil, replacementID: nil, freshMemo: nil, now: s.now())
        try expect(next.state == .bound(account: "alice", proof: proof), "the new id is bound: \(next.state)")
        try expect(try s.sessions.signInState(id: newID) == .alreadyBound, "sign-in: already bound")
    }

    /// A rotated-away id is dead: deny-listed for the deny lifetime, never a new session.
    public static func rotateWithDeny(_ s: Subject) throws {
        let id = sessionID(5), newID = sessionID(6)
        try boundSession(s, id, memo: "rot1", account: "bob", rotatedTo: newID)
        try expect(try status(s, id).state == .denied, "the old id is denied")
        try expect(try s.ttl("d:" + id.hex) == s.lifetimes.deny, "for the deny lifetime")
        let page = try s.sessions.viewPage(id: id, gzip: false, bound: nil, replacementID: nil, freshMemo: "x1", now: s.now())
        try expect(page.state == .denied, "a page view of it creates nothing: \(page.state)")
        try expect(try status(s, newID).state == .bound(account: "bob", proof: nil), "the new id is bound (status reads no proof)")
        try expect(try s.sessions.logout(id: id, denyTTL: s.lifetimes.deny) == .noSession, "nothing to log out under the old id")
    }

    /// verify answers bound or not and never rotates (nginx's auth_request sets no cookie).
    public static func verifyNeverRotates(_ s: Subject) throws {
        let id = sessionID(7)
        _ = try newSession(s, id, memo: "ver1")
        try expect(try s.bindByTransfer("ver1", "carol", 5, "tx5") == .bound, "bound")
        let view = try s.sessions.lookUp(id: id, for: .verify, replacementID: nil, freshMemo: nil, now: s.now())
        guard case .bound("carol", _) = view.state, !view.needsFreshValues else {
            throw ContractViolation(description: "verify: bound without a rotation: \(view.state)")
        }
        try expect(try s.ttl("d:" + id.hex) == -2, "the id is not deny-listed")
        let report = try s.sessions.lookUp(id: id, for: .report, replacementID: sessionID(8), freshMemo: nil, now: s.now())
        guard case .rotated("carol", _) = report.state else { throw ContractViolation(description: "report.json rotates: \(report.state)") }
    }

    /// A logout ends the session and deny-lists its id for the life it had left.
    public static func logout(_ s: Subject) throws {
        let unbound = sessionID(9)
        _ = try newSession(s, unbound, memo: "out1")
        try expect(try s.sessions.logout(id: unbound, denyTTL: s.lifetimes.deny) == .ended(account: nil), "an unbound session ends")
        try expect(try s.ttl("c:out1") == -2, "its code is gone")
        try expect(try s.bindByTransfer("out1", "dave", 1, "tx1") == .unknownOrExpiredCode, "and binds nothing")
        try expect(try s.ttl("d:" + unbound.hex) == min(s.lifetimes.unbound, s.lifetimes.deny), "denied for the life it had left")
        let id = sessionID(10), newID = sessionID(11)
        try boundSession(s, id, memo: "out2", account: "dave", rotatedTo: newID)
        try expect(try s.sessions.logout(id: newID, denyTTL: s.lifetimes.deny) == .ended(account: "dave"), "a bound session ends")
        try expect(try status(s, newID).state == .denied, "its id is denied")
        try expect(try s.sessions.signInState(id: newID) == .noSession, "sign-in finds no session")
        try expect(try s.sessions.logout(id: newID, denyTTL: s.lifetimes.deny) == .noSession, "a second logout finds none")
        try expect(try s.sessions.logout(id: sessionID(12), denyTTL: s.lifetimes.deny) == .noSession, "a fresh id writes nothing")
        try expect(try s.ttl("d:" + sessionID(12).hex) == -2, "and is not deny-listed")
    }

    /// A session past its lifetime is gone, not denied: the id may start again.
    public static func expiry(_ s: Subject) throws {
        let id = sessionID(13)
        _ = try newSession(s, id, memo: "exp1")
        try s.expire("s:" + id.hex)
        try expect(try status(s, id).state == .none, "an expired session is none")
        try expect(try s.sessions.signInState(id: id) == .noSession, "sign-in finds none")
        let view = try newSession(s, id, memo: "exp2")
        try expect(view.state == .unbound(memo: "exp2", expiresIn: s.lifetimes.code) && view.createdSession, "a new one starts: \(view.state)")
    }

    /// Sign-in by signature: attempts counted while unbound, the code binds once.
    public static func signIn(_ s: Subject) throws {
        let id = sessionID(14)
        let now = s.now()
        _ = try newSession(s, id, memo: "sig1")
        try expect(try s.sessions.signInState(id: id) == .unbound(code: "sig1", codeExpiresAt: now + Int64(s.lifetimes.code), attempts: 0,
                                                                 requiredLevel: .posting), "where a sign-in starts")
        try expect(try s.sessions.countSignInAttempt(id: id) == 1, "first attempt")
        try expect(try s.sessions.countSignInAttempt(id: id) == 2, "second attempt")
        try expect(try s.sessions.bindBySignature(code: "sig1", account: "erin", publicKey: "STMkey", level: .posting, time: "t",
                                                  boundTTL: 3600, now: s.now()) == .bound, "bound by signature")
        try expect(try s.sessions.bindBySignature(code: "sig1", account: "erin", publicKey: "STMkey", level: .posting, time: "t",
                                                  boundTTL: 3600, now: s.now()) == .unknownOrExpiredCode, "once")
        try expect(try s.sessions.countSignInAttempt(id: id) == nil, "a bound session counts no attempt")
        try expect(try s.ttl("s:" + id.hex) == 3600, "the bound lifetime")
        let page = try s.sessions.viewPage(id: id, gzip: false, bound: nil, replacementID: sessionID(15), freshMemo: nil, now: s.now())
        guard case .rotated("erin", let proof?) = page.state, proof.method == .signature, proof.publicKey == "STMkey" else {
            throw ContractViolation(description: "rotated with the signature's proof: \(page.state)")
        }
        try expect(try s.sessions.countSignInAttempt(id: sessionID(16)) == nil, "no session: nothing counted")
        try expect(try s.ttl("s:" + sessionID(16).hex) == -2, "and nothing written")
    }

    /// An authorization from a new browser parks in a new session; the page after the proof takes
    /// it exactly once, and only in the browser that started it.
    public static func oidcParkingOnANewBrowser(_ s: Subject) throws {
        let id = sessionID(17), newID = sessionID(18), pending = Array(#"{"client_id":"app"}"#.utf8)
        try expect(try s.authorizations.authorizationState(id: id, now: s.now()) == .none, "no session yet")
        try expect(try s.authorizations.parkAuthorization(id: id, pending: pending, flowHash: "flowA", freshProof: false, level: .posting,
                                                          expiresAt: s.now() + 600, freshMemo: "oidc1", now: s.now(),
                                                          unboundTTL: s.lifetimes.unbound, codeTTL: s.lifetimes.code), "parked")
        try expect(try s.authorizations.authorizationState(id: id, now: s.now()) == .unbound, "in a new unbound session")
        let ask = try s.sessions.viewPage(id: id, gzip: false, bound: nil, replacementID: nil, freshMemo: nil, now: s.now())
        try expect(ask.state == .unbound(memo: "oidc1", expiresIn: s.lifetimes.code) && ask.oidcPending == pending,
                   "the ask page shows the code and the waiting app: \(ask.state)")
        try expect(try s.bindByTransfer("oidc1", "frank", 9, "tx9") == .bound, "bound")
        let page = try s.sessions.viewPage(id: id, gzip: false, bound: nil, replacementID: newID, freshMemo: nil, now: s.now())
        try expect(page.oidcPending == pending, "the page after the proof sees the authorization")
        guard case .elsewhere = try s.authorizations.takeParkedAuthorization(id: newID, flowHash: "flowB", freshMemo: "n1", now: s.now(),
                                                                             codeTTL: s.lifetimes.code) else {
            throw ContractViolation(description: "another browser's page leaves it alone")
        }
        guard case .taken("frank", "transfer", _, .active, pending) = try s.authorizations.takeParkedAuthorization(
            id: newID, flowHash: "flowA", freshMemo: "n2", now: s.now(), codeTTL: s.lifetimes.code) else {
            throw ContractViolation(description: "the starting browser takes it")
        }
        guard case ParkedAuthorization.none = try s.authorizations.takeParkedAuthorization(id: newID, flowHash: "flowA", freshMemo: "n3",
                                                                                           now: s.now(), codeTTL: s.lifetimes.code) else {
            throw ContractViolation(description: "exactly once")
        }
        try s.sessions.logout(id: newID, denyTTL: s.lifetimes.deny)
        try expect(try s.authorizations.parkAuthorization(id: newID, pending: pending, flowHash: "flowA", freshProof: false, level: .posting,
                                                          expiresAt: s.now() + 600, freshMemo: "oidc2", now: s.now(),
                                                          unboundTTL: s.lifetimes.unbound, codeTTL: s.lifetimes.code) == false,
                   "a logged-out id parks nothing")
    }

    /// An authorization asking a logged-in session for a fresh proof gets a code beside the login;
    /// another browser's flow replaces that code; the proof's signature completes it.
    public static func oidcFreshProof(_ s: Subject) throws {
        let id = sessionID(19), newID = sessionID(20), pending = Array(#"{"client_id":"app","max_age":0}"#.utf8)
        try boundSession(s, id, memo: "fp0", account: "gina", rotatedTo: newID)
        func park(_ flow: String, _ memo: String) throws -> Bool {
            try s.authorizations.parkAuthorization(id: newID, pending: pending, flowHash: flow, freshProof: true, level: .active,
                                                   expiresAt: s.now() + 600, freshMemo: memo, now: s.now(),
                                                   unboundTTL: s.lifetimes.unbound, codeTTL: s.lifetimes.code)
        }
        try expect(try park("flowA", "fp1"), "parked")
        guard case .freshProof("gina", "fp1", _, .active, pending) = try s.authorizations.takeParkedAuthorization(
            id: newID, flowHash: "flowA", freshMemo: "unused", now: s.now(), codeTTL: s.lifetimes.code) else {
            throw ContractViolation(description: "the page asks for a fresh proof with its code")
        }
        guard case .waiting("gina", "fp1", s.lifetimes.code, _) = try s.authorizations.freshProofState(id: newID) else {
            throw ContractViolation(description: "the fresh-proof poll waits")
        }
        try expect(try park("flowB", "fp2"), "another browser's flow parks")
        try expect(try s.ttl("c:fp1") == -2, "and the first code answers nothing")
        guard case .unbound("fp2", _, 0, .active) = try s.sessions.signInState(id: newID) else {
            throw ContractViolation(description: "sign-in signs the fresh-proof code")
        }
        try expect(try s.sessions.bindBySignature(code: "fp2", account: "gina", publicKey: "STMactive", level: .active, time: "t",
                                                  boundTTL: 3600, now: s.now()) == .bound, "the fresh proof binds")
        try expect(try s.authorizations.freshProofState(id: newID) == .done(account: "gina"), "done")
        guard case .taken("gina", "signature", _, .active, pending) = try s.authorizations.takeParkedAuthorization(
            id: newID, flowHash: "flowB", freshMemo: "unused", now: s.now(), codeTTL: s.lifetimes.code) else {
            throw ContractViolation(description: "the authorization is taken after the fresh proof")
        }
    }

    /// The report's computation is claimed by one request at a time; a cached report ends the claims.
    public static func reportCache(_ s: Subject) throws {
        let r = s.reportCache
        try expect(try r.claimReportComputation(account: "hank", token: "a", milliseconds: 60_000) == .claimed, "claimed")
        try expect(try r.claimReportComputation(account: "hank", token: "b", milliseconds: 60_000) == .heldByAnother, "held")
        try r.releaseReportComputation(account: "hank", token: "b")
        try expect(try r.claimReportComputation(account: "hank", token: "b", milliseconds: 60_000) == .heldByAnother, "another token gives nothing back")
        try r.releaseReportComputation(account: "hank", token: "a")
        try r.rememberReportFailure(account: "hank")
        guard case .recentlyFailed(let left) = try r.claimReportComputation(account: "hank", token: "c", milliseconds: 60_000),
              left == ReportClaim.rememberFailureSeconds else { throw ContractViolation(description: "a failure is remembered") }
        try s.expire("rf:hank")
        try r.cacheReport(account: "hank", json: Array("{}".utf8), html: "<li>hank</li>", compressedHTML: [1, 2, 3], ttl: 60)
        try expect(try r.claimReportComputation(account: "hank", token: "d", milliseconds: 60_000)
                   == .cached(json: Array("{}".utf8), html: Array("<li>hank</li>".utf8), compressedHTML: [1, 2, 3]), "cached")
        try expect(try s.ttl("rh:hank") == 60, "for its lifetime")
        let id = sessionID(21), newID = sessionID(22)
        try boundSession(s, id, memo: "rep1", account: "hank", rotatedTo: newID)
        let page = try s.sessions.viewPage(id: newID, gzip: false, bound: nil, replacementID: nil, freshMemo: nil, now: s.now())
        let html = page.cachedPage.map { p in p.withUnsafeBytes { Array($0) } }
        try expect(html == Array("<li>hank</li>".utf8), "the page view brings the cached page")
        let gz = try s.sessions.viewPage(id: newID, gzip: true, bound: nil, replacementID: nil, freshMemo: nil, now: s.now())
        try expect(gz.cachedReport == [1, 2, 3] && gz.cachedReportIsDeflate, "gzip: the compressed segment")
        let json = try s.sessions.lookUp(id: newID, for: .report, replacementID: nil, freshMemo: nil, now: s.now())
        try expect(json.cachedReport == Array("{}".utf8), "report.json: the cached JSON")
        try expect(try r.requestRefresh(account: "hank"), "a refresh drops it")
        try expect(try r.requestRefresh(account: "hank") == false, "at most once a minute")
        try expect(try s.ttl("rh:hank") == -2, "dropped")
    }
}
