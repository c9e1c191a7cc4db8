import FastCGIKit
import FoundationEssentials
import SteemAuthAdapters
import SteemAuthCore

/// The OpenID Connect routes a relying party calls (token, userinfo) and the RP-initiated logout.
extension OIDCRoutes {
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
