import FoundationEssentials

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
