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
    public var cachedPage: (any StoredPageBytes)? = nil
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

    public init(state: State, behindSeconds: Double?, cachedReport: [UInt8]? = nil) {
        self.state = state
        self.behindSeconds = behindSeconds
        self.cachedReport = cachedReport
    }
}

extension SessionView {
    /// Equal views hold equal pages (byte for byte, wherever each is kept).
    public static func == (a: SessionView, b: SessionView) -> Bool {
        let samePage: Bool
        switch (a.cachedPage, b.cachedPage) {
        case (nil, nil): samePage = true
        case (let x?, let y?): samePage = x.withUnsafeBytes { xb in y.withUnsafeBytes { yb in xb.elementsEqual(yb) } }
        default: samePage = false
        }
        return samePage && a.state == b.state && a.behindSeconds == b.behindSeconds && a.cachedReport == b.cachedReport
            && a.cachedReportIsDeflate == b.cachedReportIsDeflate && a.codeExpiresAt == b.codeExpiresAt
            && a.createdSession == b.createdSession && a.needsFreshValues == b.needsFreshValues && a.oidcPending == b.oidcPending
    }
}
