@_spi(Testing) import FastCGIKit
import FoundationEssentials
import Logging
import SteemAuthAdapters
import SteemAuthCore
import SteemAuthTesting
@testable import SteemAuthWeb

/// One worker's app served in this process through FastCGIKit's params reader (`InProcessServer`):
/// the site's real templates, config and cookie signing, on the in-memory stores (`stores`, on a
/// clock that starts now and moves only when a test moves it); no process, no socket.
struct TestSite {
    static let publicOrigin = "https://login.example.org"
    static let host = "login.example.org"
    static let secret = String(repeating: "ab", count: 32)
    static let templatesDirectory: String = {
        var path = #filePath
        for _ in 0..<3 { path = String(path[..<path.lastIndex(of: "/")!]) }
        return path + "/templates"
    }()

    var server: InProcessServer<WebApp>
    let config: AppConfig
    let stores: InMemoryStores

    /// `oidc`: with the OpenID Connect provider on (a fixture key, one public and one confidential client).
    /// `environment`: more STEEMAUTH_* settings.
    init(oidc: Bool = false, metrics: PoolMetrics? = nil, environment: [String: String] = [:]) throws {
        var env = ["STEEMAUTH_ACCOUNT": "steemauth.demo", "STEEMAUTH_SECRET": Self.secret, "STEEMAUTH_PUBLIC_ORIGIN": Self.publicOrigin]
        if oidc { env.merge(try Self.oidcFiles()) { $1 } }
        env.merge(environment) { $1 }
        config = try AppConfig.load(environment: env)
        let templates = try SiteTemplates.load(directory: Self.templatesDirectory)
        let provider = try config.oidc.map { files throws(ConfigError) in try OIDCProvider.load(files) }
        let clock = TestClock(unixSeconds: SystemClock().unixSeconds)
        let stores = InMemoryStores(clock: clock, prefix: config.redisPrefix, chain: config.chain,
                                    lifetimes: SessionLifetimes(config))
        self.stores = stores
        server = InProcessServer(handler: WebApp(config: config, templates: templates, logger: Logger(label: "route-tests"),
                                                 metrics: metrics, oidc: provider,
                                                 stores: WebStores(sessions: stores.sessions, reportCache: stores.reportCache,
                                                                   authorizations: stores.authorizations, health: stores.health),
                                                 clock: clock))
    }

    /// A request as nginx passes it: the site's own host, a browser's usual params, then `params`
    /// (which win).
    mutating func request(_ method: String, _ path: String, query: String = "", cookie: String? = nil, origin: String? = nil,
                          host: String = TestSite.host, params: [(String, String)] = [], body: [UInt8] = []) -> ServedResponse {
        var all: [(String, String)] = [("REQUEST_METHOD", method), ("DOCUMENT_URI", path), ("QUERY_STRING", query),
                                       ("HTTP_HOST", host), ("REMOTE_ADDR", "192.0.2.7"), ("REQUEST_ID", "0123456789abcdef0123456789abcdef")]
        if let cookie { all.append(("HTTP_COOKIE", cookie)) }
        if let origin { all.append(("HTTP_ORIGIN", origin)) }
        all = params + all    // the first of a name is the one read
        return server.serve(all, body: body)
    }

    mutating func get(_ path: String, query: String = "", cookie: String? = nil, host: String = TestSite.host) -> ServedResponse {
        request("GET", path, query: query, cookie: cookie, host: host)
    }

    /// A POST from a page of this site (its Origin is the public origin).
    mutating func post(_ path: String, cookie: String? = nil, origin: String? = TestSite.publicOrigin, contentType: String? = nil,
                       body: String = "") -> ServedResponse {
        request("POST", path, cookie: cookie, origin: origin, params: contentType.map { [("CONTENT_TYPE", $0)] } ?? [], body: Array(body.utf8))
    }

    /// A new visitor's signed session cookie, as `/` sets it (`name=value`).
    mutating func newSessionCookie() -> String {
        let setCookie = get("/").header("Set-Cookie") ?? ""
        return String(setCookie.prefix { $0 != ";" })
    }

    static func oidcFiles() throws -> [String: String] {
        let dir = FileManager.default.temporaryDirectory.path + "/steemauth-route-tests-\(ProcessInfo.processInfo.processIdentifier)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try Data(fixtureKey.utf8).write(to: URL(fileURLWithPath: dir + "/oidc-key.pem"))
        let clients = #"[{"client_id":"cli","redirect_uris":["http://127.0.0.1:8765/callback"],"token_endpoint_auth_method":"none"},"#
            + #"{"client_id":"gitea","client_secret":"gitea-secret-0123456789abcdef","client_name":"Gitea","#
            + #""redirect_uris":["https://git.example.org/user/oauth2/steem/callback"],"token_endpoint_auth_method":"client_secret_post"}]"#
        try Data(clients.utf8).write(to: URL(fileURLWithPath: dir + "/clients.json"))
        return ["STEEMAUTH_OIDC_ISSUER": publicOrigin, "STEEMAUTH_OIDC_CLIENTS": dir + "/clients.json", "STEEMAUTH_OIDC_KEY": dir + "/oidc-key.pem"]
    }

    /// A 2048-bit RSA key made for these tests only (it signs nothing outside them).
    static let fixtureKey = """
-----BEGIN PRIVATE KEY-----
MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQCbTTkyssfefLth
0/mEjpZdgnJXAgemtrgRR1SKdEByTD/OFaL8FKbXcdoxiGAmXyECjIifQRUkw3zZ
UuFo2HiL3OZGBsGzxCcM/pzrL/O+eINPXwATbE7a8sz4XVoCHQPAfEZlcpVNqxmJ
bb7EjmK6jLJPIb/7hNZgEaShrRdFSnl6eYJejCmbFQHD8Z5G43/1EX27XNVs9e0B
WEEI5vDW7DmcyEMML5Bk16/vSBNDypCJAT8yamBqOtopGY/9FOtSC4ZUMBA0as8f
dknhKcWJ/dxAXakpEcLQsD9aEmUrHDuCpXl696fC5otfv7zGi2CF1ZVKnr0dr+Ig
k8fosHGFAgMBAAECggEAAlzEcePm0Zis+AdpBwNtQEsPnAkM8+lZIkgnE3vCZDVf
4226/uHTNOPyOVPVVJgYsN4m5jdE+qbE84BaK0W0YGTx6smdBjPwZ8ydYfV8MXRK
A7nSpDj+97/URDM//y1mT8tZfcm7rC9eB366yr4jZyo55yVrXciEQ04EEVfdoAFE
gr0KU3XOjx7QehsteJON5s130FI0PSA7XZ9VHJjYNC6dRFq59vulqa/GXIbLLEhs
b0N5qSwFSEogFJUV+UwTHVb+GZvwY+DcO5SFKexiGNp0531qgf2OINjhjdvoSYdS
SFEu2O4yl+p0pYhzf3CN32K6kekMhc5jm51Dibo0+QKBgQDYhGGPKS7RanffH3EL
rII8UOnmTGd8pVZqbOxkR6m+cOcNG+cvdoSv2YJJuuLKxoXT4homsVR2dlfH04iQ
feyqudPg/LOA7Z3w5jXeU0e5PugNku6550muO/khr0hhb+D9QZ1jbfXHIH8Oh2pl
Swy1cVGRcFoml2y9KkHEIAu7nQKBgQC3nyKRphraFL3Z7T3Z54+OfW8ZfQjY++ND
MIrqtDJbEl/KpwO0SFKyJoQaAonILke9vPIdSAKENHN2/HA4pDrUA9mMEH64n8dM
D2pM1t0vZEIlDw9zkk/6dL4IJFjcOSjuWzC+0cirxTVVQlz+qRVYpN7uRIyXrKdm
nUoUTmltCQKBgFp+IcRS4xV1mToxCu9lH12UN94gKtSGyfJbKgXTiddlmrv44IwO
zfAtSW4FZQp5JK/k/ScU0IdeeNu0xowVhVfpqOuM0n1dUri/jt4oEn8TEquxsIMU
btAaksqIVwkaWH+g7+YBrEqYg2IQKODDGEGxZfUSbytX+IOraKdO+XhlAoGBAKMq
aZF7RMkdPUb1pcyIE+zOUXcYwE/wJJaEAC1nSofa3/w4RPZiffmIeEKUltKnLWDR
EWQrpPDNmvzUfPQYG55ifWIVFkYA1RwlZpQ5Kfr+4DgGFfjgvukT6/lYMw4eTNzh
c4Nc7zCT4TyN6AzzOuC2QNMBXt04sthgVH+O3efhAoGBAMTm5uoeQ5K39y7nZTZ+
GTD67sViCZ5KRw2s224dY8gn2YCHmZZBUJPJBt6ar3OhhjKyEnwXsdKYvm8BWBG4
VsJMazd35fMIyn8d9tSZnI6D8poWavSDMdfPDiXA4JfwF2iRnwXajqB/qWdqshHT
xnEtEWz25BoKGeXHHRX7B254
-----END PRIVATE KEY-----
"""
}
