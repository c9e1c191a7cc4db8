/// A signature as Graphene wallets write it (Keychain's `requestSignBuffer`, beem's `sign_message`):
/// 65 bytes — byte 0 is 27 + 4 (compressed key) + the recovery id, then r and s, 32 bytes each —
/// sent as 130 hex characters. Byte 0 from 27 to 34 is accepted, as the chain's own code does.
public struct CompactSignature: Sendable, Equatable {
    public let recoveryID: Int
    /// r ‖ s, 64 bytes.
    public let rs: [UInt8]

    public static let hexLength = 130

    public static func parse(hex: String) -> CompactSignature? {
        guard hex.utf8.count == hexLength, let bytes = Hex.decodeAnyCase(hex) else { return nil }
        return parse(bytes)
    }

    public static func parse(_ bytes: [UInt8]) -> CompactSignature? {
        guard bytes.count == 65, (27...34).contains(bytes[0]) else { return nil }
        return CompactSignature(recoveryID: Int(bytes[0] - 27) & 3, rs: Array(bytes[1...]))
    }

    public var bytes: [UInt8] { [UInt8(27 + 4 + recoveryID)] + rs }
}
