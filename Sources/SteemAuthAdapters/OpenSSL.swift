import COpenSSL

/// Message digests through OpenSSL's libcrypto: SHA-256 (what a wallet signs), RIPEMD-160 (the
/// checksum in a chain key's text) and SHA-1 (the name Redis gives a script).
public enum OpenSSLDigest {
    public static func sha256(_ data: [UInt8]) -> [UInt8] { digest(data, EVP_sha256(), length: 32) }
    public static func sha1(_ data: [UInt8]) -> [UInt8] { digest(data, EVP_sha1(), length: 20) }
    public static func ripemd160(_ data: [UInt8]) -> [UInt8] { digest(data, EVP_ripemd160(), length: 20) }

    /// Each digest used once, so OpenSSL's first-use work (loading its default provider, fetching
    /// each implementation) is done. A pre-forking master calls it before the first fork: otherwise
    /// every worker redoes it when it names its Redis scripts, and runs ~2 MB of libcrypto it never
    /// needs again (measured: a worker's resident libcrypto 2.3 MB, PSS 0.4 MB).
    public static func prepare() {
        _ = sha1([]); _ = sha256([]); _ = ripemd160([])
    }

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

/// An RSA key from a PEM file, through libcrypto's EVP interface: RS256 signatures (RSASSA-PKCS1-v1_5
/// with SHA-256) for ID tokens, and the public numbers for the JWKS.
public final class RSAKey: @unchecked Sendable {
    // Immutable after init; libcrypto allows concurrent use of a key for signing.
    private let key: OpaquePointer
    public let canSign: Bool

    public enum LoadError: Error, Equatable, CustomStringConvertible {
        case notPEM(String), notRSA, tooSmall(bits: Int)
        public var description: String {
            switch self {
            case .notPEM(let why): return "is not a PEM RSA key (\(why))"
            case .notRSA: return "is not an RSA key"
            case .tooSmall(let bits): return "is a \(bits)-bit RSA key; at least 2048 bits are required"
            }
        }
    }

    /// A private key (PKCS#8 or PKCS#1 PEM); with `publicOnly`, a public key PEM is accepted too.
    public init(pem: [UInt8], publicOnly: Bool = false, minimumBits: Int = 2048) throws(LoadError) {
        func read(_ reader: (OpaquePointer) -> OpaquePointer?) -> OpaquePointer? {
            pem.withUnsafeBytes { raw -> OpaquePointer? in
                guard let bio = BIO_new_mem_buf(raw.baseAddress, Int32(raw.count)) else { return nil }
                defer { BIO_free(bio) }
                return reader(bio)
            }
        }
        var loaded = read { PEM_read_bio_PrivateKey($0, nil, nil, nil) }
        var isPrivate = loaded != nil
        if loaded == nil && publicOnly {
            ERR_clear_error()
            loaded = read { PEM_read_bio_PUBKEY($0, nil, nil, nil) }
            isPrivate = false
        }
        guard let loaded else { throw .notPEM(Self.lastError()) }
        guard EVP_PKEY_get_base_id(loaded) == EVP_PKEY_RSA else { EVP_PKEY_free(loaded); throw .notRSA }
        let bits = Int(EVP_PKEY_get_bits(loaded))
        guard bits >= minimumBits else { EVP_PKEY_free(loaded); throw .tooSmall(bits: bits) }
        key = loaded
        canSign = isPrivate
    }

    deinit { EVP_PKEY_free(key) }

    /// The modulus and public exponent, big-endian without leading zeros (a JWK's n and e).
    public var publicNumbers: (n: [UInt8], e: [UInt8]) { (bigNumber("n"), bigNumber("e")) }

    private func bigNumber(_ name: String) -> [UInt8] {
        var bn: OpaquePointer? = nil
        guard EVP_PKEY_get_bn_param(key, name, &bn) == 1, let bn else { return [] }
        defer { BN_free(bn) }
        var out = [UInt8](repeating: 0, count: (Int(BN_num_bits(bn)) + 7) / 8)
        let written = out.withUnsafeMutableBufferPointer { BN_bn2bin(bn, $0.baseAddress) }
        return Array(out.prefix(Int(written)))
    }

    /// RS256 over `message`.
    public func signRS256(_ message: [UInt8]) -> [UInt8] {
        precondition(canSign, "a public key cannot sign")
        guard let ctx = EVP_MD_CTX_new() else { fatalError("EVP_MD_CTX_new failed") }
        defer { EVP_MD_CTX_free(ctx) }
        precondition(EVP_DigestSignInit(ctx, nil, EVP_sha256(), nil, key) == 1, "EVP_DigestSignInit: \(Self.lastError())")
        var length = 0
        precondition(message.withUnsafeBufferPointer { EVP_DigestSign(ctx, nil, &length, $0.baseAddress, $0.count) } == 1)
        var signature = [UInt8](repeating: 0, count: length)
        let rc = signature.withUnsafeMutableBufferPointer { s in
            message.withUnsafeBufferPointer { EVP_DigestSign(ctx, s.baseAddress, &length, $0.baseAddress, $0.count) }
        }
        precondition(rc == 1, "EVP_DigestSign: \(Self.lastError())")
        return Array(signature.prefix(length))
    }

    /// Whether `signature` is this key's RS256 signature of `message`.
    public func verifyRS256(_ signature: [UInt8], _ message: [UInt8]) -> Bool {
        guard let ctx = EVP_MD_CTX_new() else { return false }
        defer { EVP_MD_CTX_free(ctx); ERR_clear_error() }
        guard EVP_DigestVerifyInit(ctx, nil, EVP_sha256(), nil, key) == 1 else { return false }
        return signature.withUnsafeBufferPointer { s in
            message.withUnsafeBufferPointer { EVP_DigestVerify(ctx, s.baseAddress, s.count, $0.baseAddress, $0.count) }
        } == 1
    }

    private static func lastError() -> String {
        let code = ERR_get_error()
        guard code != 0 else { return "no key found" }
        var buffer = [CChar](repeating: 0, count: 256)
        ERR_error_string_n(code, &buffer, buffer.count)
        ERR_clear_error()
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
