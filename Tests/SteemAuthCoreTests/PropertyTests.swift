import XCTest
@testable import SteemAuthCore

/// 10,000 seeded random and mutated inputs per parser, inside the normal `swift test`, so the
/// protection does not depend on the fuzz build (fuzz/run explores further).
final class PropertyTests: XCTestCase {
    /// SplitMix64: small, seeded, reproducible.
    struct Rng: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E3779B97F4A7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58476D1CE4E5B9
            z = (z ^ (z >> 27)) &* 0x94D049BB133111EB
            return z ^ (z >> 31)
        }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(max(1, n))) }
        mutating func bytes(_ n: Int) -> [UInt8] { (0..<n).map { _ in UInt8(truncatingIfNeeded: next()) } }

        /// A random edit of a valid sample: flip, delete, insert, duplicate, truncate or splice.
        mutating func mutate(_ input: [UInt8]) -> [UInt8] {
            var b = input
            for _ in 0...below(4) {
                switch below(6) {
                case 0 where !b.isEmpty: b[below(b.count)] ^= UInt8(1 << below(8))
                case 1 where !b.isEmpty: b.remove(at: below(b.count))
                case 2: b.insert(UInt8(truncatingIfNeeded: next()), at: below(b.count + 1))
                case 3 where !b.isEmpty: let i = below(b.count); b.insert(contentsOf: b[i..<min(b.count, i + below(16))], at: i)
                case 4: b = Array(b.prefix(below(b.count + 1)))
                default: b.insert(contentsOf: Array(";=-\"#\u{0} steemauth{}[]:,".utf8).shuffled(using: &self).prefix(below(6)), at: below(b.count + 1))
                }
            }
            return b
        }
    }

    let count = 10_000
    let mac: CookieSigner.MAC = { key, message, out in
        var h: UInt64 = 1469598103934665603 ^ UInt64(key.count)
        for i in 0..<out.count { for b in message { h = (h ^ UInt64(b)) &* 1099511628211 }; out[i] = UInt8(truncatingIfNeeded: h >> UInt64(i % 8)) }
    }

    func testCookieParserNeverAcceptsAMutation() {
        var rng = Rng(state: 1)
        let signer = CookieSigner(currentKey: Array(repeating: 1, count: 32), previousKey: nil, mac: mac)
        let id = SessionID(randomBytes: rng.bytes(16))!
        let valid = Array((CookieSigner.name + "=" + signer.value(for: id)).utf8)
        var accepted = 0
        for i in 0..<count {
            let input = i % 4 == 0 ? rng.bytes(rng.below(200)) : rng.mutate(valid)
            if let got = signer.sessionID(cookieHeader: input) {
                XCTAssertEqual(got, id, "only the genuine id can verify")
                accepted += 1
            }
        }
        XCTAssertLessThan(accepted, count / 2)
    }

    func testMemoNormalisationIsAFixedPoint() {
        var rng = Rng(state: 2)
        let sample = Array("  sa-ABCDEFGHIJKLMNOP\n".utf8)
        for i in 0..<count {
            let bytes = i % 3 == 0 ? rng.bytes(rng.below(64)) : rng.mutate(sample)
            let text = String(decoding: bytes, as: UTF8.self)
            if let code = LoginCode.fromMemo(text, prefix: "sa-") {
                XCTAssertEqual(LoginCode.fromMemo(code.memo, prefix: "sa-"), code)
                XCTAssertEqual(code.memo.utf8.count, 19)
                XCTAssertTrue(code.memo.utf8.allSatisfy { $0 < 0x80 })
            }
            _ = Asset.parseLegacy(text)
            _ = ChainTime(text)
        }
    }

    func testBlockDecoderSurvivesMutatedReplies() throws {
        var rng = Rng(state: 3)
        let sample = Array(#"{"jsonrpc":"2.0","id":1,"result":{"previous":"0000000a00","timestamp":"2026-11-23T10:00:00","witness":"w","block_id":"0000000b11","transactions":[{"operations":[["transfer",{"from":"a","to":"steemauth.demo","amount":"0.001 STEEM","memo":"abcdefghijklmnop"}],{"type":"transfer_operation","value":{"from":"b","to":"steemauth.demo","amount":{"amount":"1","precision":3,"nai":"@@000000021"},"memo":"x"}}]}],"transaction_ids":["ff"]}}"#.utf8)
        let matcher = TransferMatcher(serviceAccount: "steemauth.demo", acceptedSymbols: ["STEEM"], minimumMilliUnits: 1, memoPrefix: "")
        var decoded = 0
        for _ in 0..<count {
            let input = rng.mutate(sample)
            if let reply = try? JSONDecoder().decode(RPCResponse<Block>.self, from: Data(input)), let block = reply.result {
                decoded += 1
                let scan = BlockScan.scan(block, number: block.number ?? 0, matcher: matcher)
                XCTAssertLessThanOrEqual(scan.claims.count + scan.rejections.count, 2)
            }
        }
        XCTAssertGreaterThan(decoded, 0, "some mutations stay valid JSON")
    }
}

extension PropertyTests {
    /// The byte-level JSON string writer (the status route's hot path) writes what the
    /// scalar-by-scalar one did, for any text; chain times print and parse back.
    func testJSONStringWriterAndChainTimeOnRandomInput() {
        var rng = Rng(state: 7)
        let alphabet: [Unicode.Scalar] = ["a", "Z", "0", " ", "\"", "\\", "<", ">", "\n", "\r", "\t", "\u{0}", "\u{1f}", "\u{7f}", "é", "€", "😀", "\u{2028}"]
        for _ in 0..<count {
            var s = ""
            for _ in 0..<rng.below(24) { s.unicodeScalars.append(alphabet[rng.below(alphabet.count)]) }
            XCTAssertEqual(JSONText.string(s), JSONText.stringByScalars(s), s.debugDescription)
            var appended = Array("x".utf8)                            // appends after what is there
            appended.appendJSONString(s)
            XCTAssertEqual(String(decoding: appended, as: UTF8.self), "x" + JSONText.stringByScalars(s), s.debugDescription)
            let number = Int64(rng.below(2_000_000_000)) * (rng.below(2) == 0 ? 1 : -1)
            var decimal: [UInt8] = []
            decimal.appendDecimal(number)
            XCTAssertEqual(String(decoding: decimal, as: UTF8.self), String(number))
            XCTAssertEqual(JSONText.decimal(number), String(number))
            let seconds = Int64(rng.below(4_102_444_800))            // 1970 … 2100
            XCTAssertEqual(ChainTime(ChainTime(secondsSinceEpoch: seconds).description)?.secondsSinceEpoch, seconds)
        }
        XCTAssertEqual(ChainTime(secondsSinceEpoch: 0).description, "1970-01-01T00:00:00")
        XCTAssertEqual(ChainTime(secondsSinceEpoch: 1_795_521_600).description, "2026-11-24T12:00:00")
        for extreme in [Int64.min, Int64.max, 0] {
            var decimal: [UInt8] = []
            decimal.appendDecimal(extreme)
            XCTAssertEqual(String(decoding: decimal, as: UTF8.self), String(extreme))
            XCTAssertEqual(JSONText.decimal(extreme), String(extreme))
        }
    }
}
