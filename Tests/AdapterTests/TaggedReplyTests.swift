@testable import SteemAuthAdapters
import XCTest

/// Every script answers with a tag first; one reader decodes it, and anything else is a clear error.
final class TaggedReplyTests: XCTestCase {
    let script = LuaScript(name: "probe", source: "return {'ok'}")

    func testTheTagAndTheFieldsAfterIt() throws {
        let reply = try TaggedReply(.array([.bulk(Array("cached".utf8)), .bulk([1, 2]), .integer(7), .bulk(Array("42".utf8))]), of: script)
        XCTAssertEqual(reply.tag, "cached")
        XCTAssertEqual(reply.bytes(0), [1, 2])
        XCTAssertEqual(reply.integer(1), 7)
        XCTAssertEqual(reply.integer(2), 42, "a number the script sent as text")
        XCTAssertEqual(reply.string(1), "7")
        XCTAssertNil(reply.bytes(3), "past the end")
        XCTAssertNil(reply.bytes(1), "not a string")
    }

    func testAnythingElseIsAnErrorNamingTheScript() {
        for bad: RedisReply in [.integer(1), .array([]), .array([.integer(1)]), .null] {
            XCTAssertThrowsError(try TaggedReply(bad, of: script)) { error in
                XCTAssertTrue("\(error)".contains("unexpected probe reply"), "\(error)")
            }
        }
        XCTAssertThrowsError(try TaggedReply(.error("ERR boom"), of: script)) { error in
            XCTAssertEqual((error as? RedisError)?.message, "ERR boom", "Redis's own error passes through")
        }
        let unknown = try? TaggedReply(.array([.bulk(Array("maybe".utf8))]), of: script)
        XCTAssertEqual(unknown?.unexpected.message, "unexpected probe reply maybe []")
    }
}
