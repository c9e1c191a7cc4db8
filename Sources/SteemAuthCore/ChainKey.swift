/// A public key as Steem and Hive write it: `STM` + base58(33-byte compressed key ‖ the first 4 bytes
/// of RIPEMD-160(key)). Both chains' mainnets use the `STM` prefix. The hash comes from the caller
/// (OpenSSL in the adapters), so this stays pure.
public enum ChainKey {
    public static let prefix = "STM"

    public static func text(compressedKey key: [UInt8], ripemd160: ([UInt8]) -> [UInt8]) -> String {
        precondition(key.count == 33)
        return prefix + Base58.encode(key + ripemd160(key).prefix(4))
    }

    /// The 33-byte key in `text`, when it is a well-formed key with a good checksum.
    public static func key(_ text: String, ripemd160: ([UInt8]) -> [UInt8]) -> [UInt8]? {
        guard text.hasPrefix(prefix), let raw = Base58.decode(String(text.dropFirst(prefix.count))), raw.count == 37 else { return nil }
        let key = Array(raw.prefix(33))
        guard key[0] == 2 || key[0] == 3, Array(ripemd160(key).prefix(4)) == Array(raw.suffix(4)) else { return nil }
        return key
    }
}
