import SteemAuthAdapters
import SteemAuthCore

/// The pages this worker fills in (frozen by the master before it forked, see `Pages.frozenPageSet`;
/// else on first use), the QR codes of the latest memos it showed (a reload shows the same one),
/// its session hints and its reused buffers.
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
