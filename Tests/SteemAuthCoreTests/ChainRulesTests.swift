import XCTest
@testable import SteemAuthCore

final class ChainRulesTests: XCTestCase {
    func testAssetsInBothWireForms() throws {
        XCTAssertEqual(Asset.parseLegacy("0.001 STEEM")?.milliUnits, 1)
        XCTAssertEqual(Asset.parseLegacy("0.001 STEEM")?.kind, .core)
        XCTAssertEqual(Asset.parseLegacy("1.372 HBD")?.kind, .debt)
        XCTAssertEqual(Asset.parseLegacy("12.000 SBD")?.milliUnits, 12000)
        XCTAssertEqual(Asset.parseLegacy("6.168369 VESTS")?.milliUnits, 6168)
        XCTAssertEqual(Asset.parseLegacy("0.001 HIVE")?.description, "0.001 HIVE")
        for bad in ["", "0.001", "0.001  STEEM", "-1.000 STEEM", "1e3 STEEM", "0.001 steem", ".001 STEEM", "1. STEEM",
                    "0,001 STEEM", "99999999999999999999.000 STEEM"] {
            XCTAssertNil(Asset.parseLegacy(bad), bad)
        }
        let nai = try JSONDecoder().decode(Asset.self, from: Data(#"{"amount":"1","precision":3,"nai":"@@000000021"}"#.utf8))
        XCTAssertEqual(nai.kind, .core); XCTAssertEqual(nai.milliUnits, 1)
        let sbd = try JSONDecoder().decode(Asset.self, from: Data(#"{"amount":"1372","nai":"@@000000013","precision":3}"#.utf8))
        XCTAssertEqual(sbd.kind, .debt); XCTAssertEqual(sbd.milliUnits, 1372)
        XCTAssertThrowsError(try JSONDecoder().decode(Asset.self, from: Data(#"{"amount":"x","precision":3,"nai":"@@000000021"}"#.utf8)))
        XCTAssertThrowsError(try JSONDecoder().decode(Asset.self, from: Data(#""1 STEEM STEEM""#.utf8)))
    }

    func testChainTimeIsUTCWithoutZone() {
        XCTAssertEqual(ChainTime("1970-01-01T00:00:00")?.secondsSinceEpoch, 0)
        XCTAssertTrue(ChainTime("1970-01-01T00:00:00")!.isNever)
        XCTAssertEqual(ChainTime("2018-09-16T22:06:48")?.secondsSinceEpoch, 1537135608)
        XCTAssertEqual(ChainTime("2018-09-16T22:06:48Z")?.secondsSinceEpoch, 1537135608)
        XCTAssertEqual(ChainTime("2016-02-29T12:00:00")?.description, "2016-02-29T12:00:00")
        XCTAssertEqual(ChainTime(secondsSinceEpoch: 1537135608).description, "2018-09-16T22:06:48")
        XCTAssertEqual(ChainTime(secondsSinceEpoch: -1).description, "1969-12-31T23:59:59")
        XCTAssertEqual(ChainTime(secondsSinceEpoch: 253_402_300_799).description, "9999-12-31T23:59:59")
        XCTAssertEqual(ChainTime(secondsSinceEpoch: 253_402_300_800).description, "10000-01-01T00:00:00", "a fifth year digit when needed")
        var appended = Array("x".utf8)
        ChainTime(secondsSinceEpoch: 1_795_521_600).write(to: &appended)
        XCTAssertEqual(String(decoding: appended, as: UTF8.self), "x2026-11-24T12:00:00", "appends after what is there")
        XCTAssertEqual(ChainTime(secondsSinceEpoch: 1537135608).displayUTC, "2018-09-16 22:06:48 UTC")   // the report page's "computed at"
        for bad in ["", "2018-09-16 22:06:48", "2018-13-01T00:00:00", "2018-09-16T25:00:00", "garbage-and-more-x", "2018-09-16T22:06"] {
            XCTAssertNil(ChainTime(bad), bad)
        }
    }

    func testStalenessBoundary() {
        let rule = StalenessRule(staleDays: 40)
        let last = ChainTime("2020-01-01T00:00:00")!
        let exactly40 = last.secondsSinceEpoch + 40 * 86400
        XCTAssertEqual(rule.verdict(lastPost: last, now: exactly40), .active, "exactly 40 days is not stale")
        XCTAssertEqual(rule.verdict(lastPost: last, now: exactly40 + 1), .stale(days: 40))
        XCTAssertEqual(rule.verdict(lastPost: last, now: last.secondsSinceEpoch + 100 * 86400 + 5), .stale(days: 100))
        XCTAssertEqual(rule.verdict(lastPost: ChainTime("1970-01-01T00:00:00")!, now: exactly40), .neverPosted)
    }

    func testTransferMatcherRules() {
        let m = TransferMatcher(serviceAccount: "steemauth.demo", acceptedSymbols: ["STEEM", "SBD"], minimumMilliUnits: 1, memoPrefix: "")
        let code = "abcdefghijklmnop"
        func t(_ to: String = "steemauth.demo", amount: String = "0.001 STEEM", memo: String = "abcdefghijklmnop") -> Transfer {
            Transfer(from: "alice", to: to, amount: Asset.parseLegacy(amount)!, memo: memo)
        }
        XCTAssertEqual(m.decide(t()), .claim(LoginCode.fromMemo(code, prefix: "")!))
        XCTAssertEqual(m.decide(t(amount: "0.001 SBD")), .claim(LoginCode.fromMemo(code, prefix: "")!))
        XCTAssertEqual(m.decide(t(memo: " ABCDEFGHIJKLMNOP\n")), .claim(LoginCode.fromMemo(code, prefix: "")!))
        XCTAssertEqual(m.decide(t("someone.else")), .notForUs)
        XCTAssertEqual(m.decide(t(amount: "1.000 VESTS")), .rejected(.assetNotAccepted))
        // Each chain takes its own assets: a HIVE (or testnet) transfer reported to a Steem service is refused.
        XCTAssertEqual(m.decide(t(amount: "0.001 HIVE")), .rejected(.assetNotAccepted))
        XCTAssertEqual(m.decide(t(amount: "0.001 HBD")), .rejected(.assetNotAccepted))
        XCTAssertEqual(m.decide(t(amount: "0.001 TESTS")), .rejected(.assetNotAccepted))
        let nai = Transfer(from: "alice", to: "steemauth.demo", amount: Asset.fromNAI(amount: "1", precision: 3, nai: "@@000000021")!, memo: code)
        XCTAssertEqual(m.decide(nai), .claim(LoginCode.fromMemo(code, prefix: "")!), "NAI 21 is STEEM on Steem")
        let hive = TransferMatcher(serviceAccount: "steemauth.demo", acceptedSymbols: ["HIVE"], chainAssets: .hive, minimumMilliUnits: 1, memoPrefix: "")
        XCTAssertEqual(hive.decide(nai), .claim(LoginCode.fromMemo(code, prefix: "")!), "NAI 21 is HIVE on Hive")
        XCTAssertEqual(hive.decide(t(amount: "0.001 STEEM")), .rejected(.assetNotAccepted))
        let hbdNAI = Transfer(from: "alice", to: "steemauth.demo", amount: Asset.fromNAI(amount: "1", precision: 3, nai: "@@000000013")!, memo: code)
        XCTAssertEqual(hive.decide(hbdNAI), .rejected(.assetNotAccepted), "HBD was narrowed away")
        let testnet = TransferMatcher(serviceAccount: "steemauth.demo", acceptedSymbols: ["TESTS", "TBD"], chainAssets: .testnet, minimumMilliUnits: 1, memoPrefix: "")
        XCTAssertEqual(testnet.decide(t(amount: "0.001 TESTS")), .claim(LoginCode.fromMemo(code, prefix: "")!))
        XCTAssertEqual(testnet.decide(t(amount: "0.001 STEEM")), .rejected(.assetNotAccepted))
        XCTAssertEqual(m.decide(t(amount: "0.000 STEEM")), .rejected(.amountTooSmall))
        XCTAssertEqual(m.decide(t(memo: "#" + code)), .rejected(.encryptedMemo))
        XCTAssertEqual(m.decide(t(memo: "  #encrypted")), .rejected(.encryptedMemo))
        // One rule for both readers: every ASCII whitespace the code reader trims, the matcher trims too.
        XCTAssertEqual(m.decide(t(memo: "\u{0B}\u{0C}#" + code)), .rejected(.encryptedMemo))
        XCTAssertTrue(LoginCode.isEncrypted(memo: "\u{0B}#x"))
        XCTAssertFalse(LoginCode.isEncrypted(memo: code + "#"))
        XCTAssertEqual(m.decide(t(memo: "")), .rejected(.notALoginCode))
        XCTAssertEqual(m.decide(t(memo: "abcd efghijklmnop")), .rejected(.notALoginCode))
        XCTAssertEqual(m.decide(.other("transfer_to_savings")), .notForUs, "only plain transfers count")
        XCTAssertEqual(m.decide(.malformedTransfer), .rejected(.malformed))
        let sbdOnly = TransferMatcher(serviceAccount: "steemauth.demo", acceptedSymbols: ["SBD"], minimumMilliUnits: 1000, memoPrefix: "x-")
        XCTAssertEqual(sbdOnly.decide(t(amount: "1.000 STEEM", memo: "x-" + code)), .rejected(.assetNotAccepted))
        XCTAssertEqual(sbdOnly.decide(t(amount: "0.999 SBD", memo: "x-" + code)), .rejected(.amountTooSmall))
        XCTAssertEqual(sbdOnly.decide(t(amount: "1.000 SBD", memo: code)), .rejected(.notALoginCode))
    }

    func testBlocksChainByIDAndCopiesAreComparedByTheirClaims() {
        func block(_ previous: String, _ id: String?, memo: String? = nil) -> Block {
            let ops: [ChainTransaction] = memo.map { [ChainTransaction(operations: [.transfer(Transfer(from: "alice", to: "steemauth.demo",
                                                                                   amount: Asset.parseLegacy("0.001 STEEM")!, memo: $0))])] } ?? []
            return Block(previous: previous, timestamp: ChainTime(secondsSinceEpoch: 1_700_000_000), witness: nil, blockID: id,
                         transactions: ops, transactionIDs: nil)
        }
        let a = block("00000009aa", "0000000aaa"), b = block("0000000aaa", "0000000bbb"), c = block("0000000bbb", "0000000ccc")
        XCTAssertEqual(BlockChaining.chainedPrefix([a, b, c], after: "00000009aa"), 3)
        XCTAssertEqual(BlockChaining.chainedPrefix([a, b, c], after: nil), 3, "a fresh start believes the first block's previous")
        XCTAssertEqual(BlockChaining.chainedPrefix([a, b, c], after: "00000009ff"), 0, "the first block must chain to the checkpoint's id")
        XCTAssertEqual(BlockChaining.chainedPrefix([a, block("0000000fff", "0000000bbb"), c], after: nil), 1)
        XCTAssertEqual(BlockChaining.chainedPrefix([a, block("0000000aaa", nil), c], after: nil), 1, "a block without an id cannot be chained")
        let m = TransferMatcher(serviceAccount: "steemauth.demo", acceptedSymbols: ["STEEM"], minimumMilliUnits: 1, memoPrefix: "")
        let honest = block("0000000aaa", "0000000bbb", memo: "abcdefghijklmnop")
        XCTAssertTrue(BlockChaining.sameForClaims(honest, honest, number: 11, matcher: m))
        XCTAssertFalse(BlockChaining.sameForClaims(honest, block("0000000aaa", "0000000bbb", memo: "zzzzzzzzzzzzzzzz"), number: 11, matcher: m),
                       "the same id with another claim: one copy is forged")
        XCTAssertFalse(BlockChaining.sameForClaims(honest, block("0000000aaa", "0000000bbc", memo: "abcdefghijklmnop"), number: 11, matcher: m))
        var tally = QuorumTally<String>(quorum: 2)
        XCTAssertNil(tally.add("yes"))
        XCTAssertNil(tally.add("no"))
        XCTAssertTrue(tally.disagreed)
        XCTAssertEqual(tally.add("yes"), "yes", "a third node settles it")
    }

    func testOperationsInBothForms() throws {
        let condenser = #"["transfer",{"from":"a","to":"b","amount":"0.001 STEEM","memo":"m"}]"#
        let appbase = #"{"type":"transfer_operation","value":{"from":"a","to":"b","amount":{"amount":"1","precision":3,"nai":"@@000000021"},"memo":"m"}}"#
        let a = try JSONDecoder().decode(ChainOperation.self, from: Data(condenser.utf8))
        let b = try JSONDecoder().decode(ChainOperation.self, from: Data(appbase.utf8))
        guard case .transfer(let ta) = a, case .transfer(let tb) = b else { return XCTFail("not transfers") }
        XCTAssertEqual(ta.amount.milliUnits, tb.amount.milliUnits)
        XCTAssertEqual(ta.amount.kind, tb.amount.kind)
        XCTAssertEqual(try JSONDecoder().decode(ChainOperation.self, from: Data(#"["vote",{"voter":"x"}]"#.utf8)), .other("vote"))
        XCTAssertEqual(try JSONDecoder().decode(ChainOperation.self, from: Data(#"{"type":"transfer_to_savings_operation","value":{}}"#.utf8)), .other("transfer_to_savings"))
        XCTAssertEqual(try JSONDecoder().decode(ChainOperation.self, from: Data(#"["transfer",{"from":1}]"#.utf8)), .malformedTransfer)
        XCTAssertThrowsError(try JSONDecoder().decode(ChainOperation.self, from: Data("42".utf8)))
    }

    func testRPCRequestForms() throws {
        let dotted = RPCRequest(id: 1, method: "condenser_api.get_block", params: .array([.int(5)]))
        let call = RPCRequest.call(id: 2, api: "condenser_api", method: "get_block", params: .array([.int(5)]))
        XCTAssertEqual(dotted.normalized?.api, "condenser_api")
        XCTAssertEqual(call.normalized?.method, "get_block")
        XCTAssertEqual(call.normalized?.params, .array([.int(5)]))
        let text = String(decoding: try JSONEncoder().encode(dotted), as: UTF8.self)
        XCTAssertTrue(text.contains(#""jsonrpc":"2.0""#) && text.contains(#""id":1"#))
    }
}

final class ReportRulesTests: XCTestCase {
    func entry(_ name: String) -> FollowEntry { FollowEntry(follower: "me", following: name, what: ["blog"]) }

    func testPagingDropsTheRepeatedStartAndStopsOnAShortPage() {
        let first = ["a", "b", "c"].map(entry)
        XCTAssertEqual(FollowPaging.names(on: first, start: ""), ["a", "b", "c"])
        XCTAssertEqual(FollowPaging.nextStart(after: first, limit: 3), "c")
        let second = ["c", "d", "e"].map(entry)
        XCTAssertEqual(FollowPaging.names(on: second, start: "c"), ["d", "e"])
        XCTAssertEqual(FollowPaging.nextStart(after: second, limit: 3), "e")
        let last = ["e"].map(entry)
        XCTAssertEqual(FollowPaging.names(on: last, start: "e"), [], "an empty last page")
        XCTAssertNil(FollowPaging.nextStart(after: last, limit: 3))
        XCTAssertNil(FollowPaging.nextStart(after: [], limit: 3))
        let mixed = [FollowEntry(follower: "me", following: "x", what: ["ignore"]), entry("y")]
        XCTAssertEqual(FollowPaging.names(on: mixed, start: ""), ["y"], "mutes/ignores are not follows")
    }

    func testChunking() {
        XCTAssertEqual(Array(1...5).chunked(into: 2), [[1, 2], [3, 4], [5]])
        XCTAssertEqual([Int]().chunked(into: 3), [])
        XCTAssertEqual(Array(1...3).chunked(into: 3), [[1, 2, 3]])
    }

    func testReportSortsAndNamesOnlyStaleAccounts() {
        let now = ChainTime("2026-01-01T00:00:00")!.secondsSinceEpoch
        func ago(_ days: Int, _ extra: Int64 = 0) -> ChainTime { ChainTime(secondsSinceEpoch: now - Int64(days) * 86400 - extra) }
        let accounts = [
            ChainAccount(name: "active", lastPost: ago(1)),
            ChainAccount(name: "edge", lastPost: ago(40)),
            ChainAccount(name: "justover", lastPost: ago(40, 1)),
            ChainAccount(name: "old", lastPost: ago(400)),
            ChainAccount(name: "older", lastPost: ago(900)),
            ChainAccount(name: "ghost", lastPost: ChainTime("1970-01-01T00:00:00")!),
            ChainAccount(name: "another", lastPost: ago(400)),
        ]
        let r = StaleReport.build(account: "me", following: accounts.map(\.name) + ["deleted", "old"], accounts: accounts,
                                  rule: StalenessRule(staleDays: 40), now: now)
        XCTAssertEqual(r.stale.map(\.name), ["older", "another", "old", "justover"])
        XCTAssertEqual(r.stale.map(\.days), [900, 400, 400, 40])
        XCTAssertEqual(r.neverPosted, ["ghost"])
        XCTAssertEqual(r.followingCount, 8)
        XCTAssertEqual(r.computedAt, "2026-01-01T00:00:00Z")
        XCTAssertFalse(r.stale.contains { $0.name == "active" || $0.name == "edge" })
    }
}

final class JSONValueTests: XCTestCase {
    func testJSONTextRoundTrips() throws {
        let v: JSONValue = .object(["a": .array([.int(1), .double(2.5), .string("x\"\n<"), .null, .bool(true)]), "b": .object([:])])
        XCTAssertEqual(try JSONDecoder().decode(JSONValue.self, from: Data(v.jsonText.utf8)), v)
    }
}
