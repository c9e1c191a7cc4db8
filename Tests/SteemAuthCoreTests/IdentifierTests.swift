import XCTest
@testable import SteemAuthCore

final class IdentifierTests: XCTestCase {
    func testSessionIDIsThirtyTwoLowerHex() {
        let id = SessionID(randomBytes: Array(0..<16))!
        XCTAssertEqual(id.hex, "000102030405060708090a0b0c0d0e0f")
        XCTAssertNil(SessionID(randomBytes: Array(0..<15)))
        XCTAssertNotNil(SessionID("000102030405060708090a0b0c0d0e0f"))
        for bad in ["000102030405060708090A0B0C0D0E0F", "000102030405060708090a0b0c0d0e0", "000102030405060708090a0b0c0d0e0f0",
                    "", "g00102030405060708090a0b0c0d0e0f", "00010203040506070809-a0b0c0d0e0f"] {
            XCTAssertNil(SessionID(bad), bad)
        }
        XCTAssertFalse(id.description.contains(id.hex), "description must not leak the id")
    }

    func testLoginCodeIsSixteenBase32Characters() {
        let code = LoginCode(randomBytes: [UInt8](repeating: 0xff, count: 10), prefix: "")!
        XCTAssertEqual(code.memo, "7777777777777777")
        let zero = LoginCode(randomBytes: [UInt8](repeating: 0, count: 10), prefix: "auth-")!
        XCTAssertEqual(zero.memo, "auth-aaaaaaaaaaaaaaaa")
        let mixed = LoginCode(randomBytes: Array(1...10), prefix: "")!
        XCTAssertEqual(mixed.memo.count, 16)
        XCTAssertTrue(mixed.memo.allSatisfy { "abcdefghijklmnopqrstuvwxyz234567".contains($0) })
        XCTAssertNil(LoginCode(randomBytes: Array(0..<9), prefix: ""))
        XCTAssertNil(LoginCode(randomBytes: Array(0..<10), prefix: "UPPER"))
    }

    func testMemoNormalisation() {
        let memo = "abcdefghijklmnop"
        XCTAssertEqual(LoginCode.fromMemo(memo, prefix: "")?.memo, memo)
        XCTAssertEqual(LoginCode.fromMemo("  ABCDEFGHIJKLMNOP\n\t", prefix: "")?.memo, memo)
        XCTAssertEqual(LoginCode.fromMemo("sa-abcdefghijklmnop", prefix: "sa-")?.memo, "sa-" + memo)
        XCTAssertEqual(LoginCode.fromMemo("SA-ABCDEFGHIJKLMNOP", prefix: "sa-")?.memo, "sa-" + memo)
        for bad in ["", "   ", "#abcdefghijklmnop", "abcdefghijklmno", "abcdefghijklmnopq", "abcdefgh ijklmnop",
                    "abcdefghijklmno1", "abcdefghijklmnop\u{0}", "x" + memo, memo + "x", String(repeating: "a", count: 2048),
                    "abcdefghijklmnoé"] {
            XCTAssertNil(LoginCode.fromMemo(bad, prefix: ""), bad)
        }
        XCTAssertNil(LoginCode.fromMemo(memo, prefix: "sa-"), "prefix is part of the memo")
    }

    func testHexAndConstantTimeCompare() {
        XCTAssertEqual(Hex.encode([0, 255, 16]), "00ff10")
        XCTAssertEqual(Hex.decodeLower(Array("00ff10".utf8)), [0, 255, 16])
        XCTAssertNil(Hex.decodeLower(Array("00FF10".utf8)))
        XCTAssertNil(Hex.decodeLower(Array("0".utf8)))
        XCTAssertEqual(Hex.decodeAnyCase("00FF"), [0, 255])
        XCTAssertTrue(Hex.constantTimeEqual([1, 2], [1, 2]))
        XCTAssertFalse(Hex.constantTimeEqual([1, 2], [1, 3]))
        XCTAssertFalse(Hex.constantTimeEqual([1, 2], [1, 2, 3]))
        // A MAC against its hex (the cookie check): exactly `encode`'s lower-case text, nothing else.
        let every = (0...255).map { UInt8($0) }
        XCTAssertTrue(Hex.constantTimeEqual(hexOf: every, Array(Hex.encode(every).utf8)))
        XCTAssertTrue(Hex.constantTimeEqual(hexOf: every, Array(Hex.encode(every).utf8)[...]))
        XCTAssertFalse(Hex.constantTimeEqual(hexOf: every, Array(Hex.encode(every).uppercased().utf8)))
        XCTAssertFalse(Hex.constantTimeEqual(hexOf: [0xab], Array("ab0".utf8)))
        XCTAssertFalse(Hex.constantTimeEqual(hexOf: [0xab], Array("a".utf8)))
        for b in every {
            for wrong in Array("0123456789abcdefABCDEFg:/` ".utf8) where wrong != Array(Hex.encode([b]).utf8)[1] {
                XCTAssertFalse(Hex.constantTimeEqual(hexOf: [b], [Array(Hex.encode([b]).utf8)[0], wrong]))
            }
        }
        // Client secrets (the OIDC token endpoint) are compared with it too.
        XCTAssertTrue(Hex.constantTimeEqual(Array("secret".utf8), Array("secret".utf8)))
        XCTAssertFalse(Hex.constantTimeEqual(Array("secret".utf8), Array("secreT".utf8)))
        XCTAssertFalse(Hex.constantTimeEqual(Array("secret".utf8), Array("secret!".utf8)))
        XCTAssertTrue(Hex.constantTimeEqual([], []))
    }

    func testJSONTextEscapesAndSameOrigin() {
        XCTAssertEqual(JSONText.string("a\"b\\c\n<\u{1}"), #""a\"b\\c\n\u003c\u0001""#)
        XCTAssertEqual(JSONText.optionalNumber(nil), "null")
        XCTAssertEqual(JSONText.optionalNumber(3), "3")
    }

    func testPublicOriginIsParsedStrictlyAndComparedExactly() throws {
        let site = try XCTUnwrap(PublicOrigin.parse("https://Login.Example.org"))
        XCTAssertEqual(site.description, "https://login.example.org")
        XCTAssertEqual(PublicOrigin.parse("https://login.example.org:443"), site)
        XCTAssertEqual(PublicOrigin.parse("http://127.0.0.1:8080")?.description, "http://127.0.0.1:8080")
        XCTAssertEqual(PublicOrigin.parse("http://[::1]:8080")?.host, "[::1]")
        for bad in ["https://login.example.org/", "https://login.example.org/x", "https://u@login.example.org", "ftp://x",
                    "https://login.example.org?q", "https://login.example.org:0", "https://login.example.org:99999", "login.example.org",
                    "https://login.example.org.", "https://bücher.example", "https://login.example.org ", "https://exa mple.org",
                    "https://-x.example", "https://a..b"] {
            XCTAssertNil(PublicOrigin.parse(bad), bad)
        }
        // Origin (else Referer) against the configured origin: scheme, host and port.
        XCTAssertTrue(site.isSameOrigin(origin: "https://login.example.org", referer: nil))
        XCTAssertFalse(site.isSameOrigin(origin: "http://login.example.org", referer: nil))
        XCTAssertFalse(site.isSameOrigin(origin: "https://login.example.org:8443", referer: nil))
        XCTAssertFalse(site.isSameOrigin(origin: "https://evil.example", referer: "https://login.example.org/"))
        XCTAssertTrue(site.isSameOrigin(origin: nil, referer: "https://login.example.org/steemauth?x=1"))
        XCTAssertFalse(site.isSameOrigin(origin: nil, referer: "https://login.example.org.evil/"))
        XCTAssertFalse(site.isSameOrigin(origin: nil, referer: nil))
        XCTAssertFalse(site.isSameOrigin(origin: "null", referer: nil))
    }
}
