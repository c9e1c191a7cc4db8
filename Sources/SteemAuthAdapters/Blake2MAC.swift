import CBlake2

/// Keyed BLAKE2b through libb2. Note libb2's argument order: (out, in, key, outlen, inlen, keylen).
public enum Blake2b {
    public static func hash(message: [UInt8], key: [UInt8], outputLength: Int = 32) -> [UInt8] {
        precondition((1...64).contains(outputLength) && key.count <= 64)
        var out = [UInt8](repeating: 0, count: outputLength)
        let rc = out.withUnsafeMutableBufferPointer { o in
            message.withUnsafeBufferPointer { m in
                key.withUnsafeBufferPointer { k in
                    blake2b(o.baseAddress, m.baseAddress, key.isEmpty ? nil : k.baseAddress,
                            outputLength, message.count, key.count)
                }
            }
        }
        precondition(rc == 0, "blake2b failed")
        return out
    }

    /// The cookie MAC (`CookieSigner.MAC`): 32-byte keyed BLAKE2b of `message`, into `out`.
    public static let cookieMAC: @Sendable ([UInt8], UnsafeRawBufferPointer, UnsafeMutableRawBufferPointer) -> Void = { key, message, out in
        precondition(out.count == 32 && key.count <= 64)
        let rc = key.withUnsafeBufferPointer { k in
            blake2b(out.baseAddress?.assumingMemoryBound(to: UInt8.self), message.baseAddress, key.isEmpty ? nil : k.baseAddress, 32,
                    message.count, key.count)
        }
        precondition(rc == 0, "blake2b failed")
    }
}
