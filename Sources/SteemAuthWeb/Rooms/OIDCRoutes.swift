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

    // MARK: token

    func token(_ request: Request, _ oidc: OIDCProvider) throws(HTTPFailure) -> Response {
        guard request.contentType?.lowercased().hasPrefix("application/x-www-form-urlencoded") == true else {
            throw tokenError(400, "invalid_request", "send the token request as application/x-www-form-urlencoded")
        }
        guard let pairs = FormURLEncoded.parse(String(decoding: request.body, as: UTF8.self)) else {
            throw tokenError(400, "invalid_request", "the body is not validly form-encoded")
        }
        guard let form = FormURLEncoded.unique(pairs) else { throw tokenError(400, "invalid_request", "a parameter appears more than once") }
        let client: OIDCClient
        switch authenticateClient(request, form, oidc) {
        case .authenticated(let c): client = c
        case .refused(let refusal): throw refusal
        }
        guard form["grant_type"] == "authorization_code" else {
            throw tokenError(400, "unsupported_grant_type", "only grant_type=authorization_code is supported")
        }
        guard let code = form["code"], !code.isEmpty, let redirect = form["redirect_uri"] else {
            throw tokenError(400, "invalid_request", "code and redirect_uri are required")
        }
        let codeHash = OIDCProvider.storageHash(code)
        let grant: AuthorizationGrant
        let redeemed: CodeRedemption
        do { redeemed = try authorizations.redeemAuthorizationCode(hash: codeHash, usedTTL: OIDCProvider.accessTokenLifetime) } catch { throw storeDown(error) }
        do {
            switch redeemed {
            case .unknown: throw invalidGrant(client, "the code is unknown or expired")
            case .replayed:
                metrics?.count(.oidcCodeReplayed)
                logger.warning("oidc: a code was used twice; its access token is revoked", metadata: ["client": "\(client.clientID)"])
                throw tokenError(400, "invalid_grant", "the code was already used")
            case .grant(let bytes):
                guard let decoded = try? JSONDecoder().decode(AuthorizationGrant.self, from: Data(bytes)) else {
                    throw invalidGrant(client, "the code is unknown or expired")
                }
                grant = decoded
            }
        }
        // The code is spent whatever follows: a thief with a wrong verifier gets no second try.
        guard grant.clientID == client.clientID else { throw invalidGrant(client, "the code was issued to another client") }
        guard grant.redirectURI == redirect else { throw invalidGrant(client, "redirect_uri differs from the authorization request's") }
        switch (grant.codeChallenge, form["code_verifier"]) {
        case (let challenge?, let verifier?):
            guard PKCE.verifies(verifier: verifier, challenge: challenge, sha256: OpenSSLDigest.sha256) else {
                throw invalidGrant(client, "code_verifier does not match the code_challenge")
            }
        case (.some, nil): throw invalidGrant(client, "code_verifier is required (the authorization sent a code_challenge)")
        case (nil, .some): throw invalidGrant(client, "code_verifier was sent but the authorization had no code_challenge")
        case (nil, nil): break
        }

        let accessToken = OIDCProvider.newToken()
        let access = AccessGrant(account: grant.account, chain: grant.chain, clientID: client.clientID, scope: grant.scope)
        let stored: Bool
        do {
            stored = try authorizations.storeAccessToken(hash: OIDCProvider.storageHash(accessToken), grant: Array(try! JSONEncoder().encode(access)),
                                                ttl: OIDCProvider.accessTokenLifetime, codeHash: codeHash, session: grant.session,
                                                account: grant.account)
        } catch { throw storeDown(error) }
        guard stored else {
            throw invalidGrant(client, "the login this code came from has ended (logged out, revoked, or replaced by another account's)")
        }
        let idToken = oidc.idToken(IDTokenClaims(issuer: oidc.issuer, grant: grant, now: clock.unixSeconds, lifetime: OIDCProvider.idTokenLifetime))
        metrics?.count(.oidcTokenIssued)
        logger.notice("oidc: tokens issued", metadata: ["client": "\(client.clientID)", "account": "\(grant.account)"])
        let body = #"{"access_token":\#(JSONText.string(accessToken)),"token_type":"Bearer","expires_in":\#(OIDCProvider.accessTokenLifetime),"id_token":\#(JSONText.string(idToken)),"scope":\#(JSONText.string(grant.scope))}"#
        return oidcJSON(200, body)
    }

    /// RFC 6749 §2.3: the client authenticates the way it is registered to, and only that way.
    enum ClientAuthentication { case authenticated(OIDCClient), refused(HTTPFailure) }

    func authenticateClient(_ request: Request, _ form: [String: String], _ oidc: OIDCProvider) -> ClientAuthentication {
        let used: OIDCClient.AuthMethod, clientID: String, secret: String?
        if let header = request.authorization, header.lowercased().hasPrefix("basic ") {
            guard form["client_secret"] == nil else { return .refused(tokenError(400, "invalid_request", "use one client authentication method")) }
            guard let decoded = Data(base64Encoded: String(header.dropFirst(6)).trimmingSpaces).map({ Array($0) }),
                  let colon = decoded.firstIndex(of: UInt8(ascii: ":")),
                  let id = FormURLEncoded.decode(Substring(decoding: decoded[..<colon], as: UTF8.self)),
                  let pass = FormURLEncoded.decode(Substring(decoding: decoded[(colon + 1)...], as: UTF8.self)) else {
                return .refused(invalidClient("the Basic credentials are malformed", basic: true))
            }
            if let bodyID = form["client_id"], bodyID != id { return .refused(invalidClient("client_id differs from the Basic credentials", basic: true)) }
            used = .clientSecretBasic; clientID = id; secret = pass
        } else if let pass = form["client_secret"] {
            used = .clientSecretPost; clientID = form["client_id"] ?? ""; secret = pass
        } else {
            used = .none; clientID = form["client_id"] ?? ""; secret = nil
        }
        guard let client = oidc.clients[clientID] else { return .refused(invalidClient("unknown client", basic: used == .clientSecretBasic)) }
        guard client.authMethod == used else {
            return .refused(invalidClient("this client authenticates with \(client.authMethod.rawValue)", basic: used == .clientSecretBasic || client.authMethod == .clientSecretBasic))
        }
        if used != .none {
            guard let expected = client.clientSecret, Hex.constantTimeEqual(Array((secret ?? "").utf8), Array(expected.utf8)) else {
                logger.warning("oidc: wrong client secret", metadata: ["client": "\(client.clientID)"])
                return .refused(invalidClient("wrong client secret", basic: used == .clientSecretBasic))
            }
        }
        return .authenticated(client)
    }

    func invalidClient(_ description: String, basic: Bool) -> HTTPFailure {
        metrics?.count(.oidcRefused)
        return tokenError(401, "invalid_client", description, extra: basic ? [("WWW-Authenticate", #"Basic realm="steemauth""#)] : [])
    }

    func invalidGrant(_ client: OIDCClient, _ description: String) -> HTTPFailure {
        logger.warning("oidc: token refused", metadata: ["client": "\(client.clientID)", "reason": "\(description)"])
        return tokenError(400, "invalid_grant", description)
    }

    /// An RFC 6749 error (rendered by the OAuth JSON face).
    func tokenError(_ status: Int, _ error: String, _ description: String, extra: [(String, String)] = []) -> HTTPFailure {
        if status != 401 { metrics?.count(.oidcRefused) }
        return HTTPFailure(status, description, headers: extra, oauthError: error)
    }

    func publicJSON(_ body: [UInt8]) -> Response {
        Response(status: 200, headers: [("Content-Type", "application/json"), ("Cache-Control", "public, max-age=300"),
                                        ("Access-Control-Allow-Origin", "*"), ("X-Content-Type-Options", "nosniff")], body: body)
    }

    // MARK: userinfo

    func userinfo(_ request: Request, _ oidc: OIDCProvider) throws(HTTPFailure) -> Response {
        guard let header = request.authorization, header.lowercased().hasPrefix("bearer ") else {
            throw HTTPFailure(401, "a Bearer access token is required", headers: [("WWW-Authenticate", #"Bearer realm="steemauth""#)],
                              oauthError: "invalid_request")
        }
        let token = String(header.dropFirst(7)).trimmingSpaces
        func invalid() -> HTTPFailure {
            metrics?.count(.oidcRefused)
            return HTTPFailure(401, "the access token is unknown or expired", headers: [
                ("WWW-Authenticate", #"Bearer realm="steemauth", error="invalid_token", error_description="the access token is unknown or expired""#)],
                               oauthError: "invalid_token")
        }
        guard !token.isEmpty, token.utf8.count <= 256, token.utf8.allSatisfy(Base64URL.isAlphabet) else { throw invalid() }
        let stored: [UInt8]?
        do throws(RedisError) { stored = try authorizations.accessGrant(hash: OIDCProvider.storageHash(token)) } catch { throw storeDown(error) }
        guard let stored, let grant = try? JSONDecoder().decode(AccessGrant.self, from: Data(stored)) else { throw invalid() }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return oidcJSON(200, String(decoding: try! encoder.encode(UserInfo(grant: grant, frontend: config.frontend)), as: UTF8.self))
    }

    // MARK: end session (RP-initiated logout)

    /// GET shows a confirmation (a cross-site link must not log anyone out); its form POSTs back
    /// here from this site, which logs out and returns to the client's registered address.
    func endSession(_ request: Request, _ oidc: OIDCProvider) throws(HTTPFailure) -> Response {
        let raw = request.method == "POST" ? String(decoding: request.body, as: UTF8.self) : request.query
        guard let params = FormURLEncoded.parse(raw).flatMap(FormURLEncoded.unique) else {
            throw HTTPFailure(400, "This logout request cannot be used", message: "Its parameters are not validly encoded.")
        }
        var clientID = params["client_id"]
        if let hint = params["id_token_hint"], !hint.isEmpty {
            guard let claims = oidc.verifiedClaims(hint), claims.iss == oidc.issuer else {
                throw HTTPFailure(400, "This logout request cannot be used", message: "Its id_token_hint was not issued here.")
            }
            if let clientID, clientID != claims.aud {
                throw HTTPFailure(400, "This logout request cannot be used", message: "Its client_id and id_token_hint disagree.")
            }
            clientID = claims.aud
        }
        var returnTo: String? = nil
        if let uri = params["post_logout_redirect_uri"] {
            guard let clientID, let client = oidc.clients[clientID], client.postLogoutRedirectURIs.contains(uri) else {
                throw HTTPFailure(400, "This logout request cannot be used", message: "Its return address is not registered for the application (post_logout_redirect_uris).")
            }
            returnTo = params["state"].map { FormURLEncoded.appending([("state", $0)], to: uri) } ?? uri
        }
        if request.method == "GET" {
            let hidden = ["client_id": clientID, "post_logout_redirect_uri": params["post_logout_redirect_uri"], "state": params["state"]]
                .compactMap { k, v in v.map { ["name": k, "value": $0] } }
            var values: [String: Any] = ["chainName": chainName, "action": OIDCEndpoints.endSession, "hidden": hidden,
                                         "cancel": returnTo ?? "/steemauth"]
            if let name = clientID.flatMap({ oidc.clients[$0]?.displayName }) { values["clientName"] = name }
            return html(200, templates.render("oidc_logout", values), formLeadsTo: returnTo.map { [$0] } ?? [])
        }
        try refuseCrossOrigin(request)
        if let id = signer.sessionID(cookieHeader: request.cookie) {
            do {
                if case .ended(let account) = try store.logout(id: id, denyTTL: config.boundTTL) {
                    logger.info("oidc: logout", metadata: ["account": "\(account ?? "-")", "client": "\(clientID ?? "-")"])
                }
            } catch { throw storeDown(error) }
        }
        return Response(status: 303, headers: sessionHeaders + [("Location", returnTo ?? "/"), ("Set-Cookie", newCookie())])
    }
}
