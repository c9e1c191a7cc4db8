/// CSV as RFC 4180 writes it, guarded against formula injection: a cell that a spreadsheet would
/// read as a formula (starting with `=`, `+`, `-`, `@`, a tab or a carriage return) is prefixed
/// with `'` (OWASP's advice), and a cell with a comma, quote or line break is quoted.
public enum CSVText {
    public static func row(_ cells: [String]) -> String {
        cells.map(cell).joined(separator: ",") + "\r\n"
    }

    public static func cell(_ raw: String) -> String {
        var value = raw
        if let first = value.unicodeScalars.first, ["=", "+", "-", "@", "\t", "\r"].contains(first) { value = "'" + value }
        guard value.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return value }
        return "\"" + value.replacing("\"", with: "\"\"") + "\""
    }
}
