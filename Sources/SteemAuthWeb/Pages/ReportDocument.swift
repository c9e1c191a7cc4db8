import SteemAuthCore

/// report.json: the cached report plus the live lag.
struct ReportDocument: Encodable {
    let report: StaleReport
    let behindSeconds: Double?
    enum Keys: String, CodingKey { case behindSeconds = "behind_seconds" }
    func encode(to encoder: any Encoder) throws {
        try report.encode(to: encoder)
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(behindSeconds, forKey: .behindSeconds)
    }
}
