import FoundationEssentials

/// What an authorize request asks for, once `client_id` and `redirect_uri` are known to be good.
public struct AuthorizationRequest: Equatable, Sendable {
    public enum Prompt: Equatable, Sendable { case normal, login, none }
    public var client: OIDCClient
    public var pending: PendingAuthorization
    public var prompt: Prompt
    public var maxAge: Int?
    /// `acr_values` naming `active`: only an active-level proof gets a code.
    public var requiredLevel: ProofLevel

    /// How an authorize request is refused: before the redirect URI is trusted only a page can say
    /// so; after, the error goes back to the client (RFC 6749 §4.1.2.1).
    public enum Refusal: Error, Equatable, Sendable {
        case page(String)
        case redirect(uri: String, error: String, description: String, state: String?)
    }

    /// Parses and checks an authorize request: `client_id` and an exactly registered
    /// `redirect_uri` first, then the rest.
    public static func parse(query: String, clients: OIDCClientRegistry, now: Int64, lifetime: Int) -> Result<AuthorizationRequest, Refusal> {
        guard let pairs = FormURLEncoded.parse(query) else { return .failure(.page("The request's parameters are not validly encoded.")) }
        let first = Dictionary(pairs, uniquingKeysWith: { a, _ in a })
        guard let clientID = first["client_id"], !clientID.isEmpty else { return .failure(.page("The request names no client (client_id).")) }
        guard let client = clients[clientID] else { return .failure(.page("The application that sent you here is not registered with this login service.")) }
        guard pairs.filter({ $0.0 == "client_id" || $0.0 == "redirect_uri" }).count <= 2,
              let redirect = first["redirect_uri"] else {
            return .failure(.page("The request gives no single return address (redirect_uri)."))
        }
        // Exact string comparison, no normalisation (but a loopback port): the only safe redirect URI check.
        guard client.allowsRedirect(redirect) else {
            return .failure(.page("The return address in the request is not one registered for \(client.displayName)."))
        }
        let state = first["state"]
        func refuse(_ error: String, _ description: String) -> Result<AuthorizationRequest, Refusal> {
            .failure(.redirect(uri: redirect, error: error, description: description, state: state))
        }
        guard let params = FormURLEncoded.unique(pairs) else { return refuse("invalid_request", "a parameter appears more than once") }
        if params["request"] != nil { return refuse("request_not_supported", "request objects are not supported") }
        if params["request_uri"] != nil { return refuse("request_uri_not_supported", "request_uri is not supported") }
        guard params["response_type"] == "code" else {
            return refuse("unsupported_response_type", "only response_type=code (the authorization code flow) is supported")
        }
        if let mode = params["response_mode"], mode != "query" { return refuse("invalid_request", "only response_mode=query is supported") }
        let scopes = (params["scope"] ?? "").split(separator: " ").map(String.init)
        guard scopes.contains("openid") else { return refuse("invalid_scope", "the scope must include openid") }
        let challenge = params["code_challenge"]
        if let method = params["code_challenge_method"] {
            guard method == "S256" else { return refuse("invalid_request", "code_challenge_method must be S256 (plain is not accepted)") }
            guard challenge != nil else { return refuse("invalid_request", "code_challenge_method without code_challenge") }
        }
        if let challenge {
            guard params["code_challenge_method"] == "S256" else { return refuse("invalid_request", "code_challenge_method must be S256 (plain is not accepted)") }
            guard PKCE.isWellFormed(challenge) else { return refuse("invalid_request", "code_challenge is not 43 to 128 base64url characters") }
        } else if client.requirePKCE {
            return refuse("invalid_request", "a PKCE code_challenge (S256) is required")
        }
        let prompts = Set((params["prompt"] ?? "").split(separator: " ").map(String.init))
        if prompts.contains("none") && prompts.count > 1 { return refuse("invalid_request", "prompt=none cannot be combined with other values") }
        var maxAge: Int? = nil
        if let text = params["max_age"] {
            guard let value = Int(text), value >= 0 else { return refuse("invalid_request", "max_age is not a number of seconds") }
            maxAge = value
        }
        if let nonce = params["nonce"], nonce.utf8.count > 512 { return refuse("invalid_request", "nonce is longer than 512 bytes") }
        if let state, state.utf8.count > 1024 { return refuse("invalid_request", "state is longer than 1024 bytes") }
        let acrValues = (params["acr_values"] ?? "").split(separator: " ")
        let pending = PendingAuthorization(clientID: client.clientID, redirectURI: redirect,
                                           scope: scopes.filter { $0 == "openid" || $0 == "profile" }.joined(separator: " "),
                                           state: state, nonce: params["nonce"], codeChallenge: challenge,
                                           expiresAt: now + Int64(lifetime))
        return .success(AuthorizationRequest(client: client, pending: pending,
                                             prompt: prompts.contains("none") ? .none : prompts.contains("login") ? .login : .normal,
                                             maxAge: maxAge, requiredLevel: acrValues.contains("active") ? .active : .posting))
    }

    /// What this request needs of the browser's login (`binding`: when it was proven and at what
    /// level; nil when the browser is not logged in here).
    public func outcome(binding: (authTime: Int64, level: ProofLevel)?, now: Int64) -> AuthorizationOutcome {
        guard let binding else { return .proofNeeded }
        // max_age=0 asks for a proof made for this request (as prompt=login), whatever the clock says.
        let tooOld = maxAge.map { $0 == 0 || now - binding.authTime > Int64($0) } ?? false
        if prompt == .login || tooOld || !binding.level.satisfies(requiredLevel) { return .freshProofNeeded }
        return client.needsConsent ? .consentNeeded : .code
    }
}

/// What an authorization does with the browser's login. A GET never ends a login: a fresh proof is
/// asked for beside it, and the login stays valid for everything else until that proof binds.
public enum AuthorizationOutcome: Equatable, Sendable {
    case code               // a confidential client and a login that meets the request
    case consentNeeded      // the login meets it, but the visitor must click to allow this client
    case proofNeeded        // not logged in here
    case freshProofNeeded   // logged in, but prompt=login, max_age or acr_values ask for a new proof
}
