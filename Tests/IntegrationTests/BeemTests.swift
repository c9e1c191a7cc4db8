import Foundation
import XCTest

/// A well-known client works against the devchain unchanged: beem streams transfers, reads an
/// account and pages through its follows (Tests/clients/beem_client.py).
final class BeemTests: XCTestCase {
    func testBeemStreamsTransfersAndReadsAccountsAndFollows() throws {
        let python = Cluster.repoRoot.appendingPathComponent(".build/beem-venv/bin/python").path
        guard FileManager.default.isExecutableFile(atPath: python) else {
            throw XCTSkip("beem test skipped: .build/beem-venv missing (scripts/test installs beem from PyPI)")
        }
        let cluster = try Cluster()
        defer { cluster.tearDown() }
        let node = try cluster.startDevchain()[0]
        try cluster.devchain(["seed", "--account", "alice", "--follows", "250", "--stale", "3", "--never", "1"])
        try cluster.devchain(["generate", "--blocks", "30", "--transfers-per-block", "2"])
        try cluster.devchain(["transfer", "--from", "alice", "--to", "steemauth.demo", "--amount", "0.001 SBD", "--memo", "hello beem", "--now"])
        let p = try cluster.launch("beem", [Cluster.repoRoot.appendingPathComponent("Tests/clients/beem_client.py").path, node, "alice"],
                                   log: cluster.dir + "/beem.log", executable: python)
        Cluster.waitForExit(p, seconds: 90)
        let output = cluster.log("beem.log")
        XCTAssertEqual(p.terminationStatus, 0, output.suffix(3000).description)
        let line = try XCTUnwrap(output.split(separator: "\n").last { $0.hasPrefix("{") })
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        let transfers = try XCTUnwrap(json["transfers"] as? [[String: Any]])
        XCTAssertEqual(transfers.count, 61, "every transfer of the chain, in order")
        let last = try XCTUnwrap(transfers.last)
        XCTAssertEqual(last["memo"] as? String, "hello beem")
        XCTAssertEqual(last["amount"] as? String, "0.001 SBD")
        XCTAssertEqual(last["block"] as? Int, 32)
        XCTAssertEqual(json["account"] as? String, "alice")
        XCTAssertEqual((json["following"] as? [String])?.count, 250, "paged with the repeated start dropped")
    }
}
