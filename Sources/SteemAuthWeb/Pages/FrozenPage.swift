import FastCGIKit
import SteemAuthCore

/// A page rendered once by the template engine with placeholder values, then split at them: per
/// request only the placeholders are filled, by concatenation — no template work on the hot path.
/// Dynamic values must be safe in every place they appear (memos, numbers, account names, hex ids:
/// no URL encoding needed); they are HTML-escaped anyway, except the slots named raw.
struct FrozenPage: Sendable {
    private let chunks: [String]
    /// The chunks' UTF-8, made once: a filled page is copied from them (see `fill`).
    private let chunkBytes: [[UInt8]]
    private let chunkByteCount: Int
    private let slots: [Int]            // slots[i] is the value that follows chunks[i]
    private let rawSlots: UInt64        // bit n: slot n is not escaped

    static func marker(_ slot: Int) -> String { "\u{E000}\(slot)\u{E001}" }

    init(rendered: String, raw: Set<Int> = []) {
        var chunks: [String] = [], slots: [Int] = []
        var rest = Substring(rendered)
        while let open = rest.firstIndex(of: "\u{E000}"), let close = rest[open...].firstIndex(of: "\u{E001}"),
              let slot = Int(rest[rest.index(after: open)..<close]) {
            chunks.append(String(rest[..<open]))
            slots.append(slot)
            rest = rest[rest.index(after: close)...]
        }
        chunks.append(String(rest))
        self.chunks = chunks
        self.chunkBytes = chunks.map { Array($0.utf8) }
        self.chunkByteCount = chunkBytes.reduce(0) { $0 + $1.count }
        self.slots = slots
        precondition(raw.allSatisfy { (0..<64).contains($0) }, "raw slots are 0...63")
        self.rawSlots = raw.reduce(0) { $0 | 1 << UInt64($1) }
    }

    /// The filled page written into `out` (emptied first, its capacity kept), with `slotBytes` (kept
    /// by the caller, such as a QR code's SVG) in the raw slot `slot`. For a small page one copy
    /// costs less than writing it out in pieces: a memcpy per piece, into a buffer a worker reuses.
    func fill(_ values: [String], slot: Int, slotBytes: [UInt8], into out: inout [UInt8]) {
        out.removeAll(keepingCapacity: true)
        // Room for every slot's value escaped (at most 6 bytes a byte), so the buffer never grows.
        let longestValue = values.reduce(0) { max($0, $1.utf8.count) }
        out.reserveCapacity(chunkByteCount + slotBytes.count + 6 * longestValue * slots.count)
        walk(values, separating: slot) { piece in
            switch piece {
            case .chunk(let i): out += chunkBytes[i]
            case .value(let text): out.appendUTF8(text)
            case .slot: out += slotBytes
            }
        }
    }

    /// The page filled, as bytes in two parts around the raw slot `slot` (whose value is sent
    /// separately: the cached report).
    func fill(_ values: [String], splittingAt slot: Int) -> (before: [UInt8], after: [UInt8]) {
        // Each side reserved whole (its chunks, and every value escaped at worst): filled without growing.
        let split = slots.firstIndex(of: slot) ?? slots.count
        let chunksBefore = chunkBytes[...split].reduce(0) { $0 + $1.count }
        let valueRoom = 6 * values.reduce(0) { $0 + $1.utf8.count }
        var before: [UInt8] = [], after: [UInt8] = []
        before.reserveCapacity(chunksBefore + valueRoom)
        after.reserveCapacity(chunkByteCount - chunksBefore + valueRoom)
        var passed = false
        walk(values, separating: slot) { piece in
            switch piece {
            case .chunk(let i): if passed { after += chunkBytes[i] } else { before += chunkBytes[i] }
            case .value(let text): if passed { after.appendUTF8(text) } else { before.appendUTF8(text) }
            case .slot: passed = true
            }
        }
        return (before, after)
    }

    /// One piece of the filled page, in order: a frozen chunk (by index, so a caller can keep
    /// something made from it once, such as its compressed form), an escaped value, or the slot
    /// whose value the caller sends itself.
    enum Piece: Equatable { case chunk(Int), value(String), slot }

    /// The frozen chunks, for making something from each once.
    var chunkTexts: [String] { chunks }

    /// The one walk under `parts`, `fill` and the gzip body: the pieces in order, handed to `visit` as
    /// they come (no list is built); empty values are left out, as they add nothing.
    @inline(__always)
    func walk(_ values: [String], separating slot: Int, _ visit: (Piece) -> Void) {
        for i in chunks.indices {
            visit(.chunk(i))
            guard i < slots.count else { continue }
            let s = slots[i]
            if s == slot { visit(.slot); continue }
            guard s < values.count, !values[s].isEmpty else { continue }
            visit(.value(rawSlots & (1 << UInt64(s)) != 0 ? values[s] : Self.escape(values[s])))
        }
    }

    static func escape(_ s: String) -> String {
        var s = s   // withUTF8 is mutating; a native string is not copied
        guard s.withUTF8({ $0.contains { $0 == 0x26 || $0 == 0x3c || $0 == 0x3e || $0 == 0x22 || $0 == 0x27 } }) else { return s }
        var out = ""
        for c in s.unicodeScalars {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }
}
