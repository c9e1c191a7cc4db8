import COpenSSL

/// Message digests through OpenSSL's libcrypto: SHA-256 (what a wallet signs) and RIPEMD-160 (the
/// checksum in a chain key's text).
public enum OpenSSLDigest {
    public static func sha256(_ data: [UInt8]) -> [UInt8] { digest(data, EVP_sha256(), length: 32) }
    public static func ripemd160(_ data: [UInt8]) -> [UInt8] { digest(data, EVP_ripemd160(), length: 20) }

    private static func digest(_ data: [UInt8], _ md: OpaquePointer?, length: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var written: UInt32 = 0
        let rc = data.withUnsafeBufferPointer { d in
            out.withUnsafeMutableBufferPointer { o in EVP_Digest(d.baseAddress, d.count, o.baseAddress, &written, md, nil) }
        }
        precondition(rc == 1 && Int(written) == length, "EVP_Digest failed")
        return Array(out.prefix(length))
    }
}
