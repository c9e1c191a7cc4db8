/// The report as CSV: `account,days_since_last_post,last_post`, stale accounts (most stale first)
/// then never-posted ones with empty days and date.
public enum StaleReportCSV {
    public static let header = ["account", "days_since_last_post", "last_post"]

    public static func text(_ report: StaleReport) -> String {
        var out = CSVText.row(header)
        for e in report.stale { out += CSVText.row([e.name, String(e.days), String(e.lastPost.prefix(10))]) }
        for name in report.neverPosted { out += CSVText.row([name, "", ""]) }
        return out
    }
}
