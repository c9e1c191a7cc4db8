import Foundation
@testable import SteemAuthCore
import XCTest

/// The formats of a sign-in by signature: compact signatures, base58 key text, the challenge, the
/// request body and the authority rule (all pure; the crypto itself is in AdapterTests).
final class SignInTests: XCTestCase {
    func testBase58AgainstTheBitcoinVectors() {
        let vectors: [(String, String)] = [
            ("", ""), ("61", "2g"), ("626262", "a3gV"), ("636363", "aPEr"),
            ("73696d706c792061206c6f6e6720737472696e67", "2cFupjhnEsSn59qHXstmK2ffpLv2"),
            ("00eb15231dfceb60925886b67d065299925915aeb172c06647", "1NS17iag9jJgTHD1VXjvLCEnZuQ3rJDE9L"),
            ("516b6fcd0f", "ABnLTmg"), ("bf4f89001e670274dd", "3SEo3LWLoPntC"), ("572e4794", "3EFU7m"),
            ("ecac89cad93923c02321", "EJDM8drfXA6uyA"), ("10c8511e", "Rt5zm"), ("00000000000000000000", "1111111111"),
        ]
        for (hex, text) in vectors {
            let bytes = Hex.decodeLower(Array(hex.utf8))!
            XCTAssertEqual(Base58.encode(bytes), text, hex)
            XCTAssertEqual(Base58.decode(text), bytes, text)
        }
        XCTAssertNil(Base58.decode("0OIl"), "not in the alphabet")
    }

    func testCompactSignatureLayout() {
        let hex = "20" + String(repeating: "ab", count: 64)
        let sig = CompactSignature.parse(hex: hex)!
        XCTAssertEqual(sig.recoveryID, 1)
        XCTAssertEqual(sig.rs, [UInt8](repeating: 0xab, count: 64))
        XCTAssertEqual(Hex.encode(sig.bytes), hex)
        XCTAssertEqual(CompactSignature.parse(hex: "1f" + String(repeating: "00", count: 64))?.recoveryID, 0)
        XCTAssertEqual(CompactSignature.parse(hex: "1b" + String(repeating: "00", count: 64))?.recoveryID, 0, "27: uncompressed flag, as fc accepts")
        for bad in ["", "1f", "23" + String(repeating: "00", count: 64), "1a" + String(repeating: "00", count: 64),
                    "1f" + String(repeating: "00", count: 63), "1f" + String(repeating: "0g", count: 64), "1f" + String(repeating: "00", count: 65)] {
            XCTAssertNil(CompactSignature.parse(hex: bad), bad)
        }
    }

    func testChallengeNamesHostCodeAndExpiry() {
        XCTAssertEqual(SignInChallenge.text(host: "Example.org", code: "ab2cdefgh3ijklmn", expiresAt: 1_795_521_600),
                       "steemauth login to example.org\ncode: ab2cdefgh3ijklmn\nexpires: 2026-11-24T12:00:00Z")
        XCTAssertEqual(SignInChallenge.displayHost("evil\r\nhost<x>"), "evilhostx")
        XCTAssertEqual(SignInChallenge.displayHost(""), "this site")
        XCTAssertEqual(SignInChallenge.displayHost("127.0.0.1:8080"), "127.0.0.1:8080")
        XCTAssertEqual(SignInChallenge.displayHost(String(repeating: "A", count: 300)), String(repeating: "a", count: 253))
        XCTAssertEqual(SignInChallenge.bytes(host: "Example.org", code: "ab2cdefgh3ijklmn", expiresAt: 1_795_521_600),
                       Array(SignInChallenge.text(host: "Example.org", code: "ab2cdefgh3ijklmn", expiresAt: 1_795_521_600).utf8))
    }

    /// The status poll writes the challenge straight into its JSON: decoded, it must be the very
    /// text a wallet signs, whatever the host and the code hold.
    func testChallengeAsJSONStringDecodesToTheSignedText() throws {
        let hosts = ["Example.org", "", "evil\r\nhost<x>\"\\", "127.0.0.1:8080", String(repeating: "A", count: 300), "ünï.example"]
        let codes = ["ab2cdefgh3ijklmn", "", "a\"b\\c\nd</script>", "\u{1}\u{1f}é"]
        for host in hosts {
            for code in codes {
                for expiresAt: Int64 in [0, 1_795_521_600, 253_402_300_799] {
                    var out: [UInt8] = [UInt8(ascii: "[")]
                    SignInChallenge.appendJSONString(host: host, code: code, expiresAt: expiresAt, to: &out)
                    out.append(UInt8(ascii: "]"))
                    let decoded = try JSONDecoder().decode([String].self, from: Data(out))
                    XCTAssertEqual(decoded, [SignInChallenge.text(host: host, code: code, expiresAt: expiresAt)], "\(host) \(code)")
                    XCTAssertFalse(out.contains(UInt8(ascii: "<")), "no raw < in the JSON (it can sit in HTML)")
                }
            }
        }
    }

    func testRequestBodyParsing() {
        let sig = "1f" + String(repeating: "ab", count: 64)
        func body(_ fields: [String: JSONValue]) -> JSONValue { .object(fields) }
        XCTAssertEqual(try SignInRequest.parse(body(["account": .string("@Alice"), "signature": .string(sig)])).get().account, "alice")
        XCTAssertEqual(SignInRequest.parse(.array([])).failure, .notAnObject)
        XCTAssertEqual(SignInRequest.parse(.null).failure, .notAnObject)
        XCTAssertEqual(SignInRequest.parse(body(["signature": .string(sig)])).failure, .badAccount)
        XCTAssertEqual(SignInRequest.parse(body(["account": .int(5), "signature": .string(sig)])).failure, .badAccount)
        XCTAssertEqual(SignInRequest.parse(body(["account": .string("a\nb"), "signature": .string(sig)])).failure, .badAccount)
        XCTAssertEqual(SignInRequest.parse(body(["account": .string("alice")])).failure, .badSignature)
        XCTAssertEqual(SignInRequest.parse(body(["account": .string("alice"), "signature": .string("zz")])).failure, .badSignature)
    }

    func testAKeyMustMeetTheThresholdAlone() {
        func authority(_ threshold: Int64, _ keys: [(String, Int64)]) -> AccountAuthorities.Authority { .init(weightThreshold: threshold, keys: keys) }
        let account = AccountAuthorities(name: "alice", owner: authority(1, [("STMowner", 1)]), active: authority(2, [("STMa1", 1), ("STMa2", 1)]),
                                         posting: authority(1, [("STMpost", 1), ("STMa1", 0)]))
        XCTAssertEqual(account.verdict(for: "STMpost"), .accepted(role: "posting"))
        XCTAssertEqual(account.verdict(for: "STMowner"), .accepted(role: "owner"))
        XCTAssertEqual(account.verdict(for: "STMa1"), .weightTooLow, "one key of a 2-of-2 authority")
        XCTAssertEqual(account.verdict(for: "STMstranger"), .notAKeyOfTheAccount)
        let zero = AccountAuthorities(name: "z", owner: authority(0, [("STMk", 0)]), active: authority(1, []), posting: authority(1, []))
        XCTAssertEqual(zero.verdict(for: "STMk"), .weightTooLow, "a zero threshold never lets a key in")
    }

    /// Like every other parser: 10,000 seeded random and mutated bodies, decoded as the route does,
    /// never a crash, and only well-formed ones accepted.
    func testPropertyRandomBodiesNeverCrashTheParser() {
        var rng = PropertyTests.Rng(state: 0x5167)
        let valid = Array(#"{"account":"alice.bob","signature":"20\#(String(repeating: "3c", count: 64))"}"#.utf8)
        var accepted = 0
        for i in 0..<10_000 {
            let input = i % 4 == 0 ? rng.bytes(rng.below(200)) : rng.mutate(valid)
            let value = (try? JSONDecoder().decode(JSONValue.self, from: Data(input))) ?? .null
            if case .success(let r) = SignInRequest.parse(value) {
                accepted += 1
                XCTAssertTrue(AccountName.isValid(r.account))
                XCTAssertEqual(r.signature.rs.count, 64)
            }
        }
        XCTAssertGreaterThan(accepted, 0, "some mutations stay valid")
    }
}

extension Result {
    var failure: Failure? { if case .failure(let f) = self { return f }; return nil }
}
