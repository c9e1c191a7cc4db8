import Foundation
import SteemAuthAdapters
import SteemAuthCore
import XCTest

/// libcrypto through the adapter: RS256 with keys the openssl tool made, and PKCE's S256.
final class OpenSSLTests: XCTestCase {
    func key(_ options: [String]) throws -> [UInt8] {
        let path = NSTemporaryDirectory() + "steemauth-key-\(UUID().uuidString).pem"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        p.arguments = ["genpkey"] + options + ["-out", path]
        p.standardError = FileHandle.nullDevice
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl") else { throw XCTSkip("the openssl tool is missing (scripts/install-deps installs it)") }
        try p.run(); p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0)
        return Array(try Data(contentsOf: URL(fileURLWithPath: path)))
    }

    func testRS256SignsAndVerifies() throws {
        let pem = try key(["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"])
        let rsa = try RSAKey(pem: pem)
        XCTAssertTrue(rsa.canSign)
        let message = Array("header.payload".utf8)
        let signature = rsa.signRS256(message)
        XCTAssertEqual(signature.count, 256)
        XCTAssertTrue(rsa.verifyRS256(signature, message))
        XCTAssertFalse(rsa.verifyRS256(signature, Array("header.payloaD".utf8)))
        var flipped = signature; flipped[100] ^= 1
        XCTAssertFalse(rsa.verifyRS256(flipped, message))
        XCTAssertFalse(rsa.verifyRS256([], message))
        let (n, e) = rsa.publicNumbers
        XCTAssertEqual(n.count, 256)
        XCTAssertEqual(e, [1, 0, 1])
        // Another key does not verify it.
        let other = try RSAKey(pem: try key(["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"]))
        XCTAssertFalse(other.verifyRS256(signature, message))
    }

    func testSmallNonRSAAndNonPEMKeysAreRefused() throws {
        XCTAssertThrowsError(try RSAKey(pem: try key(["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024"]))) {
            XCTAssertEqual($0 as? RSAKey.LoadError, .tooSmall(bits: 1024))
        }
        XCTAssertThrowsError(try RSAKey(pem: try key(["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"]))) {
            XCTAssertEqual($0 as? RSAKey.LoadError, .notRSA)
        }
        XCTAssertThrowsError(try RSAKey(pem: Array("-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n".utf8)))
        XCTAssertThrowsError(try RSAKey(pem: []))
    }

    func testAPublicKeyIsAcceptedOnlyWhereAsked() throws {
        let pem = try key(["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"])
        let path = NSTemporaryDirectory() + "steemauth-pub-\(UUID().uuidString).pem"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let priv = NSTemporaryDirectory() + "steemauth-priv-\(UUID().uuidString).pem"
        defer { try? FileManager.default.removeItem(atPath: priv) }
        try Data(pem).write(to: URL(fileURLWithPath: priv))
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        p.arguments = ["pkey", "-in", priv, "-pubout", "-out", path]
        try p.run(); p.waitUntilExit()
        let pub = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        XCTAssertThrowsError(try RSAKey(pem: pub))
        let verifier = try RSAKey(pem: pub, publicOnly: true)
        XCTAssertFalse(verifier.canSign)
        let signer = try RSAKey(pem: pem)
        XCTAssertTrue(verifier.verifyRS256(signer.signRS256([1, 2, 3]), [1, 2, 3]))
        XCTAssertEqual(verifier.publicNumbers.n, signer.publicNumbers.n)
    }

    /// RFC 7636 Appendix B.
    func testPKCEExampleFromTheRFC() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
        XCTAssertTrue(PKCE.verifies(verifier: verifier, challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", sha256: OpenSSLDigest.sha256))
        XCTAssertFalse(PKCE.verifies(verifier: verifier + "x", challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", sha256: OpenSSLDigest.sha256))
    }
}
