import CSecp256k1
import SteemAuthCore

/// Public-key recovery from a Graphene compact signature, through libsecp256k1's recovery module.
/// The chain accepts only canonical (low-S) signatures, and so does this.
public enum Secp256k1Recovery {
    public enum Failure: Error, Sendable, Equatable { case invalidSignature, notCanonical, recoveryFailed }

    /// One verify-only context per process; libsecp256k1 contexts are safe to share read-only.
    nonisolated(unsafe) private static let context: OpaquePointer = secp256k1_context_create(UInt32(SECP256K1_CONTEXT_VERIFY))!

    /// The 33-byte compressed public key that made `signature` over the 32-byte `digest`.
    public static func recover(_ signature: CompactSignature, digest: [UInt8]) throws(Failure) -> [UInt8] {
        precondition(digest.count == 32)
        var recoverable = secp256k1_ecdsa_recoverable_signature()
        let parsed = signature.rs.withUnsafeBufferPointer {
            secp256k1_ecdsa_recoverable_signature_parse_compact(context, &recoverable, $0.baseAddress!, Int32(signature.recoveryID))
        }
        guard parsed == 1 else { throw .invalidSignature }
        // normalize() returns 1 when S was high: such a signature is malleable and the chain refuses it.
        var plain = secp256k1_ecdsa_signature()
        _ = secp256k1_ecdsa_recoverable_signature_convert(context, &plain, &recoverable)
        guard secp256k1_ecdsa_signature_normalize(context, nil, &plain) == 0 else { throw .notCanonical }
        var key = secp256k1_pubkey()
        let recovered = digest.withUnsafeBufferPointer { secp256k1_ecdsa_recover(context, &key, &recoverable, $0.baseAddress!) }
        guard recovered == 1 else { throw .recoveryFailed }
        var out = [UInt8](repeating: 0, count: 33)
        var length = 33
        _ = out.withUnsafeMutableBufferPointer { secp256k1_ec_pubkey_serialize(context, $0.baseAddress!, &length, &key, UInt32(SECP256K1_EC_COMPRESSED)) }
        return out
    }
}
