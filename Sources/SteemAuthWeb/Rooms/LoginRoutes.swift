import FastCGIKit
import SteemAuthAdapters
import SteemAuthCore

/// The login itself: the front door, the ask page (and the report page once bound), the status
/// poll, logout, and the page that explains cookies.
final class LoginRoutes: SiteRoom {
    let site: Site
    let pages: Pages
    let report: ReportRoutes
    let oidc: OIDCRoutes?
    /// The front door's redirect, made once (a new visitor's adds a Set-Cookie to its headers).
    let homeRedirect = Response.fixed(status: 302, prepared: PreparedHeaders(Site.sessionHeaders + [("Location", "/steemauth")]), body: [])

    init(site: Site, pages: Pages, report: ReportRoutes, oidc: OIDCRoutes?) {
        self.site = site; self.pages = pages; self.report = report; self.oidc = oidc
    }

    /// `GET /`: no Redis I/O at all; a new signed id when the visitor has none.
    func home(_ request: Request) -> Response {
        if signer.sessionID(cookieHeader: request.cookie) != nil { return homeRedirect }
        return Response(status: 302, prepared: homeRedirect.prepared, setCookie: newCookie(), body: [])
    }

    func page(_ request: Request) throws(HTTPFailure) -> Response {
        guard let id = signer.sessionID(cookieHeader: request.cookie) else { return restartSession(request) }
        let view: SessionView, replacement: SessionID
        let hint = frozenPages.sessions[id]
        do {
            (view, replacement) = try withFreshValuesIfAsked(id) { replacementID, freshMemo throws(RedisError) in
                try store.viewPage(id: id, gzip: request.acceptsGzip, bound: hint?.bound, unboundCode: hint?.unboundCode,
                                   replacementID: replacementID, freshMemo: freshMemo, now: clock.unixSeconds)
            }
        } catch { throw storeDown(error) }
        remember(view.state, id: id, replacement: replacement, hint: hint, proofRead: true)
        switch view.state {
        case .denied, .none:
            return restartSession(request)
        case .unbound(let memo, let expiresIn):
            if view.createdSession { waitForReplica() }
            return pages.askPage(memo: memo, expiresIn: expiresIn, behind: view.behindSeconds, forApp: oidc?.waitingClientName(view.oidcPending),
                                 gzip: request.acceptsGzip)
        case .bound(let account, let proof):
            if view.oidcPending != nil, let onward = try oidc?.continueAuthorization(request, sessionID: id, extra: []) { return onward }
            return try report.reportPage(account: account, proof: proof, view: view, gzip: request.acceptsGzip, extra: [])
        case .rotated(let account, let proof):
            logger.info("session rotated after binding", metadata: ["account": "\(account)"])
            let extra = [("Set-Cookie", setCookie(replacement))]
            if view.oidcPending != nil {
                // The old id is already denied: a failure here still carries the new one, or the browser would be logged out.
                do throws(HTTPFailure) {
                    if let onward = try oidc?.continueAuthorization(request, sessionID: replacement, extra: extra) { return onward }
                } catch { throw error.adding(extra) }
            }
            return try report.reportPage(account: account, proof: proof, view: view, gzip: request.acceptsGzip, extra: extra)
        }
    }

    func status(_ request: Request) throws(HTTPFailure) -> Response {
        guard let id = signer.sessionID(cookieHeader: request.cookie) else { throw .noSession }
        let view: SessionView, replacement: SessionID
        let hint = frozenPages.sessions[id]
        do { (view, replacement) = try lookUp(id, .status, unboundCode: hint?.unboundCode) } catch { throw storeDown(error) }
        remember(view.state, id: id, replacement: replacement, hint: hint, proofRead: false)
        let behind = JSONText.optionalNumber(view.behindSeconds)
        switch view.state {
        case .denied, .none:
            throw .noSession
        case .unbound(let memo, let expiresIn):
            // Written as bytes: every unbound visitor polls this route.
            var body = [UInt8](); body.reserveCapacity(320)
            body.appendLiteral(#"{"bound":false,"account":null,"memo":"#); body.appendJSONString(memo)
            body.appendLiteral(#","expires_in":"#); body.appendDecimal(Int64(expiresIn))
            body.appendLiteral(#","behind_seconds":"#); body.appendUTF8(behind)
            // The exact text a wallet signs to log in by signature (it changes whenever the code does).
            body.appendLiteral(#","challenge":"#)
            SignInChallenge.appendJSONString(host: publicOrigin.host, code: memo,
                                             expiresAt: view.codeExpiresAt ?? clock.unixSeconds + Int64(expiresIn), to: &body)
            body.append(UInt8(ascii: "}"))
            return json(200, bytes: body)
        case .bound(let account, _):
            return json(200, #"{"bound":true,"account":\#(JSONText.string(account)),"memo":null,"expires_in":null,"behind_seconds":\#(behind)}"#)
        case .rotated(let account, _):
            return json(200, #"{"bound":true,"account":\#(JSONText.string(account)),"memo":null,"expires_in":null,"behind_seconds":\#(behind)}"#,
                        extra: [("Set-Cookie", setCookie(replacement))])
        }
    }

    func logout(_ request: Request) throws(HTTPFailure) -> Response {
        try refuseCrossOrigin(request)
        if let id = signer.sessionID(cookieHeader: request.cookie) {
            do {
                if case .ended(let account) = try store.logout(id: id, denyTTL: config.boundTTL) {
                    logger.info("logout", metadata: ["account": "\(account ?? "-")"])
                }
            } catch { throw storeDown(error) }
        }
        return Response(status: 303, headers: sessionHeaders + [("Location", "/"), ("Set-Cookie", newCookie())])
    }

    /// No session (or one that ended): a new cookie, and one redirect to check the browser keeps it;
    /// still none after it, the page that explains cookies.
    func restartSession(_ request: Request) -> Response {
        if request.queryValue("c") == "1" {
            return html(200, templates.render("cookies", ["chainName": chainName]), extra: [("Set-Cookie", newCookie())])
        }
        return Response(status: 302, headers: sessionHeaders + [("Location", "/steemauth?c=1"), ("Set-Cookie", newCookie())])
    }

    /// Keeps what this request learned of the session for its next one (`hint`: what was kept before).
    /// A session still as remembered (most requests) writes nothing. A session is remembered bound
    /// only from a view that read its proof (`proofRead`: a page's, not a status poll's), since a
    /// page served from the memory shows the proof remembered.
    func remember(_ state: SessionView.State, id: SessionID, replacement: SessionID, hint: SessionHint?, proofRead: Bool) {
        switch state {
        case .bound(let account, _) where hint?.bound?.account == account: return
        case .unbound(let memo, _) where hint?.unboundCode == memo: return
        case .denied where hint == nil, .none where hint == nil: return
        case .bound where hint == nil && !proofRead, .rotated where hint == nil && !proofRead: return   // nothing to keep or drop
        default: break
        }
        let hints = frozenPages
        if hints.sessions.count >= 1024 { hints.sessions.removeAll(keepingCapacity: true) }
        switch state {
        case .bound(let account, let proof): hints.sessions[id] = proofRead ? .bound(BoundSessionHint(account: account, proof: proof)) : nil
        case .rotated(let account, let proof):
            hints.sessions[id] = nil
            if proofRead { hints.sessions[replacement] = .bound(BoundSessionHint(account: account, proof: proof)) }
        case .unbound(let memo, _): hints.sessions[id] = .unbound(code: memo)
        case .denied, .none: hints.sessions[id] = nil
        }
    }
}
