import FoundationEssentials
import SteemAuthAdapters
import SteemAuthCore

/// The OpenID Connect provider's settings, read from the files STEEMAUTH_OIDC_* name: the issuer,
/// the clients, the signing key and the published keys. Loaded at start-up and on SIGHUP; a bad
/// file is a ConfigError naming its key.
public struct OIDCProvider: Sendable {
    public let issuer: String
    public let clients: OIDCClientRegistry
    let signingKey: RSAKey
    let keyID: String
    /// Keys that verify ID tokens: the signing key, then the previous one (rotation), by kid.
    let verifyingKeys: [(kid: String, key: RSAKey)]
    let jwksBody: [UInt8]
    let discoveryBody: [UInt8]

    static let codeLifetime = 60
    static let accessTokenLifetime = 3600
    static let idTokenLifetime = 3600

    public static func load(_ files: AppConfig.OIDCFiles) throws(ConfigError) -> OIDCProvider {
        let clients: OIDCClientRegistry
        do { clients = try OIDCClientRegistry.parse(try read(files.clientsPath, .oidcClients)) } catch let problem as OIDCConfigProblem {
            throw ConfigError(key: .oidcClients, message: "(\(files.clientsPath)) \(problem)")
        } catch let error as ConfigError { throw error } catch { throw ConfigError(key: .oidcClients, message: "\(error)") }
        let key = try loadKey(files.keyPath, .oidcKey, publicOnly: false)
        var published = [(kid: thumbprint(key), key: key)]
        if let path = files.previousKeyPath {
            let previous = try loadKey(path, .oidcPreviousKey, publicOnly: true)
            if thumbprint(previous) != published[0].kid { published.append((thumbprint(previous), previous)) }
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let jwks = JWKSet(keys: published.map { kid, key in
            let (n, e) = key.publicNumbers
            return JWK(kty: "RSA", use: "sig", alg: "RS256", kid: kid, n: Base64URL.encode(n), e: Base64URL.encode(e))
        })
        return OIDCProvider(issuer: files.issuer, clients: clients, signingKey: key, keyID: published[0].kid, verifyingKeys: published,
                            jwksBody: Array(try! encoder.encode(jwks)),
                            discoveryBody: Array(try! encoder.encode(OIDCEndpoints.discovery(issuer: files.issuer))))
    }

    private static func read(_ path: String, _ key: AppConfig.Key) throws(ConfigError) -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else { throw ConfigError(key: key, message: "file \(path) cannot be read") }
        return Array(data)
    }

    private static func loadKey(_ path: String, _ configKey: AppConfig.Key, publicOnly: Bool) throws(ConfigError) -> RSAKey {
        do { return try RSAKey(pem: try read(path, configKey), publicOnly: publicOnly) } catch let error as RSAKey.LoadError {
            throw ConfigError(key: configKey, message: "(\(path)) \(error)")
        } catch let error as ConfigError { throw error } catch { throw ConfigError(key: configKey, message: "\(error)") }
    }

    /// RFC 7638: the SHA-256 of the key's required members in lexicographic order, base64url.
    static func thumbprint(_ key: RSAKey) -> String {
        let (n, e) = key.publicNumbers
        let canonical = #"{"e":"\#(Base64URL.encode(e))","kty":"RSA","n":"\#(Base64URL.encode(n))"}"#
        return Base64URL.encode(OpenSSLDigest.sha256(Array(canonical.utf8)))
    }

    /// A compact JWS (RS256) of the claims.
    func idToken(_ claims: IDTokenClaims) -> String {
        let header = JWSHeader(alg: "RS256", kid: keyID, typ: "JWT")
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        let input = Base64URL.encode(Array(try! encoder.encode(header))) + "." + Base64URL.encode(Array(try! encoder.encode(claims)))
        return input + "." + Base64URL.encode(signingKey.signRS256(Array(input.utf8)))
    }

    /// The claims of an ID token this provider signed (with the current or the previous key), or
    /// nil. Expiry is not checked: an `id_token_hint` may be an expired token.
    func verifiedClaims(_ token: String) -> IDTokenClaims? {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let headerBytes = Base64URL.decode(String(parts[0])),
              let header = try? JSONDecoder().decode(JWSHeader.self, from: Data(headerBytes)), header.alg == "RS256",
              let key = verifyingKeys.first(where: { $0.kid == header.kid })?.key,
              let signature = Base64URL.decode(String(parts[2])),
              key.verifyRS256(signature, Array((parts[0] + "." + parts[1]).utf8)),
              let payload = Base64URL.decode(String(parts[1])) else { return nil }
        return try? JSONDecoder().decode(IDTokenClaims.self, from: Data(payload))
    }

    /// The Redis name of a code or token: the hex SHA-256 of its value.
    static func storageHash(_ token: String) -> String { Hex.encode(OpenSSLDigest.sha256(Array(token.utf8))) }

    /// 256 random bits, base64url: an authorization code or an access token.
    static func newToken() -> String { Base64URL.encode(SystemRandom.bytes(32)) }
}

struct JWSHeader: Codable { var alg: String; var kid: String?; var typ: String? }
struct JWK: Codable { var kty, use, alg, kid, n, e: String }
struct JWKSet: Codable { var keys: [JWK] }
