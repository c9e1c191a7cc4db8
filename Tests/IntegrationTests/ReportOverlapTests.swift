import Foundation
import Logging
import SteemAuthAdapters
import SteemAuthCore
import XCTest

/// The report fetches a page's accounts while it fetches the next page, in batches spread over
/// the nodes. Whatever order the nodes answer in, whatever batch size they take and whichever node
/// fails, the report is the one a plain page-by-page, batch-by-batch fetch gives.
final class ReportOverlapTests: XCTestCase {
    var cluster: Cluster!

    override func tearDown() {
        if let cluster, (testRun?.failureCount ?? 0) > 0 { print("--- pool log ---\n" + cluster.poolLog().suffix(3000)) }
        cluster?.tearDown()
    }

    /// Redis, a devchain of `nodes` listeners (each answering concurrent requests up to
    /// `jitterMs` late, at random, so they come back shuffled), the pool and nginx.
    @discardableResult
    func start(nodes: Int = 2, jitterMs: Int = 0, latencyMs: Int = 0, batchLimit: Int? = nil, env: [String: String] = [:]) throws -> [String] {
        cluster = try Cluster(extraEnv: env)
        try cluster.startRedis()
        let ports = (0..<nodes).map { _ in Cluster.freePort() }
        var args = ["serve", "--block-interval", "0", "--account", cluster.env["STEEMAUTH_ACCOUNT"]!]
        args += ports.flatMap { ["--listen", "127.0.0.1:\($0)"] }
        if let batchLimit { args += ["--batch-limit", String(batchLimit)] }
        if jitterMs > 0 { args += ["--jitter-ms", String(jitterMs)] }
        if latencyMs > 0 { args += ["--latency-ms", String(latencyMs)] }
        cluster.extraProcesses.append(try cluster.launch("devchain", args, log: cluster.dir + "/devchain.log",
                                                         executable: Cluster.binary("steemauth-devchain")))
        for port in ports { try waitUntil("devchain listens", seconds: 30) { Cluster.canConnect(port: port) } }
        let urls = ports.map { "http://127.0.0.1:\($0)" }
        cluster.env["STEEMAUTH_NODES"] = urls.joined(separator: ",")
        try cluster.startPool(); try cluster.startNginx()
        return urls
    }

    /// The account's report from report.json, as the pool computed it.
    func report(_ b: Browser) throws -> StaleReport {
        let r = try b.get("/steemauth/report.json")
        XCTAssertEqual(r.status, 200, r.text)
        return try JSONDecoder().decode(StaleReport.self, from: Data(r.text.utf8))
    }

    /// The same report fetched without overlap, as it was before: every page in turn, then the
    /// accounts in batches in turn, from one node; built for the same moment as `like`.
    func plainReport(_ account: String, node: String, like: StaleReport) throws -> StaleReport {
        let rpc = RPCClient(nodes: [node], timeoutSeconds: 30, logger: Logger(label: "test"))
        var following: [String] = [], start = ""
        while true {
            let page = try rpc.call(RPCMethod.getFollowing, .array([.string(account), .string(start), .string("blog"), .int(1000)]),
                                    as: [FollowEntry].self) ?? []
            following += FollowPaging.names(on: page, start: start)
            guard let next = FollowPaging.nextStart(after: page) else { break }
            start = next
        }
        var accounts: [ChainAccount] = []
        for calls in following.chunked(into: 100).chunked(into: 10) {
            let replies = try rpc.batch(calls.map { names in (RPCMethod.getAccounts, JSONValue.array([.array(names.map { .string($0) })])) },
                                        as: [ChainAccount].self)
            accounts += replies.compactMap { $0 }.flatMap { $0 }
        }
        let now = try XCTUnwrap(ChainTime(String(like.computedAt.dropLast()))).secondsSinceEpoch
        return StaleReport.build(account: account, following: following, accounts: accounts,
                                 rule: StalenessRule(staleDays: like.staleDays), now: now, basis: like.basis ?? .lastPost)
    }

    /// Two nodes answering in shuffled order: the report is the plain fetch's, entry for entry, and
    /// no call was made twice.
    func testTheReportIsTheSameWhateverOrderTheNodesAnswerIn() throws {
        let nodes = try start(nodes: 2, jitterMs: 40)
        try cluster.devchain(["seed", "--account", "bob", "--follows", "3500", "--stale", "1700", "--never", "90"])
        let b = try cluster.loggedIn(as: "bob")
        let computed = try report(b)
        XCTAssertEqual(computed.followingCount, 3500)
        XCTAssertEqual(computed.stale.count, 1700)
        XCTAssertEqual(computed.neverPosted.count, 90)
        let plain = try plainReport("bob", node: nodes[1], like: computed)
        XCTAssertEqual(computed, plain)
        let calls = try cluster.rpcCalls(nodes[0])
        XCTAssertEqual(calls["get_following"], 4 + 4, "4 pages for the pool, 4 for the plain fetch: none asked twice")
        // The plain fetch asks for 35 × 100 names; the pool for each page's names in calls of 100
        // (pages of 1000, 999, 999 and 502 new names: 36 calls).
        XCTAssertEqual(calls["get_accounts"], 36 + 35, "every name looked up once by each")
        XCTAssertTrue(cluster.poolLog().contains("report computed"))
        XCTAssertFalse(cluster.poolLog().contains("node failed"))
    }

    /// jussi-like nodes refuse batches over 3 calls: the report's batches of 10 are refused, sent
    /// again in halves until they fit, and the report is still the plain fetch's.
    func testABatchRefusedMidReportIsSentAgainSmaller() throws {
        let nodes = try start(nodes: 1, jitterMs: 20, batchLimit: 3)
        try cluster.devchain(["seed", "--account", "carol", "--follows", "2500", "--stale", "600", "--never", "30"])
        let b = try cluster.loggedIn(as: "carol")
        let computed = try report(b)
        XCTAssertEqual(computed.followingCount, 2500)
        XCTAssertTrue(cluster.poolLog().contains("node refused a batch; halving"))
        // The plain fetch's batches of 10 are refused too, and split by the client the same way.
        XCTAssertEqual(computed, try plainReport("carol", node: nodes[0], like: computed))
    }

    /// The second node fails every request for a while (its chain-id check, then its first
    /// lookups): its share goes to the first node, and the report is whole.
    func testANodeFailingMidReportIsReplacedByAnother() throws {
        let nodes = try start(nodes: 2, jitterMs: 20)
        try cluster.devchain(["seed", "--account", "dave", "--follows", "2200", "--stale", "500", "--never", "40"])
        let b = try cluster.loggedIn(as: "dave")
        try cluster.devchain(["fault", "--mode", "garbage", "--count", "4"], node: nodes[1])
        let computed = try report(b)
        XCTAssertEqual(computed.followingCount, 2200)
        XCTAssertEqual(computed.stale.count, 500)
        XCTAssertEqual(computed.neverPosted.count, 40)
        XCTAssertTrue(cluster.poolLog().contains("rpc: node failed, trying next"))
        XCTAssertEqual(computed, try plainReport("dave", node: nodes[0], like: computed))
    }

    /// The second node answers every lookup with a "never posted" copy of every other account too:
    /// names another node answered are not overridden, its batches count as failed and go to the
    /// honest node, and the report is the honest fetch's.
    func testANodeAnsweringForNamesItWasNotAskedDecidesNone() throws {
        let nodes = try start(nodes: 2)
        try cluster.devchain(["seed", "--account", "gail", "--follows", "1500", "--stale", "200", "--never", "10"])
        let b = try cluster.loggedIn(as: "gail")
        try cluster.devchain(["lie", "unasked-accounts"], node: nodes[1])
        let computed = try report(b)
        XCTAssertEqual(computed.followingCount, 1500)
        XCTAssertEqual(computed.neverPosted.count, 10, "no forged 'never posted' entry")
        XCTAssertEqual(computed.stale.count, 200)
        XCTAssertTrue(cluster.poolLog().contains("not asked for"))
        XCTAssertEqual(computed, try plainReport("gail", node: nodes[0], like: computed))
    }

    /// The first node answers nothing useful from the start (every page and lookup fails on
    /// it): the second serves the whole report.
    func testAReportFailsOverWhenTheFirstNodeFailsItsPages() throws {
        let nodes = try start(nodes: 2)
        try cluster.devchain(["seed", "--account", "erin", "--follows", "1200", "--stale", "100", "--never", "5"])
        let b = try cluster.loggedIn(as: "erin")
        try cluster.devchain(["fault", "--mode", "error", "--count", "2"], node: nodes[0])
        let computed = try report(b)
        XCTAssertEqual(computed.followingCount, 1200)
        XCTAssertEqual(computed, try plainReport("erin", node: nodes[1], like: computed))
    }

    /// Pages each 300 ms late cannot all come within a 1 s deadline (a lower bound on any
    /// machine): the visitor gets the clean "chain is slow" page, then the remembered failure.
    func testTheDeadlineStillEndsASlowReportCleanly() throws {
        try start(nodes: 2, latencyMs: 300, env: ["STEEMAUTH_REPORT_TIMEOUT": "1"])
        try cluster.devchain(["seed", "--account", "frank", "--follows", "6000", "--stale", "10", "--never", "0"])
        let b = try cluster.loggedIn(as: "frank")
        let slow = try b.get("/steemauth")
        XCTAssertEqual(slow.status, 504, slow.text)
        XCTAssertTrue(slow.text.contains("The chain is slow"), slow.text)
        XCTAssertTrue(slow.text.contains("the nodes failed, retry in 30 s"), slow.text)
        let again = try b.get("/steemauth")
        XCTAssertEqual(again.status, 503)
        XCTAssertTrue(again.text.contains("the nodes failed, retry in"), again.text)
        XCTAssertTrue(cluster.poolLog().contains("the report took longer than 1.0 s"))
    }

    /// The primitive under the report: batches to two nodes at once, answered in shuffled order,
    /// each result handed over with its own index and in its own calls' order; a batch over the
    /// node's limit is split; more batches sent from a reply; a node of another chain is dropped
    /// (its chain id is asked alongside the first batch) and its batches fail, named as shown.
    func testConcurrentBatchesEachGetTheirOwnResults() throws {
        let nodes = try start(nodes: 2, jitterMs: 30, batchLimit: 4)
        try cluster.devchain(["seed", "--account", "gina", "--follows", "600", "--stale", "0", "--never", "0"])
        let names = (0..<600).map { "f" + String(repeating: "0", count: 5 - String($0).count) + String($0) + "-gina" }
        let rpc = RPCClient(nodes: nodes, timeoutSeconds: 30, expectedChainID: ChainIdentity.steemMainnet, logger: Logger(label: "test"))
        func lookups(_ slice: ArraySlice<String>, node: Int) -> RPCBatchRequest {
            RPCBatchRequest(node: node, calls: Array(slice).chunked(into: 10).map { (RPCMethod.getAccounts, JSONValue.array([.array($0.map { .string($0) })])) })
        }
        // 6 batches of 10 calls (over the limit of 4), alternating nodes; the first reply asks for 2 more.
        var batches: [[String]] = stride(from: 0, to: 600, by: 100).map { Array(names[$0..<($0 + 100)]) }
        var results: [Int: [String]] = [:], order: [Int] = []
        rpc.concurrently(batches.enumerated().map { lookups($1[...], node: $0 % 2) }, as: [ChainAccount].self) { index, result in
            order.append(index)
            guard case .success(let replies) = result else { XCTFail("batch \(index): \(result)"); return [] }
            XCTAssertEqual(replies.count, (batches[index].count + 9) / 10, "one result a call")
            results[index] = replies.flatMap { $0 ?? [] }.map(\.name)
            guard index == 0 else { return [] }
            batches += [Array(names[0..<30]), Array(names[570..<600])]
            return [lookups(names[0..<30], node: 1), lookups(names[570..<600], node: 0)]
        }
        XCTAssertEqual(Set(order), Set(0..<8), "each batch handed over once")
        XCTAssertEqual(order.count, 8)
        for (index, expected) in batches.enumerated() { XCTAssertEqual(results[index], expected, "batch \(index)") }
        XCTAssertTrue(rpc.batchSizeByNode.values.allSatisfy { $0 <= 4 }, "halved from 50 to what the nodes take: \(rpc.batchSizeByNode)")
        XCTAssertEqual(rpc.failures, [:])

        // A node of another chain: dropped; its batches fail, the other node's are answered.
        try cluster.devchain(["lie", "chain-id", "--chain-id", ChainIdentity.hiveMainnet], node: nodes[1])
        let fresh = RPCClient(nodes: nodes.map { $0.replacingOccurrences(of: "http://", with: "http://user:secret@") }, timeoutSeconds: 30,
                              expectedChainID: ChainIdentity.steemMainnet, logger: Logger(label: "test"))
        var outcomes: [Int: Result<[[ChainAccount]?], RPCFailure>] = [:]
        fresh.concurrently([lookups(names[0..<20], node: 1), lookups(names[20..<40], node: 0), lookups(names[40..<60], node: 1)],
                           as: [ChainAccount].self) { index, result in outcomes[index] = result; return [] }
        XCTAssertEqual(outcomes.count, 3)
        for index in [0, 2] {
            guard case .failure(let failure)? = outcomes[index] else { XCTFail("batch \(index) to the other chain's node answered"); continue }
            XCTAssertTrue(failure.reason.contains("serves another chain"), failure.reason)
            XCTAssertFalse(failure.description.contains("secret"), "the node as it may be shown: \(failure)")
        }
        guard case .success(let answered)? = outcomes[1] else { return XCTFail("the honest node's batch failed: \(String(describing: outcomes[1]))") }
        XCTAssertEqual(answered.flatMap { $0 ?? [] }.map(\.name), Array(names[20..<40]))
        XCTAssertEqual(fresh.dropped, [1])
        XCTAssertEqual(fresh.failures[fresh.nodes[1]], 1)
    }
}
