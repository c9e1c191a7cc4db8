/// An amount of a chain asset, kept as an integer in the asset's own precision (never a float).
public struct Asset: Equatable, Sendable, Codable, CustomStringConvertible {
    /// What the asset is, independent of the chain's name for it (STEEM and HIVE are both `.core`).
    public enum Kind: Equatable, Hashable, Sendable {
        case core, debt, vests
        case other(String)

        public static func fromSymbol(_ s: String) -> Kind {
            switch s {
            case "STEEM", "HIVE", "TESTS": return .core
            case "SBD", "HBD", "TBD": return .debt
            case "VESTS": return .vests
            default: return .other(s)
            }
        }
        public static func fromNAI(_ nai: String) -> Kind? {
            switch nai {
            case "@@000000021": return .core
            case "@@000000013": return .debt
            case "@@000000037": return .vests
            default: return nil
            }
        }
        public var nai: String? {
            switch self {
            case .core: return "@@000000021"
            case .debt: return "@@000000013"
            case .vests: return "@@000000037"
            case .other: return nil
            }
        }
    }

    public var units: Int64        // amount × 10^precision
    public var precision: Int
    public var kind: Kind
    public var symbol: String      // as written on the wire; for NAI, the chain-neutral kind name

    public init(units: Int64, precision: Int, kind: Kind, symbol: String) {
        self.units = units; self.precision = precision; self.kind = kind; self.symbol = symbol
    }

    /// The amount in thousandths (0.001 = 1), rounded down; what the matcher compares.
    public var milliUnits: Int64 {
        if precision == 3 { return units }
        if precision > 3 {
            var d: Int64 = 1
            for _ in 0..<(precision - 3) { d *= 10 }
            return units / d
        }
        var m: Int64 = 1
        for _ in 0..<(3 - precision) { m *= 10 }
        let (r, overflow) = units.multipliedReportingOverflow(by: m)
        return overflow ? Int64.max : r
    }

    /// Legacy string form: `"0.001 STEEM"`. Strict: digits, one optional dot, one space, a symbol.
    public static func parseLegacy(_ text: String) -> Asset? {
        let parts = text.split(separator: " ", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[1].isEmpty, parts[1].utf8.count <= 16,
              parts[1].utf8.allSatisfy({ $0 >= 0x41 && $0 <= 0x5a }) else { return nil }
        let number = parts[0]
        let pieces = number.split(separator: ".", omittingEmptySubsequences: false)
        guard pieces.count <= 2, !pieces[0].isEmpty else { return nil }
        let fraction = pieces.count == 2 ? pieces[1] : ""
        guard pieces.count == 1 || !fraction.isEmpty, fraction.utf8.count <= 12 else { return nil }
        guard let units = parseDigits(String(pieces[0]) + String(fraction)) else { return nil }
        let symbol = String(parts[1])
        return Asset(units: units, precision: fraction.utf8.count, kind: .fromSymbol(symbol), symbol: symbol)
    }

    /// NAI object form: `{"amount":"1","precision":3,"nai":"@@000000021"}`.
    public static func fromNAI(amount: String, precision: Int, nai: String) -> Asset? {
        guard (0...12).contains(precision), let units = parseDigits(amount) else { return nil }
        let kind = Kind.fromNAI(nai) ?? .other(nai)
        return Asset(units: units, precision: precision, kind: kind, symbol: nai)
    }

    public var description: String {
        var digits = String(units)
        if precision == 0 { return "\(digits) \(symbol)" }
        while digits.count <= precision { digits = "0" + digits }
        let cut = digits.index(digits.endIndex, offsetBy: -precision)
        return "\(digits[..<cut]).\(digits[cut...]) \(symbol)"
    }

    private static func parseDigits(_ s: String) -> Int64? {
        guard !s.isEmpty, s.utf8.count <= 18, s.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        return Int64(s)
    }

    // MARK: Codable: either wire form
    private enum NAIKeys: String, CodingKey { case amount, precision, nai }

    public init(from decoder: any Decoder) throws {
        if let single = try? decoder.singleValueContainer(), let text = try? single.decode(String.self) {
            guard let a = Asset.parseLegacy(text) else {
                throw DecodingError.dataCorruptedError(in: single, debugDescription: "bad asset string")
            }
            self = a
            return
        }
        let c = try decoder.container(keyedBy: NAIKeys.self)
        let amount: String
        if let s = try? c.decode(String.self, forKey: .amount) { amount = s } else { amount = String(try c.decode(Int64.self, forKey: .amount)) }
        guard let a = Asset.fromNAI(amount: amount, precision: try c.decode(Int.self, forKey: .precision),
                                    nai: try c.decode(String.self, forKey: .nai)) else {
            throw DecodingError.dataCorruptedError(forKey: .amount, in: c, debugDescription: "bad NAI asset")
        }
        self = a
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}
