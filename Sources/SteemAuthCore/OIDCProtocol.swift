import FoundationEssentials

/// `application/x-www-form-urlencoded` (query strings and token request bodies): name/value pairs,
/// in order, percent-decoded with `+` as a space. Malformed escapes make the whole form invalid.
public enum FormURLEncoded {
    public static func parse(_ text: String) -> [(String, String)]? {
        var out: [(String, String)] = []
        for pair in text.split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = decode(kv[0]), let value = decode(kv.count > 1 ? kv[1] : "") else { return nil }
            out.append((name, value))
        }
        return out
    }

    /// `+` is a space, `%XX` a byte; the result must be UTF-8.
    public static func decode(_ s: Substring) -> String? {
        var out: [UInt8] = []
        out.reserveCapacity(s.utf8.count)
        var bytes = s.utf8.makeIterator()
        while let b = bytes.next() {
            switch b {
            case UInt8(ascii: "+"): out.append(0x20)
            case UInt8(ascii: "%"):
                guard let hi = bytes.next().flatMap(hexValue), let lo = bytes.next().flatMap(hexValue) else { return nil }
                out.append(hi << 4 | lo)
            default: out.append(b)
            }
        }
        return String(validating: out, as: UTF8.self)
    }

    private static func hexValue(_ b: UInt8) -> UInt8? {
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return b - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return b - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return b - UInt8(ascii: "A") + 10
        default: return nil
        }
    }

    /// Percent-encodes all but RFC 3986's unreserved characters.
    public static func encode(_ s: String) -> String {
        var out = ""
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.unicodeScalars.append(UnicodeScalar(b))
            default:
                let hex = Array("0123456789ABCDEF".utf8)
                out.unicodeScalars.append("%")
                out.unicodeScalars.append(UnicodeScalar(hex[Int(b >> 4)]))
                out.unicodeScalars.append(UnicodeScalar(hex[Int(b & 0xf)]))
            }
        }
        return out
    }

    /// The form as a dictionary, or nil when a parameter appears twice (OAuth 2.0 §3.1 forbids it).
    public static func unique(_ pairs: [(String, String)]) -> [String: String]? {
        var out: [String: String] = [:]
        for (k, v) in pairs {
            if out[k] != nil { return nil }
            out[k] = v
        }
        return out
    }

    /// `base` with `params` added to its query (a redirect URI may carry a query of its own).
    public static func appending(_ params: [(String, String)], to base: String) -> String {
        let query = params.map { encode($0.0) + "=" + encode($0.1) }.joined(separator: "&")
        return base + (base.contains("?") ? "&" : "?") + query
    }
}

/// base64url without padding (RFC 7515 §2), over Foundation's base64.
public enum Base64URL {
    public static func encode(_ bytes: [UInt8]) -> String {
        let standard = Data(bytes).base64EncodedString().utf8
        return String(decoding: standard.compactMap { b -> UInt8? in
            b == UInt8(ascii: "+") ? UInt8(ascii: "-") : b == UInt8(ascii: "/") ? UInt8(ascii: "_") : b == UInt8(ascii: "=") ? nil : b
        }, as: UTF8.self)
    }

    public static func decode(_ text: String) -> [UInt8]? {
        guard text.utf8.allSatisfy({ isAlphabet($0) }) else { return nil }
        var standard = text.utf8.map { $0 == UInt8(ascii: "-") ? UInt8(ascii: "+") : $0 == UInt8(ascii: "_") ? UInt8(ascii: "/") : $0 }
        while standard.count % 4 != 0 { standard.append(UInt8(ascii: "=")) }
        return Data(base64Encoded: Data(standard)).map { Array($0) }
    }

    public static func isAlphabet(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "-"), UInt8(ascii: "_"): return true
        default: return false
        }
    }
}

/// RFC 7636's syntax: a verifier or an S256 challenge is 43 to 128 unreserved characters.
public enum PKCE {
    public static func isWellFormed(_ s: String) -> Bool {
        (43...128).contains(s.utf8.count) && s.utf8.allSatisfy { Base64URL.isAlphabet($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "~") }
    }

    /// Whether `verifier` answers `challenge` (S256): the caller passes SHA-256 (from the crypto adapter).
    public static func verifies(verifier: String, challenge: String, sha256: ([UInt8]) -> [UInt8]) -> Bool {
        guard isWellFormed(verifier) else { return false }
        return Base64URL.encode(sha256(Array(verifier.utf8))) == challenge
    }
}

/// How much authority a proof showed, the ID token's `acr`: a transfer needs the active key, and a
/// signature shows the role of the key that made it (owner counts as active).
public enum ProofLevel: String, Codable, Equatable, Sendable {
    case posting, active

    public static func of(signatureRole role: String) -> ProofLevel { role == "posting" ? .posting : .active }

    /// A session's stored level; a binding older than the field is judged by its method (a signature
    /// could have been a posting key's).
    public static func stored(_ level: String?, method: String) -> ProofLevel {
        if let level, let known = ProofLevel(rawValue: level) { return known }
        return method == "signature" ? .posting : .active
    }

    public func satisfies(_ required: ProofLevel) -> Bool { required == .posting || self == .active }
}

/// A validated authorization request, kept with the visitor's session until they prove the account.
public struct PendingAuthorization: Codable, Equatable, Sendable {
    public var clientID: String
    public var redirectURI: String
    public var scope: String
    public var state: String?
    public var nonce: String?
    public var codeChallenge: String?
    /// Unix seconds after which the request is dropped (the login code's lifetime).
    public var expiresAt: Int64

    enum CodingKeys: String, CodingKey {
        case clientID = "client_id", redirectURI = "redirect_uri", scope, state, nonce
        case codeChallenge = "code_challenge", expiresAt = "exp"
    }
}

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

/// What a one-time authorization code stands for (kept in Redis for 60 s under the code's hash).
public struct AuthorizationGrant: Codable, Equatable, Sendable {
    public var clientID: String
    public var redirectURI: String
    public var scope: String
    public var nonce: String?
    public var codeChallenge: String?
    public var account: String
    public var chain: String
    public var method: String
    public var authTime: Int64
    public var level: ProofLevel
    /// The login (session id) the code came from: its logout or revocation ends the access tokens.
    public var session: String

    enum CodingKeys: String, CodingKey {
        case clientID = "client_id", redirectURI = "redirect_uri", scope, nonce, codeChallenge = "code_challenge"
        case account, chain, method = "amr", authTime = "auth_time", level = "acr", session = "sid"
    }

    public init(pending: PendingAuthorization, account: String, chain: String, method: String, authTime: Int64,
                level: ProofLevel, session: String) {
        clientID = pending.clientID; redirectURI = pending.redirectURI; scope = pending.scope; nonce = pending.nonce
        codeChallenge = pending.codeChallenge; self.account = account; self.chain = chain; self.method = method; self.authTime = authTime
        self.level = level; self.session = session
    }
}

/// What an access token stands for (kept in Redis for its lifetime under the token's hash).
public struct AccessGrant: Codable, Equatable, Sendable {
    public var account: String
    public var chain: String
    public var clientID: String
    public var scope: String

    enum CodingKeys: String, CodingKey { case account = "sub", chain, clientID = "client_id", scope }
    public init(account: String, chain: String, clientID: String, scope: String) {
        self.account = account; self.chain = chain; self.clientID = clientID; self.scope = scope
    }
}

/// The ID token's claims (OpenID Connect Core §2). `sub` is the account name: on these chains a
/// name is never reassigned, so it is a stable identifier.
public struct IDTokenClaims: Codable, Equatable, Sendable {
    public var iss: String
    public var sub: String
    public var aud: String
    public var exp: Int64
    public var iat: Int64
    public var authTime: Int64
    public var nonce: String?
    public var azp: String
    public var preferredUsername: String
    public var chain: String
    public var amr: [String]
    /// `active` (a transfer, or an active or owner key's signature) or `posting` (a posting key's).
    public var acr: String?

    enum CodingKeys: String, CodingKey {
        case iss, sub, aud, exp, iat, authTime = "auth_time", nonce, azp, preferredUsername = "preferred_username", chain, amr, acr
    }

    public init(issuer: String, grant: AuthorizationGrant, now: Int64, lifetime: Int) {
        iss = issuer; sub = grant.account; aud = grant.clientID; exp = now + Int64(lifetime); iat = now
        authTime = grant.authTime; nonce = grant.nonce; azp = grant.clientID
        preferredUsername = grant.account; chain = grant.chain
        amr = [grant.method == "signature" ? "signature" : "transfer"]
        acr = grant.level.rawValue
    }
}

/// The userinfo answer: who the token's holder is, and where their profile is.
public struct UserInfo: Codable, Equatable, Sendable {
    public var sub: String
    public var preferredUsername: String
    public var chain: String
    public var profile: String

    enum CodingKeys: String, CodingKey { case sub, preferredUsername = "preferred_username", chain, profile }
    public init(grant: AccessGrant, frontend: String) {
        sub = grant.account; preferredUsername = grant.account; chain = grant.chain; profile = frontend + "/@" + grant.account
    }
}

/// The provider's paths (discovery names them) and its discovery document.
public enum OIDCEndpoints {
    public static let discovery = "/.well-known/openid-configuration"
    public static let authorize = "/steemauth/oidc/authorize"
    public static let token = "/steemauth/oidc/token"
    public static let userinfo = "/steemauth/oidc/userinfo"
    public static let jwks = "/steemauth/oidc/jwks.json"
    public static let endSession = "/steemauth/oidc/logout"
    /// The consent page's form (a same-origin POST) and the fresh-proof page's status poll.
    public static let consent = "/steemauth/oidc/consent"
    public static let freshStatus = "/steemauth/oidc/fresh"
    /// The fresh-proof page's Cancel (a same-origin POST): the login stays, the app gets `access_denied`.
    public static let cancel = "/steemauth/oidc/cancel"

    public struct Discovery: Codable, Equatable, Sendable {
        var issuer: String
        var authorization_endpoint: String
        var token_endpoint: String
        var userinfo_endpoint: String
        var jwks_uri: String
        var end_session_endpoint: String
        var response_types_supported = ["code"]
        var response_modes_supported = ["query"]
        var grant_types_supported = ["authorization_code"]
        var subject_types_supported = ["public"]
        var id_token_signing_alg_values_supported = ["RS256"]
        var scopes_supported = ["openid", "profile"]
        var token_endpoint_auth_methods_supported = ["client_secret_basic", "client_secret_post", "none"]
        var code_challenge_methods_supported = ["S256"]
        var claims_supported = ["iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "azp", "amr", "acr",
                                "preferred_username", "chain", "profile"]
        var acr_values_supported = ["posting", "active"]
        var prompt_values_supported = ["none", "login"]
        var authorization_response_iss_parameter_supported = true
        var request_parameter_supported = false
        var request_uri_parameter_supported = false
        var claims_parameter_supported = false
    }

    public static func discovery(issuer: String) -> Discovery {
        Discovery(issuer: issuer, authorization_endpoint: issuer + authorize, token_endpoint: issuer + token,
                  userinfo_endpoint: issuer + userinfo, jwks_uri: issuer + jwks, end_session_endpoint: issuer + endSession)
    }

    /// An issuer is an origin: https (or http on loopback), no path, query, fragment or trailing slash.
    public static func issuerProblem(_ issuer: String) -> String? {
        guard let parts = URLParts(issuer), parts.scheme == "https" || parts.scheme == "http" else {
            return "is not an absolute https URL such as https://login.example.org"
        }
        if issuer.hasSuffix("/") { return "must not end with a slash" }
        if !parts.path.isEmpty || issuer.contains("?") || issuer.contains("#") || issuer.contains("@") {
            return "must be scheme://host[:port] only (the endpoints live at fixed paths under it)"
        }
        if parts.scheme == "http" && !parts.isLoopbackHost { return "must be https (plain http only on loopback)" }
        return nil
    }
}
