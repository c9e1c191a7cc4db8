import FastCGIKit
import FoundationEssentials
import SteemAuthAdapters
import SteemAuthCore

/// The OpenID Connect provider (Core 1.0 authorization code flow, PKCE, Discovery, RP-initiated
/// logout). The proof is the site's own: an authorization waits in the visitor's session until the
/// transfer or signature binds it, then the next load of /steemauth sends the browser on.
final class OIDCRoutes: SiteRoom {
    let site: Site
    let pages: Pages
    let provider: OIDCProvider

    init(site: Site, pages: Pages, provider: OIDCProvider) { self.site = site; self.pages = pages; self.provider = provider }

    func route(_ endpoint: Endpoint, _ request: Request) throws(HTTPFailure) -> Response {
        let oidc = provider
        switch endpoint {
        case .oidcDiscovery: return publicJSON(oidc.discoveryBody)
        case .oidcJWKS: return publicJSON(oidc.jwksBody)
        case .oidcAuthorize: return try authorize(request, oidc, query: request.query)
        case .oidcConsent: return try consent(request, oidc)
        case .oidcFreshStatus: return try freshStatus(request)
        case .oidcCancel: return try cancel(request, oidc)
        case .oidcToken: return try token(request, oidc)
        case .oidcUserinfo: return try userinfo(request, oidc)
        case .oidcEndSession: return try endSession(request, oidc)
        default: preconditionFailure("not an OpenID Connect endpoint: \(endpoint)")
        }
    }

    // MARK: authorize

    /// A GET never ends a login and never gives a code a click should have: it answers a code (a
    /// confidential client, a login that meets the request), the consent page (the login meets it,
    /// the client needs a click), or parks the request until a proof binds — a first one, or a fresh
    /// one beside a login that stays valid meanwhile. `prompt=none` only reads.
    func authorize(_ request: Request, _ oidc: OIDCProvider, query: String, consented: Bool = false) throws(HTTPFailure) -> Response {
        let ask: AuthorizationRequest
        switch AuthorizationRequest.parse(query: query, clients: oidc.clients, now: clock.unixSeconds, lifetime: config.codeTTL) {
        case .success(let parsed): ask = parsed
        case .failure(.page(let reason)):
            logger.warning("oidc: authorization refused", metadata: ["reason": "\(reason)"])
            throw HTTPFailure(400, "This login request cannot be used", message: reason + " Go back to the application and start again.")
        case .failure(.redirect(let uri, let error, let description, let state)):
            logger.info("oidc: authorization refused", metadata: ["error": "\(error)", "reason": "\(description)"])
            return authorizationError(oidc, uri: uri, error: error, description: description, state: state)
        }
        let id = signer.sessionID(cookieHeader: request.cookie)
        let now = clock.unixSeconds
        var state = AuthorizationSessionState.none
        if let id {
            do { state = try authorizations.authorizationState(id: id, now: now) } catch { throw storeDown(error) }
        }
        var login: (account: String, method: String, authTime: Int64, level: ProofLevel)? = nil
        if case .bound(let account, let method, let authTime, let level) = state { login = (account, method, authTime, level) }
        let outcome = ask.outcome(binding: login.map { ($0.authTime, $0.level) }, now: now)
        let answer: Response?
        do {
            switch (outcome, login, id) {
            case (.code, let login?, let id?):
                answer = try redirectWithCode(oidc, ask.pending, session: id, account: login.account, method: login.method,
                                              authTime: login.authTime, level: login.level, extra: [])
            case (.consentNeeded, let login?, let id?) where consented:     // the click on this site's consent page
                answer = try redirectWithCode(oidc, ask.pending, session: id, account: login.account, method: login.method,
                                              authTime: login.authTime, level: login.level, extra: [])
            case (.consentNeeded, let login?, _):
                answer = ask.prompt == .none ? consentRequired(oidc, ask) : consentPage(oidc, ask.pending, account: login.account, extra: [])
            default:
                let live = state == .denied ? nil : id
                answer = ask.prompt == .none ? loginRequired(oidc, ask) : try park(request, ask, id: live, freshProof: login != nil)
            }
        } catch { throw storeDown(error) }
        guard let answer else {
            throw HTTPFailure(503, "Temporarily unavailable", message: "The login request could not be started. Please try again.")
        }
        return answer
    }

    /// Keeps the request with the session (a new one for a new browser) until a proof binds, tied to
    /// this browser by a new flow cookie, and sends the browser to the page that asks for the proof.
    /// Nil when the session was logged out twice meanwhile.
    func park(_ request: Request, _ ask: AuthorizationRequest, id: SessionID?, freshProof: Bool) throws(RedisError) -> Response? {
        let pending = Array(try! JSONEncoder().encode(ask.pending))
        let flow = Hex.encode(SystemRandom.bytes(16))
        var id = id, setCookieFor: SessionID? = nil
        for _ in 0..<2 {
            if id == nil { id = SystemRandom.sessionID(); setCookieFor = id }
            let freshCode = SystemRandom.loginCode(prefix: config.memoPrefix)
            if try authorizations.parkAuthorization(id: id!, pending: pending, flowHash: OIDCProvider.storageHash(flow), freshProof: freshProof,
                                           level: ask.requiredLevel, expiresAt: ask.pending.expiresAt, freshMemo: freshCode.memo,
                                           now: clock.unixSeconds, unboundTTL: config.unboundTTL, codeTTL: config.codeTTL) {
                logger.info(freshProof ? "oidc: authorization waits for a fresh proof" : "oidc: authorization waits for a proof",
                            metadata: ["client": "\(ask.client.clientID)"])
                var headers = sessionHeaders + [("Location", "/steemauth"), ("Set-Cookie", FlowCookie.setCookie(value: flow, maxAge: config.codeTTL))]
                if let setCookieFor { headers.append(("Set-Cookie", setCookie(setCookieFor))) }
                return Response(status: 302, headers: headers)
            }
            id = nil      // logged out meanwhile: a new session
        }
        return nil
    }

    /// `POST /steemauth/oidc/consent`: the consent page's button, from this site only. Its fields are
    /// the authorization request again; a login that still meets it gets its code.
    func consent(_ request: Request, _ oidc: OIDCProvider) throws(HTTPFailure) -> Response {
        try refuseCrossOrigin(request)
        return try authorize(request, oidc, query: String(decoding: request.body, as: UTF8.self), consented: true)
    }

    /// One click to allow a client the visitor is not known to have asked for: it names the client and
    /// where the browser goes next, and its form POSTs the request back from this site.
    func consentPage(_ oidc: OIDCProvider, _ pending: PendingAuthorization, account: String, extra: [(String, String)]) -> Response {
        let name = oidc.clients[pending.clientID]?.displayName ?? pending.clientID
        var fields = [("response_type", "code"), ("client_id", pending.clientID), ("redirect_uri", pending.redirectURI), ("scope", pending.scope)]
        if let state = pending.state { fields.append(("state", state)) }
        if let nonce = pending.nonce { fields.append(("nonce", nonce)) }
        if let challenge = pending.codeChallenge { fields += [("code_challenge", challenge), ("code_challenge_method", "S256")] }
        let values: [String: Any] = ["chainName": chainName, "clientName": name, "account": account,
                                     "redirectHost": URLParts(pending.redirectURI)?.host ?? pending.redirectURI,
                                     "action": OIDCEndpoints.consent, "hidden": fields.map { ["name": $0.0, "value": $0.1] },
                                     "cancel": accessDeniedURI(oidc, pending)]
        logger.info("oidc: consent asked", metadata: ["client": "\(pending.clientID)", "account": "\(account)"])
        return html(200, templates.render("oidc_consent", values), extra: extra, formLeadsTo: [pending.redirectURI])
    }

    /// Where "Cancel" goes: back to the client with `access_denied`.
    func accessDeniedURI(_ oidc: OIDCProvider, _ pending: PendingAuthorization) -> String {
        var params = [("error", "access_denied"), ("error_description", "the visitor cancelled")]
        if let state = pending.state { params.append(("state", state)) }
        params.append(("iss", oidc.issuer))
        return FormURLEncoded.appending(params, to: pending.redirectURI)
    }

    func loginRequired(_ oidc: OIDCProvider, _ ask: AuthorizationRequest) -> Response {
        authorizationError(oidc, uri: ask.pending.redirectURI, error: "login_required",
                           description: "the visitor has not proved an account here, or not recently or strongly enough", state: ask.pending.state)
    }

    func consentRequired(_ oidc: OIDCProvider, _ ask: AuthorizationRequest) -> Response {
        authorizationError(oidc, uri: ask.pending.redirectURI, error: "consent_required",
                           description: "the visitor must allow this application with a click", state: ask.pending.state)
    }

    func authorizationError(_ oidc: OIDCProvider, uri: String, error: String, description: String, state: String?) -> Response {
        var params = [("error", error), ("error_description", description)]
        if let state { params.append(("state", state)) }
        params.append(("iss", oidc.issuer))
        return Response(status: 302, headers: sessionHeaders + [("Location", FormURLEncoded.appending(params, to: uri))])
    }

    /// A one-time code for the client, and the browser sent back with it (and `iss`: RFC 9207's
    /// defence against mix-up).
    func redirectWithCode(_ oidc: OIDCProvider, _ pending: PendingAuthorization, session: SessionID, account: String, method: String,
                          authTime: Int64, level: ProofLevel, extra: [(String, String)]) throws(RedisError) -> Response {
        let code = OIDCProvider.newToken()
        let grant = AuthorizationGrant(pending: pending, account: account, chain: config.chain.rawValue, method: method, authTime: authTime,
                                       level: level, session: session.hex)
        try authorizations.storeAuthorizationCode(hash: OIDCProvider.storageHash(code), grant: Array(try! JSONEncoder().encode(grant)),
                                         ttl: OIDCProvider.codeLifetime)
        metrics?.count(.oidcCodeIssued)
        logger.notice("oidc: code issued", metadata: ["client": "\(pending.clientID)", "account": "\(account)", "acr": "\(level.rawValue)"])
        var params = [("code", code)]
        if let state = pending.state { params.append(("state", state)) }
        params.append(("iss", oidc.issuer))
        return Response(status: 302, headers: sessionHeaders + [("Location", FormURLEncoded.appending(params, to: pending.redirectURI))] + extra)
    }

    /// The page view of a bound session with a parked authorization. Only the browser that started
    /// it (its flow cookie) continues it: to the client with a code, to the consent page for a client
    /// that needs a click, or to the fresh-proof page while the proof it asked for has not bound.
    /// Nil when there is nothing to continue here: the report page follows.
    func continueAuthorization(_ request: Request, sessionID: SessionID, extra: [(String, String)]) throws(HTTPFailure) -> Response? {
        let oidc = provider
        let flowHash = FlowCookie.value(cookieHeader: request.cookie).map(OIDCProvider.storageHash) ?? ""
        func decoded(_ bytes: [UInt8]) -> PendingAuthorization? { try? JSONDecoder().decode(PendingAuthorization.self, from: Data(bytes)) }
        do {
            switch try authorizations.takeParkedAuthorization(id: sessionID, flowHash: flowHash, freshMemo: SystemRandom.loginCode(prefix: config.memoPrefix).memo,
                                                     now: clock.unixSeconds, codeTTL: config.codeTTL) {
            case .none: return nil
            case .expired(let bytes):
                logger.info("oidc: a waiting authorization expired", metadata: ["client": "\(decoded(bytes)?.clientID ?? "-")"])
                return nil
            case .elsewhere(let bytes):
                logger.warning("oidc: a waiting authorization was started in another browser; it does not continue here",
                               metadata: ["client": "\(decoded(bytes)?.clientID ?? "-")"])
                return nil
            case .freshProof(let account, let code, let codeExpiresAt, let level, let bytes):
                guard let pending = decoded(bytes), let client = oidc.clients[pending.clientID] else { return nil }
                return freshProofPage(client: client, account: account, code: code, codeExpiresAt: codeExpiresAt,
                                      requiredLevel: level, extra: extra)
            case .taken(let account, let method, let authTime, let level, let bytes):
                guard let pending = decoded(bytes) else { return nil }
                // The clients file may have been re-read since (SIGHUP): check again.
                guard let client = oidc.clients[pending.clientID], client.allowsRedirect(pending.redirectURI) else {
                    logger.warning("oidc: a waiting authorization's client or redirect URI is no longer registered",
                                   metadata: ["client": "\(pending.clientID)"])
                    return nil
                }
                let done = extra + [("Set-Cookie", FlowCookie.clear)]
                if client.needsConsent { return consentPage(oidc, pending, account: account, extra: done) }
                return try redirectWithCode(oidc, pending, session: sessionID, account: account, method: method, authTime: authTime,
                                            level: level, extra: done)
            }
        } catch { throw storeDown(error) }
    }

    /// The ask page for a fresh proof, beside a login that stays valid: its own code to pay or sign.
    func freshProofPage(client: OIDCClient, account: String, code: String, codeExpiresAt: Int64, requiredLevel: ProofLevel,
                        extra: [(String, String)]) -> Response {
        var values = pages.askValues(memo: code, expiresMinutes: String(max(1, (codeExpiresAt - clock.unixSeconds + 59) / 60)))
        values["qr"] = pages.payQR(memo: code).svg
        values["clientName"] = client.displayName
        values["loggedInAs"] = account
        values["cancel"] = OIDCEndpoints.cancel
        if requiredLevel == .active { values["activeLevel"] = true; values["signKey"] = "Active" }
        return html(200, templates.render("oidc_fresh", values), extra: extra, formLeadsTo: client.redirectURIs)
    }

    /// `POST /steemauth/oidc/cancel`, the fresh-proof page's Cancel: the authorization this browser
    /// parked is dropped, the login stays as it is, and the app hears `access_denied`.
    func cancel(_ request: Request, _ oidc: OIDCProvider) throws(HTTPFailure) -> Response {
        try refuseCrossOrigin(request)
        var location = "/steemauth"
        if let id = signer.sessionID(cookieHeader: request.cookie) {
            let flowHash = FlowCookie.value(cookieHeader: request.cookie).map(OIDCProvider.storageHash) ?? ""
            do {
                if let bytes = try authorizations.cancelParkedAuthorization(id: id, flowHash: flowHash),
                   let pending = try? JSONDecoder().decode(PendingAuthorization.self, from: Data(bytes)),
                   oidc.clients[pending.clientID]?.allowsRedirect(pending.redirectURI) == true {
                    logger.info("oidc: the visitor cancelled a waiting authorization", metadata: ["client": "\(pending.clientID)"])
                    location = accessDeniedURI(oidc, pending)
                }
            } catch { throw storeDown(error) }
        }
        return Response(status: 303, headers: sessionHeaders + [("Location", location), ("Set-Cookie", FlowCookie.clear)])
    }

    /// `GET /steemauth/oidc/fresh`: the fresh-proof page's poll, shaped as the status route's answer.
    /// `bound` true tells the page to reload: the proof bound, nothing waits, or its code expired
    /// (the reload shows a new one).
    func freshStatus(_ request: Request) throws(HTTPFailure) -> Response {
        guard let id = signer.sessionID(cookieHeader: request.cookie) else { throw .noSession }
        let state: FreshProofState
        do { state = try authorizations.freshProofState(id: id) } catch { throw storeDown(error) }
        switch state {
        case .noSession: throw .noSession
        case .waiting(let account, let code, let expiresIn, let codeExpiresAt) where expiresIn > 0:
            var body = [UInt8]()
            body.appendLiteral(#"{"bound":false,"account":"#); body.appendJSONString(account)
            body.appendLiteral(#","memo":"#); body.appendJSONString(code)
            body.appendLiteral(#","expires_in":"#); body.appendDecimal(Int64(expiresIn))
            body.appendLiteral(#","behind_seconds":null,"challenge":"#)
            SignInChallenge.appendJSONString(host: publicOrigin.host, code: code, expiresAt: codeExpiresAt, to: &body)
            body.append(UInt8(ascii: "}"))
            return json(200, bytes: body)
        case .waiting(let account, _, _, _), .done(let account):
            return json(200, #"{"bound":true,"account":\#(JSONText.string(account)),"memo":null,"expires_in":null,"behind_seconds":null}"#)
        }
    }

    /// The application a waiting authorization is for (shown on the ask page), if still valid.
    func waitingClientName(_ pendingJSON: [UInt8]?) -> String? {
        let oidc = provider
        guard let pendingJSON,
              let pending = try? JSONDecoder().decode(PendingAuthorization.self, from: Data(pendingJSON)),
              pending.expiresAt > clock.unixSeconds else { return nil }
        return oidc.clients[pending.clientID]?.displayName
    }
}
