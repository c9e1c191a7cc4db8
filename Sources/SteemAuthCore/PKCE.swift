import FoundationEssentials

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
