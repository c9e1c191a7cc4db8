import SteemAuthAdapters

/// What a worker remembers of a session it served, so that its next request reads with plain
/// commands: the account it was bound to (a logged-in page's GET then rides in the session's round
/// trip), or the login code it was shown (a status poll and a reload read the code's TTL with it).
enum SessionHint {
    case bound(BoundSessionHint)
    case unbound(code: String)

    var bound: BoundSessionHint? { if case .bound(let hint) = self { hint } else { nil } }
    var unboundCode: String? { if case .unbound(let code) = self { code } else { nil } }
}
