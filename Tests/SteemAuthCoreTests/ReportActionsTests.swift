@testable import SteemAuthCore
import XCTest

/// The report's CSV, the unfollow operation, the stale basis and the QR code's SVG.
final class ReportActionsTests: XCTestCase {
    func testCSVCellsCannotBecomeFormulas() {
        XCTAssertEqual(CSVText.cell("alice"), "alice")
        XCTAssertEqual(CSVText.cell("=HYPERLINK(\"http://evil\")"), #""'=HYPERLINK(""http://evil"")""#)
        XCTAssertEqual(CSVText.cell("+1"), "'+1")
        XCTAssertEqual(CSVText.cell("-2+3"), "'-2+3")
        XCTAssertEqual(CSVText.cell("@SUM(1)"), "'@SUM(1)")
        XCTAssertEqual(CSVText.cell("\tx"), "'\tx")
        XCTAssertEqual(CSVText.cell("a,b"), #""a,b""#)
        XCTAssertEqual(CSVText.cell("line\nbreak"), "\"line\nbreak\"")
        XCTAssertEqual(CSVText.row(["a", "", "c"]), "a,,c\r\n")
    }

    func testReportCSV() {
        let report = StaleReport(account: "alice", computedAt: "2026-11-24T00:00:00Z", staleDays: 40, followingCount: 5,
                                 stale: [.init(name: "bob", lastPost: "2026-01-02T03:04:05", days: 326), .init(name: "carol", lastPost: "2026-09-01T00:00:00", days: 84)],
                                 neverPosted: ["dave"], basis: .lastPost)
        XCTAssertEqual(StaleReportCSV.text(report),
                       "account,days_since_last_post,last_post\r\nbob,326,2026-01-02\r\ncarol,84,2026-09-01\r\ndave,,\r\n")
    }

    func testUnfollowOperationIsWhatWalletsBroadcast() {
        XCTAssertEqual(FollowOperation.unfollowJSON(follower: "alice", following: "bob.x"),
                       #"["follow",{"follower":"alice","following":"bob.x","what":[]}]"#)
    }

    func testStaleBasis() {
        let now = ChainTime("2026-11-24T00:00:00")!.secondsSinceEpoch
        let commenter = ChainAccount(name: "bob", lastPost: ChainTime("2026-11-20T00:00:00")!, lastRootPost: ChainTime("2026-01-01T00:00:00")!)
        let rule = StalenessRule(staleDays: 40)
        let byPost = StaleReport.build(account: "a", following: ["bob"], accounts: [commenter], rule: rule, now: now, basis: .lastPost)
        let byRoot = StaleReport.build(account: "a", following: ["bob"], accounts: [commenter], rule: rule, now: now, basis: .lastRootPost)
        XCTAssertEqual(byPost.stale, [], "a recent comment keeps bob active by last_post")
        XCTAssertEqual(byRoot.stale.map(\.name), ["bob"], "but not by last_root_post")
        XCTAssertEqual(byRoot.basis, .lastRootPost)
        XCTAssertEqual(StaleBasis(rawValue: "last_root_post"), .lastRootPost)
        XCTAssertThrowsError(try AppConfig.load(environment: ["STEEMAUTH_ACCOUNT": "steemauth.demo", "STEEMAUTH_SECRET": String(repeating: "ab", count: 32),
                                                              "STEEMAUTH_STALE_BASIS": "whenever"])) { error in
            XCTAssertTrue("\(error)".contains("STEEMAUTH_STALE_BASIS"))
        }
    }

    func testQRSVGDrawsEveryDarkModuleOnce() {
        // A 3x3 matrix: a dark run of 2 on the first row, one module on the last.
        let m = QRModules(width: 3, dark: [true, true, false, false, false, false, false, false, true])
        let svg = m.svg(pixels: 240, label: "QR")
        XCTAssertTrue(svg.contains(#"viewBox="0 0 11 11""#), "4 modules of quiet zone each side")
        XCTAssertTrue(svg.contains(##"stroke="#000" d="M4 4.5h2M6 6.5h1""##), svg)
        XCTAssertTrue(svg.contains(#"width="240""#))
    }
}
