import SteemAuthCore
import XCTest

/// What comes from outside (a node, a browser, Redis) is checked before it is trusted as a name, an
/// id or a log line.
final class TrustAtTheEdgesTests: XCTestCase {
    static let hostile = "evil\r\nSet-Cookie: pwn=1\r\nX-SteemAuth-Account: admin"

    func testAccountNamesFollowTheChainRule() {
        for good in ["abc", "steemauth.demo", "a-b1", "abc.def.ghi", "abcdefghijklmnop"] { XCTAssertTrue(AccountName.isValid(good), good) }
        for bad in ["", "ab", "a.b", "Abc", "abc-", "1abc", "abcdefghijklmnopq", "abc..def", ".abc", "abc.", "ab c", "abc\n",
                    "abc\u{0}", "abç", Self.hostile, "admin\r\n", "<script>", "abc.de"] {
            XCTAssertFalse(AccountName.isValid(bad), bad.debugDescription)
        }
        let (valid, invalid) = AccountName.partition(["alice", Self.hostile, "bob", "x"])
        XCTAssertEqual(valid, ["alice", "bob"])
        XCTAssertEqual(invalid, [Self.hostile, "x"])
    }

    func testATransferFromOrToAnInvalidNameIsMalformed() {
        let matcher = TransferMatcher(serviceAccount: "steemauth.demo", acceptedSymbols: ["STEEM"], minimumMilliUnits: 1, memoPrefix: "")
        let code = LoginCode(randomBytes: Array(repeating: 7, count: LoginCode.randomByteCount), prefix: "")!.memo
        let amount = Asset.parseLegacy("0.001 STEEM")!
        XCTAssertEqual(matcher.decide(Transfer(from: Self.hostile, to: "steemauth.demo", amount: amount, memo: code)), .rejected(.malformed))
        XCTAssertEqual(matcher.decide(Transfer(from: "alice", to: "steemauth.demo\n", amount: amount, memo: code)), .rejected(.malformed))
        XCTAssertEqual(matcher.decide(Transfer(from: "Alice", to: "someone", amount: amount, memo: code)), .rejected(.malformed))
        if case .claim = matcher.decide(Transfer(from: "alice", to: "steemauth.demo", amount: amount, memo: code)) {} else {
            XCTFail("a valid transfer is a claim")
        }
    }

    func testTransactionIDsAreHexOrUnknown() {
        let real = "1fd8ea4d3a2b6c1e2a7e2b1f4c0c9e2f0a1b2c3d"
        XCTAssertEqual(TransactionID.sanitized(real), real)
        for bad in ["", "feedbeef", real.uppercased(), real + "0", "1fd8ea4d3a2b6c1e2a7e2b1f4c0c9e2f0a1b2c3\n", Self.hostile] {
            XCTAssertEqual(TransactionID.sanitized(bad), "unknown", bad.debugDescription)
        }
        let block = Block(previous: "0000000a" + String(repeating: "0", count: 32), timestamp: ChainTime("2026-01-01T00:00:00")!,
                          witness: nil, blockID: nil, transactions: [ChainTransaction(operations: [], transactionID: Self.hostile)],
                          transactionIDs: nil)
        XCTAssertEqual(block.transactionID(at: 0), "unknown")
    }

    func testLogTextCannotSplitOrForgeALine() {
        XCTAssertEqual(LogText.escape("plain text, ünïcode"), "plain text, ünïcode")
        let escaped = LogText.escape(Self.hostile)
        XCTAssertFalse(escaped.contains("\r") || escaped.contains("\n"))
        XCTAssertEqual(escaped, #"evil\r\nSet-Cookie: pwn=1\r\nX-SteemAuth-Account: admin"#)
        XCTAssertEqual(LogText.escape("a\u{0}b\u{7f}c\u{85}d\u{2028}e\tf"), #"a\u{0}b\u{7f}c\u{85}d\u{2028}e\tf"#)
        XCTAssertEqual(LogText.escape(#"a\nb"#), #"a\\nb"#, "a literal backslash-n cannot pass for an escape")
        // Property: no control character survives, whatever the input.
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<10_000 {
            let scalars = (0..<Int.random(in: 0...24, using: &rng)).compactMap { _ in
                Unicode.Scalar(UInt32.random(in: 0...0x2100, using: &rng))
            }
            var s = ""; s.unicodeScalars.append(contentsOf: scalars)
            XCTAssertFalse(LogText.escape(s).unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7f || (0x80...0x9f).contains($0.value) })
        }
    }

    func testBatchSizeHalvesOnRefusalAndGrowsBackSlowly() {
        var size = AdaptiveBatchSize(maximum: 100, growAfter: 3)
        XCTAssertEqual(size.current, 100)
        XCTAssertTrue(size.refused(size: 100)); XCTAssertEqual(size.current, 50)
        XCTAssertTrue(size.refused(size: 50)); XCTAssertEqual(size.current, 25)
        // A refusal of a smaller trailing batch never grows it.
        XCTAssertTrue(size.refused(size: 40)); XCTAssertEqual(size.current, 20)
        size.answered(); size.answered(); XCTAssertEqual(size.current, 20, "slowly: only after growAfter answers in a row")
        size.answered(); XCTAssertEqual(size.current, 25)
        for _ in 0..<100 { size.answered() }
        XCTAssertEqual(size.current, 100, "never above the maximum")
        var one = AdaptiveBatchSize(maximum: 2)
        XCTAssertTrue(one.refused(size: 2)); XCTAssertEqual(one.current, 1)
        XCTAssertFalse(one.refused(size: 1), "a single call cannot be halved: the node has failed")
        XCTAssertEqual(one.current, 1)
    }
}
