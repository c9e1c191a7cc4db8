import XCTest
@testable import SteemAuthCore

/// Every recorded reply in ../shared/fixtures/real must decode (read in place, never copied).
final class RealFixtureTests: XCTestCase {
    static var fixtureDirectory: String? {
        if let env = ProcessInfo.processInfo.environment["STEEMAUTH_FIXTURES"] { return env }
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let dir = repo.deletingLastPathComponent().appendingPathComponent("shared/fixtures/real").path
        return FileManager.default.fileExists(atPath: dir) ? dir : nil
    }

    func load(_ name: String) throws -> Data {
        guard let dir = Self.fixtureDirectory else { throw XCTSkip("../shared/fixtures/real not found: fixture tests skipped") }
        return try Data(contentsOf: URL(fileURLWithPath: dir + "/" + name))
    }

    struct HistoryEntry: Decodable {
        let op: ChainOperation
        let trxID: String
        init(from decoder: any Decoder) throws {
            var c = try decoder.unkeyedContainer()
            _ = try c.decode(Int64.self)
            struct Body: Decodable { let op: ChainOperation; let trx_id: String }
            let body = try c.decode(Body.self)
            op = body.op; trxID = body.trx_id
        }
    }
    struct Pair<R: Decodable, P: Decodable>: Decodable { let request: R; let response: P }

    func testCondenserAndAppbaseAccountHistoryAgree() throws {
        let legacy = try JSONDecoder().decode([HistoryEntry].self, from: load("hive_condenser_get_account_history_blocktrades_transfers.result.json"))
        struct Wrapped: Decodable { let history: [HistoryEntry] }
        let nai = try JSONDecoder().decode(Wrapped.self, from: load("hive_account_history_api_blocktrades_transfers_nai.result.json")).history
        XCTAssertEqual(legacy.count, nai.count)
        XCTAssertGreaterThan(legacy.count, 0)
        for (l, n) in zip(legacy, nai) {
            guard case .transfer(let a) = l.op, case .transfer(let b) = n.op else { return XCTFail("expected transfers") }
            XCTAssertEqual(a.from, b.from); XCTAssertEqual(a.to, b.to); XCTAssertEqual(a.memo, b.memo)
            XCTAssertEqual(a.amount.milliUnits, b.amount.milliUnits); XCTAssertEqual(a.amount.kind, b.amount.kind)
        }
        guard case .transfer(let first) = legacy[0].op else { return XCTFail() }
        XCTAssertEqual(first.to, "blocktrades"); XCTAssertEqual(first.amount.milliUnits, 1372); XCTAssertEqual(first.amount.kind, .debt)
        // An exchange deposit memo is not a login code.
        let m = TransferMatcher(serviceAccount: "blocktrades", acceptedSymbols: ["HIVE", "HBD"], minimumMilliUnits: 1, memoPrefix: "")
        XCTAssertEqual(m.decide(legacy[0].op), .rejected(.notALoginCode))
    }

    func testGetStateTransferHistoryDecodes() throws {
        struct State: Decodable { let accounts: [String: Acct] }
        struct Acct: Decodable { let transfer_history: [HistoryEntry] }
        let state = try JSONDecoder().decode(State.self, from: load("steem_condenser_get_state_jenkinrocket_transfers.result.json"))
        let history = try XCTUnwrap(state.accounts["jenkinrocket"]?.transfer_history)
        let transfers = history.compactMap { e -> Transfer? in if case .transfer(let t) = e.op { return t }; return nil }
        XCTAssertGreaterThan(transfers.count, 0)
        XCTAssertTrue(transfers.contains { $0.to == "bittrex" && $0.amount.kind == .debt })
    }

    func testBlockRangeWithNAITransfer() throws {
        let range = try JSONDecoder().decode(BlockAPIGetBlockRangeResult.self, from: load("hive_block_api_get_block_range_1000000_x1000_nai.result.json"))
        XCTAssertEqual(range.blocks.count, 1000)
        XCTAssertEqual(range.blocks.first?.number, 1_000_000)
        XCTAssertEqual(range.blocks.last?.number, 1_000_999)
        var found: [(Transfer, String)] = []
        for block in range.blocks {
            for (i, tx) in block.transactions.enumerated() {
                for op in tx.operations { if case .transfer(let t) = op { found.append((t, block.transactionID(at: i))) } }
            }
        }
        XCTAssertEqual(found.count, 1)
        XCTAssertEqual(found[0].0.from, "openledger"); XCTAssertEqual(found[0].0.to, "register")
        XCTAssertEqual(found[0].0.amount.milliUnits, 10000); XCTAssertEqual(found[0].0.amount.kind, .core)
        XCTAssertEqual(found[0].1.count, 40)
    }

    func testBlocksInCondenserAndBlockAPIForms() throws {
        let legacy = try JSONDecoder().decode(RPCResponse<Block>.self, from: load("steem_condenser_get_block_2016_radiator.response.json"))
        let block = try XCTUnwrap(legacy.result)
        XCTAssertEqual(block.number, 0x4d1738)
        XCTAssertTrue(block.transactions.flatMap(\.operations).allSatisfy { if case .other = $0 { return true }; return false })

        let single = try JSONDecoder().decode(Pair<JSONValue, RPCResponse<BlockAPIGetBlockResult>>.self, from: load("steem_block_api_get_block_12345678_2018.pair.json"))
        XCTAssertEqual(single.response.result?.block?.number, 12345678)

        let batch = try JSONDecoder().decode(Pair<[RPCRequest], [RPCResponse<BlockAPIGetBlockResult>]>.self, from: load("steem_jsonrpc_batch_block_api_get_block_9001_2018.pair.json"))
        XCTAssertEqual(batch.request.count, batch.response.count)
        for (req, resp) in zip(batch.request, batch.response) {
            XCTAssertEqual(req.id, resp.id)
            XCTAssertEqual(resp.result?.block?.number, req.params?["block_num"]?.intValue)
        }
    }

    func testDynamicGlobalPropertiesAndErrors() throws {
        let c = try JSONDecoder().decode(DynamicGlobalProperties.self, from: load("hive_condenser_get_dynamic_global_properties.result.json"))
        let d = try JSONDecoder().decode(DynamicGlobalProperties.self, from: load("hive_database_api_get_dynamic_global_properties_nai.result.json"))
        XCTAssertEqual(c, d)
        XCTAssertEqual(c.headBlockNumber, 5_000_000); XCTAssertEqual(c.lastIrreversibleBlockNum, 4_999_980)

        let e = try JSONDecoder().decode(RPCErrorObject.self, from: load("hive_error_enum_virtual_ops_invalid_param.error.json"))
        XCTAssertEqual(e.code, -32000)
        let legacyError = try JSONDecoder().decode(RPCResponse<JSONValue>.self, from: load("steem_legacy_error_2016_radiator.response.json"))
        XCTAssertEqual(legacyError.error?.code, 1)

        let pairs = try JSONDecoder().decode([Pair<RPCRequest, RPCResponse<JSONValue>>].self, from: load("steem_api_steemit_com_errors_and_dgp_2018.pairs.json"))
        let codes = Set(pairs.compactMap { $0.response.error?.code })
        XCTAssertTrue(codes.contains(-32000) && codes.contains(-32003), "\(codes)")
        for p in pairs where p.request.method == RPCMethod.getDynamicGlobalProperties {
            let dgp = try JSONDecoder().decode(DynamicGlobalProperties.self, from: JSONEncoder().encode(p.response.result))
            XCTAssertGreaterThan(dgp.headBlockNumber, dgp.lastIrreversibleBlockNum)
        }
        let empty = pairs.first { $0.request.method == RPCMethod.getAccounts }!
        XCTAssertEqual(empty.response.result, .array([]))
    }

    func testAppbaseCallAndDottedFormsGiveTheSameAccounts() throws {
        let pairs = try JSONDecoder().decode([Pair<RPCRequest, RPCResponse<JSONValue>>].self, from: load("steem_appbase_call_vs_dotted_get_accounts_dgp_2017.pairs.json"))
        let accounts = try pairs.filter { $0.request.normalized?.method == "get_accounts" }.map {
            try JSONDecoder().decode([ChainAccount].self, from: JSONEncoder().encode($0.response.result))
        }
        XCTAssertEqual(accounts.count, 2)
        XCTAssertEqual(accounts[0], accounts[1])
        XCTAssertEqual(accounts[0].first?.name, "steemit")
        XCTAssertEqual(Set(pairs.compactMap { $0.request.normalized?.api }), ["condenser_api", "database_api"])
    }

    func testFollowingAndAccounts() throws {
        let follows = try JSONDecoder().decode([FollowEntry].self, from: load("steem_condenser_get_following_ned.result.json"))
        XCTAssertEqual(follows.count, 100)
        XCTAssertTrue(follows.allSatisfy { $0.follower == "ned" && $0.what == ["blog"] })
        let request = try JSONDecoder().decode(RPCRequest.self, from: load("steem_condenser_get_following_ned.request.json"))
        XCTAssertEqual(request.normalized?.method, "get_following")
        let accounts = try JSONDecoder().decode([ChainAccount].self, from: load("hive_condenser_get_accounts_multiple.result.json"))
        XCTAssertEqual(accounts.count, 5)
        XCTAssertFalse(accounts.contains { $0.name == "not.existing.account" })
    }
}
