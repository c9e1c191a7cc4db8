import FastCGIKit
import FoundationEssentials
import SteemAuthAdapters
import SteemAuthCore

/// The logged-in side: the report page, report.json and .csv, verify (for auth_request), refresh
/// and unfollow, and the report's computation, one request at a time per account.
final class ReportRoutes: SiteRoom {
    let site: Site
    let pages: Pages
    let reports: ReportCache

    init(site: Site, pages: Pages, reports: ReportCache) { self.site = site; self.pages = pages; self.reports = reports }

    /// The logged-in page: the frame filled per request around the cached report list. For a client
    /// that takes gzip, the list's deflate segment was compressed once when the report was cached;
    /// only the small frame is compressed here, and the parts join into one gzip member.
    func reportPage(account: String, proof: BindingProof?, view: SessionView, gzip: Bool, extra: [(String, String)]) throws(HTTPFailure) -> Response {
        var listHTML: [any ResponseBytes]? = nil, listSegment: DeflateSegment? = nil
        if let page = view.cachedPage {
            listHTML = [CachedPagePart(reply: page)]
        } else if let cached = view.cachedReport {
            if view.cachedReportIsDeflate, let segment = DeflateSegment(stored: cached) { listSegment = segment }
            else { listHTML = [cached] }
        } else {
            switch reports.computeAndCache(account: account) {
            case .success(let fresh): listHTML = [Array(fresh.html.utf8)]; listSegment = fresh.segment
            case .failure(let failure): throw reportFailure(failure, face: .page).adding(extra)
            }
        }
        let variant = FrozenVariant.report(proof: proof?.method, lag: view.behindSeconds != nil)
        let page = pages.frozenPage(variant)
        var values = [String](repeating: "", count: ReportSlot.allCases.count)
        values[ReportSlot.account.rawValue] = account
        values[ReportSlot.behindSeconds.rawValue] = view.behindSeconds.map { String(Int($0)) } ?? ""
        values[ReportSlot.transactionID.rawValue] = proof?.transactionID ?? ""
        values[ReportSlot.block.rawValue] = proof.map { String($0.block) } ?? ""
        values[ReportSlot.time.rawValue] = proof?.time ?? ""
        values[ReportSlot.publicKey.rawValue] = proof?.publicKey ?? ""
        if gzip {
            // A cache from before gzip: compressed here.
            let list = listSegment ?? (listHTML?.first ?? [UInt8]()).withUnsafeBytes { pages.deflate.segment($0, final: false) }
            let body = pages.gzipBody(variant, values: values, slot: ReportSlot.list.rawValue, slotSegment: list)
            return Response(status: 200, prepared: site.gzipPageHeaders, headers: extra, body: body)
        }
        let (before, after) = page.fill(values, splittingAt: ReportSlot.list.rawValue)
        // The cached list goes out as Redis gave it, between the frame's two parts.
        return Response(status: 200, prepared: site.pageHeaders, headers: extra,
                        bodyParts: [before] + (listHTML ?? []) + [after])
    }

    /// A report that cannot be shown now, in the words of the endpoint's face (the page, report.json
    /// and report.csv say it each their own way); every one says when to retry.
    func reportFailure(_ failure: ReportService.Failure, face: FailureFace) -> HTTPFailure {
        let retry = failure.retryAfterSeconds
        switch (failure, face) {
        case (.busy, .page):
            return HTTPFailure(503, "Your report is being prepared", message: "Another request of yours is fetching this report from the chain. This page shows it in a moment.",
                               retryLink: "/steemauth", retryAfterSeconds: 2, refreshSeconds: 2)
        case (.busy, .json): return HTTPFailure(503, "the report is being computed", retryAfterSeconds: 2)
        case (.busy, _): return HTTPFailure(503, "the report is being computed: try again in a moment", retryAfterSeconds: 2)
        case (.deadline, .page):
            return HTTPFailure(504, "The chain is slow", message: "Your report took too long to fetch from the chain: the nodes failed, retry in \(retry) s.",
                               retryLink: "/steemauth", retryAfterSeconds: retry)
        case (.nodes, .page):
            return HTTPFailure(502, "The chain cannot be reached", message: "None of the chain nodes answered: the nodes failed, retry in \(retry) s.",
                               retryLink: "/steemauth", retryAfterSeconds: retry)
        case (.recentlyFailed(let seconds), .page):
            return HTTPFailure(503, "The chain nodes failed", message: "Your report could not be fetched from the chain moments ago: the nodes failed, retry in \(seconds) s.",
                               retryLink: "/steemauth", retryAfterSeconds: seconds)
        case (.recentlyFailed(let seconds), .json): return HTTPFailure(503, "the nodes failed, retry in \(seconds) s", retryAfterSeconds: retry)
        case (.deadline, .json): return HTTPFailure(504, "the report took too long", retryAfterSeconds: retry)
        case (_, .json): return HTTPFailure(502, "no chain node answered", retryAfterSeconds: retry)
        case (.deadline, _): return HTTPFailure(504, "the nodes failed, retry in \(retry) s", retryAfterSeconds: retry)
        case (.recentlyFailed, _): return HTTPFailure(503, "the nodes failed, retry in \(retry) s", retryAfterSeconds: retry)
        default: return HTTPFailure(502, "the nodes failed, retry in \(retry) s", retryAfterSeconds: retry)
        }
    }

    func reportJSON(_ request: Request) throws(HTTPFailure) -> Response {
        guard let id = signer.sessionID(cookieHeader: request.cookie) else { throw .notLoggedIn }
        let view: SessionView, replacement: SessionID
        do { (view, replacement) = try lookUp(id, .report) } catch { throw storeDown(error) }
        let account: String, rotated: Bool
        switch view.state {
        case .bound(let a, _): account = a; rotated = false
        case .rotated(let a, _): account = a; rotated = true
        default: throw .notLoggedIn
        }
        let extra = rotated ? [("Set-Cookie", setCookie(replacement))] : []
        switch reports.report(of: account, cached: view.cachedReport) {
        case .success(let report):
            let body = (try? JSONEncoder().encode(ReportDocument(report: report, behindSeconds: view.behindSeconds))) ?? Data()
            return json(200, String(decoding: body, as: UTF8.self), extra: extra)
        case .failure(let failure): throw reportFailure(failure, face: .json).adding(extra)
        }
    }

    /// For nginx `auth_request`: 200 with the account for a bound session, else 401. Never rotates.
    func verify(_ request: Request) throws(HTTPFailure) -> Response {
        guard let id = signer.sessionID(cookieHeader: request.cookie) else { throw .notLoggedIn }
        let view: SessionView
        do { (view, _) = try lookUp(id, .verify) } catch { throw storeDown(error) }
        guard case .bound(let account, _) = view.state else { throw .notLoggedIn }
        return Response(status: 200, prepared: site.verifyHeaders, headers: [("X-SteemAuth-Account", account)], body: [])
    }

    /// Drops the cached report (at most once a minute per account) and goes back to the page.
    func refresh(_ request: Request) throws(HTTPFailure) -> Response {
        try refuseCrossOrigin(request)
        if let id = signer.sessionID(cookieHeader: request.cookie) {
            do {
                let (view, _) = try lookUp(id, .verify)
                if case .bound(let account, _) = view.state, try reportCache.requestRefresh(account: account) == false {
                    logger.info("refresh ignored: less than a minute since the last one", metadata: ["account": "\(account)"])
                }
            } catch { throw storeDown(error) }
        }
        return Response(status: 303, headers: sessionHeaders + [("Location", "/steemauth")])
    }

    /// The signer's page for one `follow` custom_json that unfollows (`what: []`), for visitors without
    /// Keychain. Names are valid chain names; the JSON is URL-encoded.
    func unfollowURL(follower: String, following: String) -> String {
        let base = config.chain == .steem ? "https://steemlogin.com/sign/custom-json" : "https://hivesigner.com/sign/custom-json"
        let json = FollowOperation.unfollowJSON(follower: follower, following: following)
        return base + "?authority=posting&required_auths=" + FormURLEncoded.encode("[]") + "&required_posting_auths="
            + FormURLEncoded.encode("[\"\(follower)\"]") + "&id=follow&json=" + FormURLEncoded.encode(json)
    }

    /// `GET /steemauth/unfollow?account=<name>`: the no-Keychain unfollow control. Sends a logged-in
    /// visitor on to the signer's page for that one op (rows stay small: the long link is made here).
    func unfollow(_ request: Request) throws(HTTPFailure) -> Response {
        guard let name = request.queryValue("account"), AccountName.isValid(name) else {
            throw HTTPFailure(400, "Not an account", message: "That is not an account name.", retryLink: "/steemauth")
        }
        guard let id = signer.sessionID(cookieHeader: request.cookie) else { return Response(status: 303, headers: sessionHeaders + [("Location", "/steemauth")]) }
        do {
            let (view, _) = try lookUp(id, .verify)
            guard case .bound(let account, _) = view.state else { return Response(status: 303, headers: sessionHeaders + [("Location", "/steemauth")]) }
            return Response(status: 303, headers: sessionHeaders + [("Location", unfollowURL(follower: account, following: name))])
        } catch { throw storeDown(error) }
    }

    /// `GET /steemauth/report.csv`: the stale and never-posted follows as a spreadsheet.
    func reportCSV(_ request: Request) throws(HTTPFailure) -> Response {
        guard let id = signer.sessionID(cookieHeader: request.cookie) else { throw .notLoggedIn }
        let view: SessionView, replacement: SessionID
        do { (view, replacement) = try lookUp(id, .report) } catch { throw storeDown(error) }
        let account: String, extra: [(String, String)]
        switch view.state {
        case .bound(let a, _): account = a; extra = []
        case .rotated(let a, _): account = a; extra = [("Set-Cookie", setCookie(replacement))]
        default: throw .notLoggedIn
        }
        switch reports.report(of: account, cached: view.cachedReport) {
        case .success(let report):
            return Response(status: 200, contentType: "text/csv; charset=utf-8", body: StaleReportCSV.text(report),
                            headers: sessionHeaders + [("Content-Disposition", "attachment; filename=\"stale-follows-\(report.account).csv\""),
                                                       ("X-Content-Type-Options", "nosniff")] + extra)
        case .failure(let failure): throw reportFailure(failure, face: .plainText).adding(extra)
        }
    }
}
