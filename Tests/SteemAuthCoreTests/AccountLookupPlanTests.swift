import XCTest
@testable import SteemAuthCore

final class AccountLookupPlanTests: XCTestCase {
    /// Every name in exactly one call, in order, whatever the nodes and their sizes.
    func testEveryNameOnceInOrder() {
        for count in [0, 1, 99, 100, 101, 999, 1000, 1001, 4321] {
            for nodes in [[(0, 50)], [(0, 50), (1, 50)], [(1, 3), (0, 1), (2, 7)], [(0, 1)]] {
                let plan = AccountLookupPlan(nameCount: count, nodes: nodes.map { (node: $0.0, batchSize: $0.1) }, namesPerCall: 100, callsPerBatch: 10)
                let ranges = plan.batches.flatMap(\.calls)
                XCTAssertEqual(ranges.flatMap { Array($0) }, Array(0..<count), "\(count) names over \(nodes)")
                XCTAssertTrue(ranges.allSatisfy { $0.count <= 100 && !$0.isEmpty })
            }
        }
    }

    func testBatchesWithinEachNodesSizeAndSpreadOverTheNodes() {
        let plan = AccountLookupPlan(nameCount: 1000, nodes: [(node: 0, batchSize: 50), (node: 1, batchSize: 3)], namesPerCall: 100, callsPerBatch: 10)
        XCTAssertEqual(plan.batches.map(\.node), [0, 1, 1])
        XCTAssertEqual(plan.batches.map(\.calls.count), [5, 3, 2])
        XCTAssertEqual(plan.batches[0].calls.first, 0..<100)
        XCTAssertEqual(plan.batches[1].calls.first, 500..<600)
        // One node: batches of at most callsPerBatch.
        let one = AccountLookupPlan(nameCount: 2500, nodes: [(node: 1, batchSize: 50)], namesPerCall: 100, callsPerBatch: 10)
        XCTAssertEqual(one.batches.map(\.calls.count), [10, 10, 5])
        XCTAssertEqual(Set(one.batches.map(\.node)), [1])
        // Fewer calls than nodes: only the first nodes are asked.
        let few = AccountLookupPlan(nameCount: 150, nodes: [(node: 2, batchSize: 50), (node: 0, batchSize: 50), (node: 1, batchSize: 50)], namesPerCall: 100, callsPerBatch: 10)
        XCTAssertEqual(few.batches, [.init(node: 2, calls: [0..<100]), .init(node: 0, calls: [100..<150])])
        XCTAssertEqual(AccountLookupPlan(nameCount: 10, nodes: [], namesPerCall: 100, callsPerBatch: 10).batches, [])
    }
}
