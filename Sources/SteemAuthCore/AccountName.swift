/// Account names as the chain allows them: 3–16 characters, dot-separated segments of at least 3
/// characters each, every segment `[a-z][a-z0-9-]*` not ending in `-`. A name from a node that breaks
/// this rule proves the node is lying or broken, so nothing from outside is trusted as a name
/// until it passes here.
public enum AccountName {
    public static func isValid(_ name: String) -> Bool {
        let b = Array(name.utf8)
        guard (3...16).contains(b.count) else { return false }
        for segment in b.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false) {
            guard segment.count >= 3, let first = segment.first, first >= 0x61, first <= 0x7a,
                  let last = segment.last, last != UInt8(ascii: "-"),
                  segment.allSatisfy({ ($0 >= 0x61 && $0 <= 0x7a) || ($0 >= 0x30 && $0 <= 0x39) || $0 == UInt8(ascii: "-") })
            else { return false }
        }
        return true
    }

    /// Splits names into the valid ones (in order) and the invalid ones.
    public static func partition(_ names: [String]) -> (valid: [String], invalid: [String]) {
        var valid: [String] = [], invalid: [String] = []
        valid.reserveCapacity(names.count)
        for n in names { if isValid(n) { valid.append(n) } else { invalid.append(n) } }
        return (valid, invalid)
    }
}
