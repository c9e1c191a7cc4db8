import SteemAuthAdapters
import SteemAuthCore

/// The pages rendered once and filled per request (see FrozenPage): which variants there are, where
/// a worker keeps them, and the set the pool's master makes before it forks.
extension WebApp {
    /// The pages this worker fills in (frozen by the master before it forked, see `frozenPageSet`;
    /// else on first use), the QR codes of the latest memos it showed (a reload shows the same one),
    /// its hints and its reused buffers: a class, so `handle` need not copy them.
    final class FrozenPages {
        /// By variant (`FrozenVariant.rawValue`): found by index, no key hashed or made per request.
        var pages = [FrozenPage?](repeating: nil, count: FrozenVariant.allCases.count)
        var qrCodes: [String: PayQR] = [:]
        /// The QR code shown last: a reload, and the gzip page's second look, find it without hashing.
        var lastQR: PayQR?
        /// What each recent session was when this worker last served it (a hint; Redis has the last word).
        var sessions: [SessionID: SessionHint] = [:]
        /// Each frozen page's chunks compressed once (gzip pages: only the values are per request).
        var compressedChunks = [[DeflateSegment]?](repeating: nil, count: FrozenVariant.allCases.count)
        /// The buffer small pages are filled into, reused from one request to the next.
        var pageBuffer: [UInt8] = []
        /// The same for gzip pages (their frame, or the whole small page).
        var gzipBuffer: [UInt8] = []
    }

    /// What a worker remembers of a session it served, so that its next request reads with plain
    /// commands: the account it was bound to (a logged-in page's GET then rides in the session's round
    /// trip), or the login code it was shown (a status poll and a reload read the code's TTL with it).
    enum SessionHint {
        case bound(BoundSessionHint)
        case unbound(code: String)

        var bound: BoundSessionHint? { if case .bound(let hint) = self { hint } else { nil } }
        var unboundCode: String? { if case .unbound(let code) = self { code } else { nil } }
    }

    /// Keeps what this request learned of the session for its next one (`hint`: what was kept before).
    /// A session still as remembered (most requests) writes nothing. A session is remembered bound
    /// only from a view that read its proof (`proofRead`: a page's, not a status poll's), since a
    /// page served from the memory shows the proof remembered.
    func remember(_ state: SessionView.State, id: SessionID, replacement: SessionID, hint: SessionHint?, proofRead: Bool) {
        switch state {
        case .bound(let account, _) where hint?.bound?.account == account: return
        case .unbound(let memo, _) where hint?.unboundCode == memo: return
        case .denied where hint == nil, .none where hint == nil: return
        case .bound where hint == nil && !proofRead, .rotated where hint == nil && !proofRead: return   // nothing to keep or drop
        default: break
        }
        let hints = frozenPages
        if hints.sessions.count >= 1024 { hints.sessions.removeAll(keepingCapacity: true) }
        switch state {
        case .bound(let account, let proof): hints.sessions[id] = proofRead ? .bound(BoundSessionHint(account: account, proof: proof)) : nil
        case .rotated(let account, let proof):
            hints.sessions[id] = nil
            if proofRead { hints.sessions[replacement] = .bound(BoundSessionHint(account: account, proof: proof)) }
        case .unbound(let memo, _): hints.sessions[id] = .unbound(code: memo)
        case .denied, .none: hints.sessions[id] = nil
        }
    }

    /// The pages frozen once, each in the variants it is shown in.
    enum FrozenVariant: Int, CaseIterable {
        /// The ask page: without or with the watcher's lag, each without or with an application
        /// waiting for the login.
        case ask, askLag, askApp, askLagApp
        /// The report page: without or with a proof (a transfer's, a signature's), each without or
        /// with the watcher's lag.
        case report, reportLag, reportProof, reportProofLag, reportSigned, reportSignedLag

        static func ask(lag: Bool, app: Bool) -> Self { Self(rawValue: ask.rawValue + (lag ? 1 : 0) + (app ? 2 : 0))! }
        static func report(proof: BindingProof.Method?, lag: Bool) -> Self {
            let shown = proof.map { $0 == .signature ? 4 : 2 } ?? 0
            return Self(rawValue: report.rawValue + shown + (lag ? 1 : 0))!
        }

        private var isAsk: Bool { rawValue < Self.report.rawValue }
        /// Within each page the variants alternate without and with the lag.
        var showsLag: Bool { (rawValue - (isAsk ? Self.ask : Self.report).rawValue) % 2 == 1 }
        var showsApp: Bool { isAsk && rawValue - Self.ask.rawValue >= 2 }
        var proofMethod: BindingProof.Method? {
            guard !isAsk else { return nil }
            switch (rawValue - Self.report.rawValue) / 2 { case 1: return .transfer; case 2: return .signature; default: return nil }
        }
    }

    /// The frozen pages made once (see `frozenPageSet`), by variant.
    public struct FrozenPageSet: Sendable {
        let pages: [FrozenPage?]
        let compressedChunks: [[DeflateSegment]?]
    }

    func frozenPage(_ variant: FrozenVariant) -> FrozenPage {
        if let page = frozenPages.pages[variant.rawValue] { return page }
        let page = render(variant)
        frozenPages.pages[variant.rawValue] = page
        return page
    }

    /// A frozen page's chunks compressed once, as well as zlib can (gzip pages: only the values are
    /// per request).
    func compressedChunks(_ variant: FrozenVariant) -> [DeflateSegment] {
        if let done = frozenPages.compressedChunks[variant.rawValue] { return done }
        let compressor = GzipDeflate(level: 9)
        let chunks = frozenPage(variant).chunkTexts.map { compressor.segment($0, final: false).kept() }
        frozenPages.compressedChunks[variant.rawValue] = chunks
        return chunks
    }

    /// A page's template rendered with placeholders for the values each request fills in.
    private func render(_ variant: FrozenVariant) -> FrozenPage {
        switch variant {
        case .ask, .askLag, .askApp, .askLagApp:
            var values = askValues(memo: FrozenPage.marker(0), expiresMinutes: FrozenPage.marker(1))
            if variant.showsLag { values["behind"] = FrozenPage.marker(2) }
            values["qr"] = FrozenPage.marker(3)
            if variant.showsApp { values["clientName"] = FrozenPage.marker(4) }
            return FrozenPage(rendered: templates.render("ask", values), raw: [3])
        case .report, .reportLag, .reportProof, .reportProofLag, .reportSigned, .reportSignedLag:
            var values: [String: Any] = ["chainName": chainName, "account": FrozenPage.marker(0), "listHTML": FrozenPage.marker(1)]
            if variant.showsLag { values["behind"] = FrozenPage.marker(2) }
            if let method = variant.proofMethod {
                let shown: [String: Any] = ["tx": FrozenPage.marker(3), "block": FrozenPage.marker(4), "time": FrozenPage.marker(5),
                                            "key": FrozenPage.marker(6)]
                values[method == .signature ? "signed" : "proof"] = shown
            }
            return FrozenPage(rendered: templates.render("report", values), raw: [1])
        }
    }

    /// Every frozen page and its compressed chunks, made at once: the pool's master makes them before
    /// it forks, so its workers share them (copy-on-write) and none renders a template or runs zlib's
    /// best compression for them, on its first views or after it replaces a recycled worker.
    public func frozenPageSet() -> FrozenPageSet {
        for variant in FrozenVariant.allCases { _ = compressedChunks(variant) }
        return FrozenPageSet(pages: frozenPages.pages, compressedChunks: frozenPages.compressedChunks)
    }
}
