import SteemAuthAdapters
import SteemAuthCore

/// The pages frozen once, each in the variants it is shown in.
enum FrozenVariant: Int, CaseIterable {
    /// The ask page: without or with the watcher's lag, each without or with an application
    /// waiting for the login.
    case ask, askLag, askApp, askLagApp
    /// The report page: without or with a proof (a transfer's, a signature's), each without or
    /// with the watcher's lag.
    case report, reportLag, reportProof, reportProofLag, reportSigned, reportSignedLag

    static func ask(lag: Bool, app: Bool) -> Self { Self(rawValue: ask.rawValue + (lag ? 1 : 0) + (app ? 2 : 0))! }
    static func report(proof: BindingProof.Method?, lag: Bool) -> Self {
        let shown = proof.map { $0 == .signature ? 4 : 2 } ?? 0
        return Self(rawValue: report.rawValue + shown + (lag ? 1 : 0))!
    }

    private var isAsk: Bool { rawValue < Self.report.rawValue }
    /// Within each page the variants alternate without and with the lag.
    var showsLag: Bool { (rawValue - (isAsk ? Self.ask : Self.report).rawValue) % 2 == 1 }
    var showsApp: Bool { isAsk && rawValue - Self.ask.rawValue >= 2 }
    var proofMethod: BindingProof.Method? {
        guard !isAsk else { return nil }
        switch (rawValue - Self.report.rawValue) / 2 { case 1: return .transfer; case 2: return .signature; default: return nil }
    }
}
