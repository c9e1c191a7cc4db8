/// Chain timestamps: `"2018-09-16T22:06:48"`, UTC without a zone. Parsed by hand (no Foundation
/// formatter on the hot path). `1970-01-01T00:00:00` means "never".
public struct ChainTime: Comparable, Hashable, Sendable, Codable, CustomStringConvertible {
    public let secondsSinceEpoch: Int64

    public init(secondsSinceEpoch: Int64) { self.secondsSinceEpoch = secondsSinceEpoch }

    public var isNever: Bool { secondsSinceEpoch <= 0 }

    public init?(_ text: String) {
        var b = Array(text.utf8)
        if b.last == UInt8(ascii: "Z") { b.removeLast() }      // tolerate an explicit UTC marker
        if b.count > 19, b[19] == UInt8(ascii: ".") { b = Array(b[0..<19]) }  // and fractions
        guard b.count == 19, b[4] == 0x2d, b[7] == 0x2d, b[10] == UInt8(ascii: "T"), b[13] == 0x3a, b[16] == 0x3a,
              let y = Self.number(b[0..<4]), let mo = Self.number(b[5..<7]), let d = Self.number(b[8..<10]),
              let h = Self.number(b[11..<13]), let mi = Self.number(b[14..<16]), let s = Self.number(b[17..<19]),
              (1...12).contains(mo), (1...31).contains(d), h < 24, mi < 60, s < 61
        else { return nil }
        secondsSinceEpoch = Self.daysFromCivil(y, mo, d) * 86400 + Int64(h * 3600 + mi * 60 + s)
    }

    public var description: String {
        var out = [UInt8](); out.reserveCapacity(19)
        write(to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// For people: `2018-09-16 22:06:48 UTC`.
    public var displayUTC: String {
        var out = [UInt8](); out.reserveCapacity(23)
        write(to: &out)
        if let t = out.firstIndex(of: UInt8(ascii: "T")) { out[t] = UInt8(ascii: " ") }
        out.append(contentsOf: " UTC".utf8)
        return String(decoding: out, as: UTF8.self)
    }

    /// The description's bytes, appended (the status route writes them straight into its JSON).
    public func write(to out: inout [UInt8]) {
        let days = secondsSinceEpoch >= 0 ? secondsSinceEpoch / 86400 : (secondsSinceEpoch - 86399) / 86400
        let rest = secondsSinceEpoch - days * 86400
        let (y, m, d) = Self.civilFromDays(days)
        var yearWidth = 4, big: Int64 = 10_000
        while y >= big { yearWidth += 1; big *= 10 }
        // Bytes, not interpolation: this runs on every status poll (the challenge's expiry). Written
        // right to left on the stack, then appended in one copy.
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: yearWidth + 15) { text in
            var at = text.count
            /// The lowest `width` digits of `v` (zero-padded; below zero writes zeros).
            func digits(_ v: Int64, _ width: Int) {
                var v = max(0, v)
                for _ in 0..<width { at -= 1; text[at] = UInt8(ascii: "0") + UInt8(v % 10); v /= 10 }
            }
            func byte(_ b: UInt8) { at -= 1; text[at] = b }
            digits(rest % 60, 2); byte(UInt8(ascii: ":")); digits(rest % 3600 / 60, 2); byte(UInt8(ascii: ":"))
            digits(rest / 3600, 2); byte(UInt8(ascii: "T")); digits(d, 2); byte(UInt8(ascii: "-")); digits(m, 2)
            byte(UInt8(ascii: "-")); digits(y, yearWidth)
            assert(at == 0, "every byte written")
            out.append(contentsOf: UnsafeBufferPointer(text))
        }
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        guard let t = ChainTime(try c.decode(String.self)) else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "bad chain time")
        }
        self = t
    }
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
    public static func < (a: ChainTime, b: ChainTime) -> Bool { a.secondsSinceEpoch < b.secondsSinceEpoch }

    private static func number(_ s: ArraySlice<UInt8>) -> Int? {
        var v = 0
        for c in s { guard c >= 0x30, c <= 0x39 else { return nil }; v = v * 10 + Int(c - 0x30) }
        return v
    }

    // Howard Hinnant's days_from_civil / civil_from_days.
    static func daysFromCivil(_ y0: Int, _ m: Int, _ d: Int) -> Int64 {
        let y = Int64(m <= 2 ? y0 - 1 : y0)
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = Int64(m > 2 ? m - 3 : m + 9)
        let doy = (153 * mp + 2) / 5 + Int64(d) - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146097 + doe - 719468
    }
    static func civilFromDays(_ z0: Int64) -> (Int64, Int64, Int64) {
        let z = z0 + 719468
        let era = (z >= 0 ? z : z - 146096) / 146097
        let doe = z - era * 146097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }
}
