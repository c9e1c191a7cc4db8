import FoundationEssentials

/// The registered clients, by id. Parsing checks every rule a clients file must meet; a problem
/// names the client and the field, never a secret.
public struct OIDCClientRegistry: Sendable {
    public let clients: [String: OIDCClient]

    public init(_ list: [OIDCClient]) { clients = Dictionary(list.map { ($0.clientID, $0) }) { first, _ in first } }

    public subscript(id: String) -> OIDCClient? { clients[id] }

    public static func parse(_ data: [UInt8]) throws(OIDCConfigProblem) -> OIDCClientRegistry {
        let list: [OIDCClient]
        do { list = try JSONDecoder().decode([OIDCClient].self, from: Data(data)) } catch {
            throw OIDCConfigProblem("is not a JSON array of clients (client_id, redirect_uris, token_endpoint_auth_method): \(Self.describe(error))")
        }
        guard !list.isEmpty else { throw OIDCConfigProblem("lists no client") }
        var seen = Set<String>()
        for client in list {
            let id = client.clientID
            guard !id.isEmpty, id.utf8.count <= 128, id.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f }) else {
                throw OIDCConfigProblem("has a client_id that is empty, too long or not printable ASCII")
            }
            guard seen.insert(id).inserted else { throw OIDCConfigProblem("lists client '\(id)' twice") }
            switch client.authMethod {
            case .none:
                if client.clientSecret != nil { throw OIDCConfigProblem("client '\(id)': a public client (token_endpoint_auth_method none) has no client_secret") }
                if !client.requirePKCE { throw OIDCConfigProblem("client '\(id)': a public client cannot turn PKCE off (require_pkce false): PKCE is what protects its codes") }
            case .clientSecretBasic, .clientSecretPost:
                guard let secret = client.clientSecret, secret.utf8.count >= 16 else {
                    throw OIDCConfigProblem("client '\(id)': client_secret is missing or shorter than 16 characters")
                }
            }
            guard !client.redirectURIs.isEmpty else { throw OIDCConfigProblem("client '\(id)': redirect_uris is empty") }
            for (field, uris) in [("redirect_uris", client.redirectURIs), ("post_logout_redirect_uris", client.postLogoutRedirectURIs)] {
                for (i, uri) in uris.enumerated() {
                    if let problem = RedirectURI.problem(uri) {
                        throw OIDCConfigProblem("client '\(id)': \(field)[\(i)] '\(uri.prefix(200))' \(problem)")
                    }
                }
            }
        }
        return OIDCClientRegistry(list)
    }

    private static func describe(_ error: Error) -> String {
        switch error as? DecodingError {
        case .keyNotFound(let key, let context)?: return "missing \(key.stringValue)\(path(context))"
        case .typeMismatch(_, let context)?, .valueNotFound(_, let context)?: return "wrong type\(path(context))"
        case .dataCorrupted(let context)?: return context.codingPath.isEmpty ? "invalid JSON" : "invalid value\(path(context))"
        default: return "invalid JSON"
        }
    }

    private static func path(_ context: DecodingError.Context) -> String {
        let parts = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? "." + $0.stringValue }
        return parts.isEmpty ? "" : " at " + parts.joined()
    }
}

public struct OIDCConfigProblem: Error, Equatable, Sendable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
