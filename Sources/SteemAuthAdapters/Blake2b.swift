import CBlake2

/// Keyed BLAKE2b through libb2. Note libb2's argument order: (out, in, key, outlen, inlen, keylen).
public enum Blake2b {
    public static func hash(message: [UInt8], key: [UInt8], outputLength: Int = 32) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: outputLength)
        out.withUnsafeMutableBytes { o in message.withUnsafeBytes { m in hash(into: o, message: m, key: key) } }
        return out
    }

    /// The cookie MAC (`CookieSigner.MAC`): 32-byte keyed BLAKE2b of `message`, into `out`.
    public static let cookieMAC: @Sendable ([UInt8], UnsafeRawBufferPointer, UnsafeMutableRawBufferPointer) -> Void = { key, message, out in
        precondition(out.count == 32)
        hash(into: out, message: message, key: key)
    }

    /// Keyed BLAKE2b of `message` into `out` (1 to 64 bytes): the one libb2 call.
    static func hash(into out: UnsafeMutableRawBufferPointer, message: UnsafeRawBufferPointer, key: [UInt8]) {
        precondition((1...64).contains(out.count) && key.count <= 64)
        let rc = key.withUnsafeBufferPointer { k in
            blake2b(out.baseAddress?.assumingMemoryBound(to: UInt8.self), message.baseAddress, key.isEmpty ? nil : k.baseAddress,
                    out.count, message.count, key.count)
        }
        precondition(rc == 0, "blake2b failed")
    }
}
