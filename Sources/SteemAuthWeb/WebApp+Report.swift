import FastCGIKit
import FoundationEssentials
import SteemAuthAdapters
import SteemAuthCore

/// The logged-in side: the report page, report.json, verify (for auth_request) and refresh.
extension WebApp {
    /// The logged-in page: the frame filled per request around the cached report list. For a client
    /// that takes gzip, the list's deflate segment was compressed once when the report was cached;
    /// only the small frame is compressed here, and the parts join into one gzip member.
    func reportPage(account: String, proof: BindingProof?, view: SessionView, gzip: Bool, extra: [(String, String)]) -> Response {
        var listHTML: [any ResponseBytes]? = nil, listSegment: DeflateSegment? = nil
        if let page = view.cachedPage {
            listHTML = [CachedPagePart(reply: page)]
        } else if let cached = view.cachedReport {
            if view.cachedReportIsDeflate, let segment = DeflateSegment(stored: cached) { listSegment = segment }
            else { listHTML = [cached] }
        } else {
            switch computeAndCache(account: account) {
            case .success(let fresh): listHTML = [Array(fresh.html.utf8)]; listSegment = fresh.segment
            case .failure(let failure): return reportError(failure, extra: extra)
            }
        }
        let variant = FrozenVariant.report(proof: proof?.method, lag: view.behindSeconds != nil)
        let page = frozenPage(variant)
        let values = [account, "", view.behindSeconds.map { String(Int($0)) } ?? "",
                      proof?.transactionID ?? "", proof.map { String($0.block) } ?? "", proof?.time ?? "", proof?.publicKey ?? ""]
        if gzip {
            // A cache from before gzip: compressed here.
            let list = listSegment ?? (listHTML?.first ?? [UInt8]()).withUnsafeBytes { deflate.segment($0, final: false) }
            let body = gzipBody(variant, values: values, slot: 1, slotSegment: list)
            return Response(status: 200, prepared: gzipPageHeaders, headers: extra, body: body)
        }
        let (before, after) = page.fill(values, splittingAt: 1)
        // The cached list goes out as Redis gave it, between the frame's two parts.
        return Response(status: 200, prepared: pageHeaders, headers: extra,
                        bodyParts: [before] + (listHTML ?? []) + [after])
    }

    /// A frozen page as one gzip member: its chunks compressed once (as well as zlib can),
    /// the request's values as stored blocks, `slotSegment` (compressed once elsewhere: the cached
    /// list, the QR code) in the raw slot `slot`, then the final block.
    func gzipBody(_ variant: FrozenVariant, values: [String], slot: Int, slotSegment: DeflateSegment) -> [UInt8] {
        let page = frozenPage(variant), chunks = compressedChunks(variant)
        // Written into this worker's gzip buffer: the response shares it, and once the response is
        // written and gone the next gzip page is written in place (as `askPage` fills its plain page).
        let scratch = frozenPages
        var buffer: [UInt8] = []
        swap(&buffer, &scratch.gzipBuffer)
        if buffer.capacity > 256 * 1024 { buffer = [] }
        var member = GzipMemberWriter(capacity: chunks.reduce(slotSegment.bytes.count + 256) { $0 + $1.bytes.count }, reusing: consume buffer)
        page.walk(values, separating: slot) { piece in
            switch piece {
            case .chunk(let i): if chunks[i].length > 0 { member.append(chunks[i]) }
            case .value(let text): member.appendUncompressed(text)
            case .slot: member.append(slotSegment)
            }
        }
        member.append(finalDeflateBlock)
        scratch.gzipBuffer = member.finish()
        return scratch.gzipBuffer
    }

    /// The report from the chain, cached as JSON (report.json) and as rendered HTML (the page).
    /// One request at a time computes an account's report: a reload, a second tab or a burst of
    /// requests while it is computed gets `.busy` (a page that retries) instead of holding another
    /// worker on the chain for the same work.
    func computeAndCache(account: String) -> Result<(report: StaleReport, html: String, segment: DeflateSegment), ReportService.Failure> {
        let started = monotonicMilliseconds()
        // The claim outlives the report's deadline a little: a worker killed mid-computation
        // leaves it to expire.
        let token = Hex.encode(SystemRandom.bytes(16))
        var holdsClaim = false
        do {
            switch try store.claimReportComputation(account: account, token: token, milliseconds: Int(config.reportTimeout * 1000) + 5000) {
            case .claimed:
                holdsClaim = true
            case .heldByAnother:
                metrics?.count(.reportBusy)
                logger.info("report being computed by another request", metadata: ["account": "\(account)"])
                return .failure(.busy)
            case .recentlyFailed(let secondsLeft):
                logger.info("report failed moments ago; the nodes are not asked again yet",
                            metadata: ["account": "\(account)", "retry_in_s": "\(secondsLeft)"])
                return .failure(.recentlyFailed(secondsLeft: secondsLeft))
            case .cached(let json, let html, let compressedHTML):
                // Another request cached it after this one read the session.
                if let report = Self.decodedReport(json) {
                    let text = String(decoding: html, as: UTF8.self)
                    return .success((report, text, DeflateSegment(stored: compressedHTML) ?? GzipDeflate(level: 9).segment(text, final: false)))
                }
                logger.warning("cached report unreadable, computing it again", metadata: ["account": "\(account)"])
            }
        } catch {
            // The session was just read from Redis; if the claim cannot be made, compute unclaimed.
            logger.warning("report claim failed, computing without it", metadata: ["account": "\(account)", "error": "\(error)"])
        }
        defer {
            if holdsClaim {
                do { try store.releaseReportComputation(account: account, token: token) }
                catch { logger.warning("report claim not released (it expires)", metadata: ["account": "\(account)", "error": "\(error)"]) }
            }
        }
        defer { if !requestScope.recycleAfter { Worker.releaseFreeMemory() } }
        do {
            let report = try reports.compute(account: account, deadline: monotonicMilliseconds() + Int64(config.reportTimeout * 1000))
            // It touched code and heap that pages never need again (the RPC client, the JSON of
            // thousands of accounts, the list's rendering): a fresh worker takes over after this
            // response. Not after a failure: a node outage must not turn every view into a fork.
            requestScope.recycleAfter = config.recycleAfterReport
            metrics?.count(.reportComputed)
            logger.info("report computed", metadata: ["account": "\(account)", "following": "\(report.followingCount)",
                                                      "stale": "\(report.stale.count)", "ms": "\(monotonicMilliseconds() - started)"])
            let html = templates.render("report_list", listValues(report))
            // Compressed once, as well as zlib can: every gzip view of this report reuses it.
            let segment = GzipDeflate(level: 9).segment(html, final: false)
            if let json = try? JSONEncoder().encode(report) {
                do { try store.cacheReport(account: account, json: Array(json), html: html, compressedHTML: segment.stored, ttl: config.reportTTL) }
                catch { logger.warning("report not cached", metadata: ["error": "\(error)"]) }
            }
            return .success((report, html, segment))
        } catch {
            metrics?.count(.reportFailed)
            logger.error("report failed", metadata: ["account": "\(account)", "error": "\(error)"])
            // Remembered (before the claim is given back): for a while, views of this account say
            // so at once instead of asking the nodes again.
            do { try store.rememberReportFailure(account: account) }
            catch { logger.warning("report failure not remembered", metadata: ["account": "\(account)", "error": "\(error)"]) }
            return .failure(error)
        }
    }

    /// The report from the JSON cached in the same round trip, else from the chain (and cached).
    func report(of account: String, cached: [UInt8]?) -> Result<StaleReport, ReportService.Failure> {
        if let cached, let report = Self.decodedReport(cached) { return .success(report) }
        return computeAndCache(account: account).map(\.report)
    }

    /// A report as cached (report.json's JSON); nil when it cannot be read.
    static func decodedReport(_ json: [UInt8]) -> StaleReport? { try? JSONDecoder().decode(StaleReport.self, from: Data(json)) }

    func reportError(_ failure: ReportService.Failure, extra: [(String, String)]) -> Response {
        switch failure {
        case .busy:
            return htmlError(503, "Your report is being prepared", "Another request of yours is fetching this report from the chain. This page shows it in a moment.",
                             retry: "/steemauth", extra: extra + [("Retry-After", "2")], refreshSeconds: 2)
        case .deadline:
            return htmlError(504, "The chain is slow", "Your report took too long to fetch from the chain: the nodes failed, retry in \(failure.retryAfterSeconds) s.",
                             retry: "/steemauth", extra: extra + [("Retry-After", String(failure.retryAfterSeconds))])
        case .nodes:
            return htmlError(502, "The chain cannot be reached", "None of the chain nodes answered: the nodes failed, retry in \(failure.retryAfterSeconds) s.",
                             retry: "/steemauth", extra: extra + [("Retry-After", String(failure.retryAfterSeconds))])
        case .recentlyFailed(let seconds):
            return htmlError(503, "The chain nodes failed", "Your report could not be fetched from the chain moments ago: the nodes failed, retry in \(seconds) s.",
                             retry: "/steemauth", extra: extra + [("Retry-After", String(seconds))])
        }
    }

    func reportJSON(_ request: Request) -> Response {
        guard let id = signer.sessionID(cookieHeader: request.cookie) else { return json(401, #"{"error":"not logged in"}"#) }
        let view: SessionView, replacement: SessionID
        do { (view, replacement) = try lookUp(id, .report) } catch { return redisDown(error, html: false) }
        let account: String, rotated: Bool
        switch view.state {
        case .bound(let a, _): account = a; rotated = false
        case .rotated(let a, _): account = a; rotated = true
        default: return json(401, #"{"error":"not logged in"}"#)
        }
        let extra = rotated ? [("Set-Cookie", setCookie(replacement))] : []
        let result = report(of: account, cached: view.cachedReport)
        switch result {
        case .success(let report):
            let body = (try? JSONEncoder().encode(ReportDocument(report: report, behindSeconds: view.behindSeconds))) ?? Data()
            return json(200, String(decoding: body, as: UTF8.self), extra: extra)
        case .failure(.busy):
            return json(503, #"{"error":"the report is being computed"}"#, extra: extra + [("Retry-After", "2")])
        case .failure(let failure):
            let retry = extra + [("Retry-After", String(failure.retryAfterSeconds))]
            if case .recentlyFailed(let s) = failure { return json(503, #"{"error":"the nodes failed, retry in \#(s) s"}"#, extra: retry) }
            if case .deadline = failure { return json(504, #"{"error":"the report took too long"}"#, extra: retry) }
            return json(502, #"{"error":"no chain node answered"}"#, extra: retry)
        }
    }

    /// For nginx `auth_request`: 200 with the account for a bound session, else 401. Never rotates.
    func verify(_ request: Request) -> Response {
        guard let id = signer.sessionID(cookieHeader: request.cookie) else { return Response(status: 401, headers: sessionHeaders) }
        do {
            let (view, _) = try lookUp(id, .verify)
            if case .bound(let account, _) = view.state {
                return Response(status: 200, headers: sessionHeaders + [("X-SteemAuth-Account", account)])
            }
            return Response(status: 401, headers: sessionHeaders)
        } catch {
            noteRedisDown(error)
            return Response(status: 503, headers: sessionHeaders)
        }
    }

    /// Drops the cached report (at most once a minute per account) and goes back to the page.
    func refresh(_ request: Request) -> Response {
        if let refused = refuseCrossOrigin(request) { return refused }
        if let id = signer.sessionID(cookieHeader: request.cookie) {
            do {
                let (view, _) = try lookUp(id, .verify)
                if case .bound(let account, _) = view.state, try store.requestRefresh(account: account) == false {
                    logger.info("refresh ignored: less than a minute since the last one", metadata: ["account": "\(account)"])
                }
            } catch { return redisDown(error, html: true) }
        }
        return Response(status: 303, headers: sessionHeaders + [("Location", "/steemauth")])
    }

    func listValues(_ report: StaleReport) -> [String: Any] {
        let link = { (name: String) in config.frontend + "/@" + name }
        let basis = report.basis ?? .lastPost
        var values: [String: Any] = [
            "account": report.account, "basis": basis.rawValue,
            "basisVerb": basis == .lastRootPost ? "posted a top-level post" : "posted",
            "basisNoun": basis == .lastRootPost ? "top-level post" : "post or comment",
            "staleDays": report.staleDays,
            "followingCount": report.followingCount, "staleCount": report.stale.count, "neverCount": report.neverPosted.count,
            "computedAt": ChainTime(report.computedAt)?.displayUTC ?? report.computedAt,
            "stale": report.stale.map { ["name": $0.name, "url": link($0.name), "days": $0.days, "lastPost": String($0.lastPost.prefix(10))] as [String: Any] },
            "never": report.neverPosted.map { ["name": $0, "url": link($0)] },
        ]
        if !report.stale.isEmpty { values["hasStale"] = true }
        if !report.neverPosted.isEmpty { values["hasNever"] = true }
        return values
    }
}

extension WebApp {
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
    func unfollow(_ request: Request) -> Response {
        guard let name = request.queryValue("account"), AccountName.isValid(name) else {
            return htmlError(400, "Not an account", "That is not an account name.", retry: "/steemauth")
        }
        guard let id = signer.sessionID(cookieHeader: request.cookie) else { return Response(status: 303, headers: sessionHeaders + [("Location", "/steemauth")]) }
        do {
            let (view, _) = try lookUp(id, .verify)
            guard case .bound(let account, _) = view.state else { return Response(status: 303, headers: sessionHeaders + [("Location", "/steemauth")]) }
            return Response(status: 303, headers: sessionHeaders + [("Location", unfollowURL(follower: account, following: name))])
        } catch { return redisDown(error, html: true) }
    }

    /// `GET /steemauth/report.csv`: the stale and never-posted follows as a spreadsheet.
    func reportCSV(_ request: Request) -> Response {
        let notLoggedIn = Response(status: 401, contentType: "text/plain; charset=utf-8", body: "not logged in\n", headers: sessionHeaders)
        guard let id = signer.sessionID(cookieHeader: request.cookie) else { return notLoggedIn }
        let view: SessionView, replacement: SessionID
        do { (view, replacement) = try lookUp(id, .report) } catch {
            noteRedisDown(error)
            return Response(status: 503, contentType: "text/plain; charset=utf-8", body: "temporarily unavailable\n", headers: sessionHeaders + [("Retry-After", "2")])
        }
        let account: String, extra: [(String, String)]
        switch view.state {
        case .bound(let a, _): account = a; extra = []
        case .rotated(let a, _): account = a; extra = [("Set-Cookie", setCookie(replacement))]
        default: return notLoggedIn
        }
        let result = report(of: account, cached: view.cachedReport)
        switch result {
        case .success(let report):
            return Response(status: 200, contentType: "text/csv; charset=utf-8", body: StaleReportCSV.text(report),
                            headers: sessionHeaders + [("Content-Disposition", "attachment; filename=\"stale-follows-\(report.account).csv\""),
                                                       ("X-Content-Type-Options", "nosniff")] + extra)
        case .failure(.busy):
            return Response(status: 503, contentType: "text/plain; charset=utf-8", body: "the report is being computed: try again in a moment\n",
                            headers: sessionHeaders + [("Retry-After", "2")] + extra)
        case .failure(let failure):
            let status: Int
            switch failure {
            case .deadline: status = 504
            case .recentlyFailed: status = 503
            default: status = 502
            }
            return Response(status: status, contentType: "text/plain; charset=utf-8",
                            body: "the nodes failed, retry in \(failure.retryAfterSeconds) s\n",
                            headers: sessionHeaders + [("Retry-After", String(failure.retryAfterSeconds))] + extra)
        }
    }
}

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

/// A cached page as Redis sent it, written to the client from hiredis's buffer (no copy).
struct CachedPagePart: ResponseBytes {
    let reply: RedisBulkReply
    var count: Int { reply.count }
    func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R { try reply.withUnsafeBytes(body) }
}
