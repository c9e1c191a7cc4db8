@testable import FastCGIKit
import XCTest

/// The header block a worker writes can never be split, whatever a route puts in a header.
final class ResponseTests: XCTestCase {
    func testCRLFAndNULAreStrippedFromHeaderNamesAndValues() {
        let hostile = "evil\r\nSet-Cookie: pwn=1\r\nX-SteemAuth-Account: admin\u{0}"
        let r = Response(status: 200, headers: [("X-SteemAuth-Account", hostile), ("X-Bad\r\nName", "v"), ("Location", "/\n\nbody")],
                         body: Array("hello".utf8))
        let text = String(decoding: r.serialized(includeBody: true), as: UTF8.self)
        let head = text.components(separatedBy: "\r\n\r\n")[0]
        let lines = head.components(separatedBy: "\r\n")
        XCTAssertEqual(lines, ["Status: 200 OK",
                               "X-SteemAuth-Account: evilSet-Cookie: pwn=1X-SteemAuth-Account: admin",
                               "X-BadName: v",
                               "Location: /body",
                               "Content-Length: 5"])
        XCTAssertFalse(head.contains("\n\n") || head.contains("\u{0}"))
        XCTAssertTrue(text.hasSuffix("\r\n\r\nhello"))
    }

    func testPlainHeadersPassUnchangedAndHEADHasNoBody() {
        let r = Response(status: 302, headers: [("Location", "/steemauth?c=1"), ("Set-Cookie", "steemauth=abc; Path=/; HttpOnly")], body: [1, 2])
        let text = String(decoding: r.serialized(includeBody: false), as: UTF8.self)
        XCTAssertEqual(text, "Status: 302 Found\r\nLocation: /steemauth?c=1\r\nSet-Cookie: steemauth=abc; Path=/; HttpOnly\r\nContent-Length: 2\r\n\r\n")
    }
}

final class AcceptEncodingTests: XCTestCase {
    func testGzipIsTakenOnlyWhenOffered() {
        for yes in ["gzip", "gzip, deflate, br", "br;q=1.0, gzip;q=0.8, *;q=0.1", " GZIP ", "x-gzip"] {
            XCTAssertTrue(Request.acceptsGzip(Array(yes.utf8)), yes)
        }
        for no in ["", "identity", "br", "gzip;q=0", "deflate, gzip;q=0.0", "gzipx"] {
            XCTAssertFalse(Request.acceptsGzip(Array(no.utf8)), no)
        }
    }
}
