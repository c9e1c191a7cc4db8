import Foundation
import Glibc
import SteemAuthAdapters
import SteemAuthCore
import XCTest

/// The report a visitor can act on, through nginx: CSV, the stale basis, an unfollow that reaches the
/// chain, and the ask page's QR code and copy button.
final class ReportActionsIntegrationTests: XCTestCase {
    var cluster: Cluster!

    override func tearDown() {
        if let cluster, (testRun?.failureCount ?? 0) > 0 { print("--- pool log ---\n" + cluster.poolLog().suffix(3000)) }
        cluster?.tearDown()
    }

    func start(_ env: [String: String] = [:]) throws {
        cluster = try Cluster(extraEnv: env)
        try cluster.startAll(devchain: true)
    }

    func loggedIn(as account: String) throws -> Browser { try cluster.loggedIn(as: account) }

    func rpc(_ method: String, _ params: [String: JSONValue]) throws {
        let request: JSONValue = .object(["jsonrpc": .string("2.0"), "id": .int(1), "method": .string(method), "params": .object(params)])
        let r = try HTTPClient().request("POST", url: cluster.env["STEEMAUTH_NODES"]!, headers: ["Content-Type: application/json"],
                                         body: Array(request.jsonText.utf8))
        XCTAssertFalse(r.text.contains("\"error\""), r.text)
    }

    func testCSVDownload() throws {
        try start()
        XCTAssertEqual(try HTTPClient().request(url: cluster.baseURL + "/steemauth/report.csv").status, 401)
        let anonymous = try HTTPClient().request(url: cluster.baseURL + "/steemauth/report.csv")
        XCTAssertEqual(anonymous.header("Content-Type"), "text/plain; charset=utf-8", "a 401 is no HTML page")
        try cluster.devchain(["seed", "--account", "alice", "--follows", "30", "--stale", "4", "--never", "2"])
        // A lying node's follow list with names that try a formula: never valid names, never in the CSV.
        try rpc("devchain.add_follows", ["account": .string("alice"), "names": .array([.string("=HYPERLINK(\"http://evil\",\"x\")"),
                                          .string("+cmd|' /C calc'!A0"), .string("@SUM(1+1)"), .string("-1+1")])])
        let b = try loggedIn(as: "alice")
        let r = try b.get("/steemauth/report.csv")
        XCTAssertEqual(r.status, 200)
        XCTAssertEqual(r.header("Content-Type"), "text/csv; charset=utf-8")
        XCTAssertEqual(r.header("Content-Disposition"), #"attachment; filename="stale-follows-alice.csv""#)
        let lines = r.text.components(separatedBy: "\r\n").filter { !$0.isEmpty }
        XCTAssertEqual(lines.first, "account,days_since_last_post,last_post")
        XCTAssertEqual(lines.count, 1 + 4 + 2)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(b.get("/steemauth/report.json").body)) as? [String: Any])
        let stale = try XCTUnwrap(json["stale"] as? [[String: Any]])
        for (i, entry) in stale.enumerated() {
            XCTAssertEqual(lines[1 + i], "\(entry["name"]!),\(entry["days"]!),\((entry["last_post"] as! String).prefix(10))")
        }
        XCTAssertEqual(Array(lines.suffix(2)), ["f00004-alice,,", "f00005-alice,,"], "never posted: no days, no date")
        for line in lines { XCTAssertFalse(["=", "+", "-", "@"].contains(line.first.map(String.init) ?? ""), "formula: \(line)") }
        XCTAssertTrue(cluster.poolLog().contains("invalid account names; dropped"))
    }

    func testStaleBasisLastRootPost() throws {
        try start(["STEEMAUTH_STALE_BASIS": "last_root_post"])
        // bob comments (last_post recent) but has not posted at top level for a year.
        try rpc("devchain.add_follows", ["account": .string("alice"), "names": .array([.string("bob")]),
                                        "last_post": .string(ChainTime(secondsSinceEpoch: unixSeconds() - 86400).description),
                                        "last_root_post": .string(ChainTime(secondsSinceEpoch: unixSeconds() - 365 * 86400).description)])
        let b = try loggedIn(as: "alice")
        let page = try b.get("/steemauth")
        XCTAssertTrue(page.text.contains("@bob<"), "stale by its last top-level post")
        XCTAssertTrue(page.text.contains("last_root_post"), "the report says which basis it used")
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(b.get("/steemauth/report.json").body)) as? [String: Any])
        XCTAssertEqual(json["basis"] as? String, "last_root_post")
    }

    func testAnUnfollowOnTheChainLeavesTheReportAfterARefresh() throws {
        try start()
        try cluster.devchain(["seed", "--account", "alice", "--follows", "12", "--stale", "3", "--never", "1"])
        let b = try loggedIn(as: "alice")
        let page = try b.get("/steemauth")
        XCTAssertTrue(page.text.contains("@f00000-alice<"))
        // The control a visitor without Keychain follows: the signer's custom-json page with the op.
        let json = FollowOperation.unfollowJSON(follower: "alice", following: "f00000-alice")
        XCTAssertTrue(page.text.contains(#"<a class="unfollow" data-unfollow="f00000-alice" href="/steemauth/unfollow?account=f00000-alice""#))
        let go = try b.get("/steemauth/unfollow?account=f00000-alice")
        XCTAssertEqual(go.status, 303)
        XCTAssertEqual(go.header("Location"), "https://steemlogin.com/sign/custom-json?authority=posting&required_auths=%5B%5D&required_posting_auths=%5B%22alice%22%5D&id=follow&json=" + urlEncoded(json),
                       "the signer link carries the follow op")
        XCTAssertEqual(try b.get("/steemauth/unfollow?account=Bad%0AName").status, 400)
        XCTAssertEqual(try Browser(cluster.baseURL).get("/steemauth/unfollow?account=bob").header("Location"), "/steemauth", "not logged in")
        // What the wallet broadcasts, pushed through the devchain.
        try cluster.devchain(["custom-json", "--account", "alice", "--id", "follow", "--json", json])
        XCTAssertTrue(try b.get("/steemauth").text.contains("@f00000-alice<"), "the cached report until a refresh")
        let refreshed = try b.post("/steemauth/refresh", headers: ["Origin: http://127.0.0.1:\(cluster.httpPort)"])
        XCTAssertEqual(refreshed.status, 303)
        let after = try b.get("/steemauth").text
        XCTAssertFalse(after.contains("@f00000-alice<"), "unfollowed: gone from the next report")
        XCTAssertTrue(after.contains("@f00001-alice<"))
        XCTAssertTrue(after.contains("<strong>11</strong>"), "one follow fewer")
    }

    func testAskPageHasAQRCodeOfThePayLinkAndACopyButton() throws {
        try start()
        let b = Browser(cluster.baseURL)
        let memo = try b.startLogin()
        let page = try b.get("/steemauth").text
        XCTAssertTrue(page.contains(#"<svg xmlns="http://www.w3.org/2000/svg" class="qr""#), "inline SVG, no outside image")
        XCTAssertTrue(page.contains(#"width="240""#), "at least 200 CSS px")
        XCTAssertTrue(page.contains(#"id="copy-memo" data-copy="\#(memo)""#))
        XCTAssertEqual(try b.get("/favicon.ico").status, 200)
        XCTAssertEqual(try b.get("/steemauth/static/favicon.svg").header("Content-Type"), "image/svg+xml")
    }

    func urlEncoded(_ s: String) -> String {
        var allowed = CharacterSet.alphanumerics; allowed.insert(charactersIn: "-._~")
        return s.addingPercentEncoding(withAllowedCharacters: allowed)!
    }
}
