import XCTest
import Foundation
import Logging
@testable import SteemAuthAdapters
@testable import SteemAuthCore

final class CookieSigningTests: XCTestCase {
    /// Official keyed BLAKE2b-512 known answers (blake2b-kat.txt: key = 00..3f, input = 00..n-1).
    func testLibB2AgainstOfficialKeyedVectors() {
        let key = Array(UInt8(0)...UInt8(63))
        let vectors: [(Int, String)] = [
            (0, "10ebb67700b1868efb4417987acf4690ae9d972fb7a590c2f02871799aaa4786b5e996e8f0f4eb981fc214b005f42d2ff4233499391653df7aefcbc13fc51568"),
            (1, "961f6dd1e4dd30f63901690c512e78e4b45e4742ed197c3c5e45c549fd25f2e4187b0bc9fe30492b16b0d0bc4ef9b0f34c7003fac09a5ef1532e69430234cebd"),
            (2, "da2cfbe2d8409a0f38026113884f84b50156371ae304c4430173d08a99d9fb1b983164a3770706d537f49e0c916d9f32b95cc37a95b99d857436f0232c88a965"),
            (3, "33d0825dddf7ada99b0e7e307104ad07ca9cfd9692214f1561356315e784f3e5a17e364ae9dbb14cb2036df932b77f4b292761365fb328de7afdc6d8998f5fc1"),
            (63, "bd965bf31e87d70327536f2a341cebc4768eca275fa05ef98f7f1b71a0351298de006fba73fe6733ed01d75801b4a928e54231b38e38c562b2e33ea1284992fa"),
            (64, "65676d800617972fbd87e4b9514e1c67402b7a331096d3bfac22f1abb95374abc942f16e9ab0ead33b87c91968a6e509e119ff07787b3ef483e1dcdccf6e3022"),
            (255, "142709d62e28fcccd0af97fad0f8465b971e82201dc51070faa0372aa43e92484be1c1e73ba10906d5d1853db6a4106e0a7bf9800d373d6dee2d46d62ef2a461"),
        ]
        for (n, expected) in vectors {
            let message = n == 0 ? [] : Array(UInt8(0)...UInt8(n - 1))
            XCTAssertEqual(Hex.encode(Blake2b.hash(message: message, key: key, outputLength: 64)), expected, "length \(n)")
        }
        // 32-byte output (the cookie MAC size), 32-byte key.
        XCTAssertEqual(Hex.encode(Blake2b.hash(message: Array("abc".utf8), key: Array(0..<32), outputLength: 32)),
                       "d63a32d3e44738d7907f964316c241adaba0abfeabc32349677578a15a203f7f")
    }

    let key1 = Array(repeating: UInt8(1), count: 32)
    let key2 = Array(repeating: UInt8(2), count: 48)
    var signer: CookieSigner { CookieSigner(currentKey: key1, previousKey: nil, mac: Blake2b.cookieMAC) }

    func testSignAndVerify() {
        let id = SystemRandom.sessionID()
        let value = signer.value(for: id)
        XCTAssertEqual(value.count, 32 + 1 + 64)
        XCTAssertEqual(signer.verify(value: Array(value.utf8)), id)
        XCTAssertEqual(signer.sessionID(cookieHeader: Array("__Host-steemauth=\(value)".utf8)), id)
        XCTAssertEqual(signer.sessionID(cookieHeader: Array("a=b; __Host-steemauth=\"\(value)\"; c=d".utf8)), id)
        XCTAssertNil(signer.sessionID(cookieHeader: Array("steemauth=\(value)".utf8)), "the old name is ignored")
    }

    func testTamperingWrongKeyAndRotation() {
        let id = SystemRandom.sessionID()
        let value = signer.value(for: id)
        var bytes = Array(value.utf8)
        for position in [0, 31, 33, 96] {
            var t = bytes
            t[position] = t[position] == UInt8(ascii: "0") ? UInt8(ascii: "1") : UInt8(ascii: "0")
            XCTAssertNil(signer.verify(value: t), "tampered at \(position)")
        }
        let other = CookieSigner(currentKey: key2, previousKey: nil, mac: Blake2b.cookieMAC)
        XCTAssertNil(other.verify(value: bytes), "a value signed with another key")
        let rotated = CookieSigner(currentKey: key2, previousKey: key1, mac: Blake2b.cookieMAC)
        XCTAssertEqual(rotated.verify(value: bytes), id, "the previous key still verifies")
        XCTAssertTrue(rotated.value(for: id).hasSuffix(Hex.encode(Blake2b.hash(message: Array(id.hex.utf8), key: key2, outputLength: 32))), "signs with the current key")
        bytes = Array(value.uppercased().utf8)
        XCTAssertNil(signer.verify(value: bytes), "upper case is another shape")
    }

    func testEveryInvalidShape() {
        let id = SystemRandom.sessionID()
        let value = signer.value(for: id)
        let sig = String(value.dropFirst(33))
        let shapes = ["", "-", "nodash", value + "0", String(value.dropLast()), id.hex + "--" + sig, id.hex + sig,
                      id.hex + "-" + sig + "-", "-" + id.hex + "-" + sig, id.hex + "-" + String(sig.dropLast()) + "g",
                      id.hex + "-" + String(repeating: "0", count: 64), String(repeating: "z", count: 97)]
        for s in shapes { XCTAssertNil(signer.verify(value: Array(s.utf8)), s) }
        XCTAssertNil(signer.sessionID(cookieHeader: nil as [UInt8]?))
        XCTAssertNil(signer.sessionID(cookieHeader: []))
        XCTAssertNil(signer.sessionID(cookieHeader: Array("__Host-steemauth".utf8)))
        XCTAssertNil(signer.sessionID(cookieHeader: Array("__Host-steemauth=".utf8)))
        XCTAssertNil(signer.sessionID(cookieHeader: Array("other=\(value)".utf8)))
        let big = "pad=" + String(repeating: "x", count: 10 * 1024) + "; __Host-steemauth=" + value
        XCTAssertNil(signer.sessionID(cookieHeader: Array(big.utf8)), "a Cookie header over 8 KB counts as none")
        XCTAssertNil(signer.sessionID(cookieHeader: [0xff, 0xfe, 0x00, 0x3d, 0x3b]))
    }

    /// Two session cookies in one request mean someone planted one: neither is trusted, whichever
    /// verifies and in whatever order they come.
    func testTwoSessionCookiesMeanNoSession() {
        let a = SystemRandom.sessionID(), b = SystemRandom.sessionID()
        let forged = a.hex + "-" + String(repeating: "0", count: 64)
        let n = CookieSigner.name
        for header in ["\(n)=\(forged); \(n)=\(signer.value(for: b))", "\(n)=\(signer.value(for: b)); \(n)=\(signer.value(for: a))",
                       "\(n)=\(signer.value(for: a)); x=1; \(n)=", "\(n)=\(signer.value(for: a)); \(n)=\(signer.value(for: a))"] {
            XCTAssertNil(signer.sessionID(cookieHeader: Array(header.utf8)), header)
        }
        XCTAssertEqual(signer.sessionID(cookieHeader: Array("steemauth=\(signer.value(for: b)); \(n)=\(signer.value(for: a))".utf8)), a,
                       "a cookie under the old name is another cookie, not a second session cookie")
    }

    /// The header is walked with indexes in place; a plain split-and-trim reading of it, written here,
    /// must find the same session in every header: thousands of headers built from pieces that put
    /// spaces, tabs, quotes, `=` and `;` where a walk could slip (a failure names its header).
    func testTheHeaderWalkFindsWhatAPlainReadingFinds() {
        func reference(_ header: [UInt8]) -> SessionID? {
            guard header.count <= CookieSigner.maxHeaderBytes else { return nil }
            func trim(_ s: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
                var s = s
                while let f = s.first, f == 0x20 || f == 0x09 { s = s.dropFirst() }
                while let l = s.last, l == 0x20 || l == 0x09 { s = s.dropLast() }
                return s
            }
            var values: [ArraySlice<UInt8>] = []
            for pair in header.split(separator: UInt8(ascii: ";"), omittingEmptySubsequences: false) {
                guard let eq = pair.firstIndex(of: UInt8(ascii: "=")), Array(trim(pair[..<eq])) == Array(CookieSigner.name.utf8) else { continue }
                var value = trim(pair[(eq + 1)...])
                if value.count >= 2, value.first == UInt8(ascii: "\""), value.last == UInt8(ascii: "\"") { value = value.dropFirst().dropLast() }
                values.append(value)
            }
            return values.count == 1 ? signer.verify(value: Array(values[0])) : nil
        }
        let ids = (0..<3).map { _ in SystemRandom.sessionID() }
        let values = ids.map { signer.value(for: $0) }
        let names = ["__Host-steemauth=", "__Host-steemauth =", " __Host-steemauth=", "\t__Host-steemauth=\t", "__Host-steemauth= ",
                     "__Host-steemauth", "__host-steemauth=", "x__Host-steemauth=", "steemauth=", "a=", "=", "__Host-steemauth==", ""]
        let broken = values.map { String($0.dropLast()) } + values.map { $0 + "0" } + values.map { String($0.prefix(40)) + ";" + String($0.dropFirst(40)) }
            + [ids[0].hex + "-" + String(repeating: "0", count: 64), "", "b", "\"", "\"\"", " ", "=x"]
        let valueChoices = values + values.map { "\"\($0)\"" } + values.map { "\($0) \t" } + broken
        let separators = [";", "; ", " ;", ";\t", ";;", "", "="]
        var rng = SystemRandomNumberGenerator()
        var found = 0
        for _ in 0..<4000 {
            let pairs = (0..<Int.random(in: 1...3, using: &rng)).map { _ in names.randomElement(using: &rng)! + valueChoices.randomElement(using: &rng)! }
            let header = Array(pairs.map { $0 + separators.randomElement(using: &rng)! }.joined().utf8)
            let expected = reference(header)
            XCTAssertEqual(signer.sessionID(cookieHeader: header), expected, String(decoding: header, as: UTF8.self))
            if expected != nil { found += 1 }
        }
        XCTAssertGreaterThan(found, 200, "the pieces make valid headers too, not only broken ones (\(found))")
    }

    /// What the `__Host-` prefix requires, and browsers enforce: Secure, Path=/, no Domain.
    func testSetCookieAttributes() {
        let header = CookieAttributes(maxAgeSeconds: 100).setCookie(value: "v")
        XCTAssertEqual(header, "__Host-steemauth=v; Path=/; Max-Age=100; HttpOnly; SameSite=Lax; Secure")
        XCTAssertFalse(header.lowercased().contains("domain"))
    }

    /// The header written in one pass (a new visitor's) is the signed value inside the same attributes.
    func testSetCookieForAnIdIsTheSignedValue() {
        let id = SystemRandom.sessionID()
        let attributes = CookieAttributes(maxAgeSeconds: 86400)
        let header = attributes.setCookie(for: id, signedBy: signer)
        XCTAssertEqual(header, attributes.setCookie(value: signer.value(for: id)))
        let value = String(header.dropFirst("\(CookieSigner.name)=".count).prefix(CookieSigner.valueLength))
        XCTAssertEqual(signer.verify(value: Array(value.utf8)), id)
    }

    func testRandomIdsAndCodesDiffer() {
        let ids = Set((0..<1000).map { _ in SystemRandom.sessionID().hex })
        XCTAssertEqual(ids.count, 1000)
        let code = SystemRandom.loginCode(prefix: "sa-")
        XCTAssertEqual(code.memo.count, 19)
        XCTAssertEqual(LoginCode.fromMemo(code.memo, prefix: "sa-"), code)
    }
}

final class HTTPClientLimitTests: XCTestCase {
    /// Replies are read into memory only up to a bound: a 10 MB reply against a 1 MB limit fails cleanly.
    func testReplySizeIsBounded() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/python3") else { throw XCTSkip("no python3 for the test server") }
        let port = 20000 + Int(getpid() % 20000)
        let server = Process()
        server.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        server.arguments = ["-c", """
        import http.server
        class H(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                self.send_response(200); self.send_header('Content-Type', 'application/json'); self.end_headers()
                self.wfile.write(b'{"jsonrpc":"2.0","id":1,"result":"' + b'x' * (10 << 20) + b'"}')
            def log_message(self, *a): pass
        http.server.HTTPServer(('127.0.0.1', \(port)), H).serve_forever()
        """]
        try server.run()
        defer { server.terminate(); server.waitUntilExit() }
        var listening = false
        for _ in 0..<600 where !listening {     // up to 30 s for python to start on a loaded machine
            usleep(50_000)
            listening = (try? HTTPClient().request("POST", url: "http://127.0.0.1:\(port)/", body: [], maxBytes: 64 << 20)) != nil
        }
        XCTAssertTrue(listening)
        XCTAssertThrowsError(try HTTPClient().request("POST", url: "http://127.0.0.1:\(port)/", body: [], maxBytes: 1 << 20)) { error in
            XCTAssertTrue("\(error)".contains("larger than"), "\(error)")
        }
        let rpc = RPCClient(nodes: ["http://127.0.0.1:\(port)/"], timeoutSeconds: 5, maxReplyBytes: 1 << 20, logger: .init(label: "test"))
        XCTAssertThrowsError(try rpc.call("condenser_api.get_block", .array([.int(1)]), as: Block.self))
    }
}

/// Log lines cannot be split or forged by bytes from outside (a transfer's sender, a header).
final class EscapingLogHandlerTests: XCTestCase {
    final class Captured: @unchecked Sendable {
        let lock = NSLock()
        var events: [LogEvent] = []
    }
    struct Capturing: LogHandler {
        let sink: Captured
        var logLevel: Logger.Level = .trace
        var metadata: Logger.Metadata = [:]
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            var e = event
            e.metadata = metadata.merging(event.metadata ?? [:]) { $1 }
            sink.lock.lock(); sink.events.append(e); sink.lock.unlock()
        }
    }

    func testMessageAndEveryMetadataValueAreEscaped() {
        let sink = Captured()
        var logger = Logger(label: "test") { _ in EscapingLogHandler(Capturing(sink: sink)) }
        logger[metadataKey: "request_id"] = "r1\nforged=1"
        let hostile = "evil\r\nSet-Cookie: pwn=1"
        logger.info("transfer rejected \(hostile)", metadata: ["from": "\(hostile)", "list": .array([.string("a\nb")]),
                                                              "map": .dictionary(["k": .string("c\rd")])])
        let e = sink.events[0]
        XCTAssertEqual(e.message.description, #"transfer rejected evil\r\nSet-Cookie: pwn=1"#)
        let m = e.metadata ?? [:]
        XCTAssertEqual(m["from"]?.description, #"evil\r\nSet-Cookie: pwn=1"#)
        XCTAssertEqual(m["request_id"]?.description, #"r1\nforged=1"#)
        XCTAssertEqual(m["list"], .array([.string(#"a\nb"#)]))
        XCTAssertEqual(m["map"], .dictionary(["k": .string(#"c\rd"#)]))
    }

    /// What the metadata provider gives (the pool's per-request id) is asked for only when a line is
    /// written, and escaped like the rest.
    func testTheMetadataProviderIsEscapedAndExplicitMetadataWins() {
        let sink = Captured()
        var logger = Logger(label: "test") { _ in EscapingLogHandler(Capturing(sink: sink)) }
        final class Box: @unchecked Sendable { var id = "r1\nforged=1"; var asked = 0 }
        let box = Box()
        logger.handler.metadataProvider = Logger.MetadataProvider { box.asked += 1; return ["request_id": .string(box.id), "k": "provided"] }
        logger.debug("one", metadata: ["k": "explicit"])
        XCTAssertEqual(box.asked, 1)
        let m = sink.events[0].metadata ?? [:]
        XCTAssertEqual(m["request_id"]?.description, #"r1\nforged=1"#)
        XCTAssertEqual(m["k"]?.description, "explicit")
        logger.logLevel = .info
        logger.debug("filtered out")
        XCTAssertEqual(box.asked, 1, "not asked for a line that is not written")
    }
}

/// Key recovery through libsecp256k1 and the chain's key text through OpenSSL's RIPEMD-160, against
/// signatures made by beem 0.24.26 (`Tests/clients/sign.py sign WIF MESSAGE`) with a fixed key.
final class SignatureRecoveryTests: XCTestCase {
    static let message = "steemauth login to example.org\ncode: ab2cdefgh3ijklmn\nexpires: 2026-11-24T12:00:00Z"
    /// WIF 5HrsDmXDUbwLvJjo32AEVEx8oipzZkAywTUxvynAefHSb6KDE1P (sha256("steemauth test posting")).
    static let key = "STM5mfrERPDW3fGxjBBL5DP59kumbodFAmHaZb3V2SocYGSCjc7r1"
    static let signature = "202ddd71e4937ade9b43c81b9f6e33d2eff8fc0f1133efbb2654136d76b1c5552b1f2b2fa0a52cd99d4aed6aa7b035b708b665e4f56b3436c1638770e471e226a9"
    /// The same signature with S replaced by n - S (and the recovery id flipped): valid maths, not canonical.
    static let highS = "1f2ddd71e4937ade9b43c81b9f6e33d2eff8fc0f1133efbb2654136d76b1c5552be0d4d05f5ad32662b51295584fca48f60448f7f14414697a5c4aeda85e541a98"

    func recover(_ hex: String, _ message: String = message) throws -> String {
        let sig = try XCTUnwrap(CompactSignature.parse(hex: hex))
        let raw = try Secp256k1Recovery.recover(sig, digest: OpenSSLDigest.sha256(Array(message.utf8)))
        return ChainKey.text(compressedKey: raw, ripemd160: OpenSSLDigest.ripemd160)
    }

    func testBeemSignatureRecoversTheSignersKey() throws {
        XCTAssertEqual(try recover(Self.signature), Self.key)
        XCTAssertNotNil(ChainKey.key(Self.key, ripemd160: OpenSSLDigest.ripemd160), "the checksum of the chain's key text holds")
        var broken = Array(Self.key); broken[10] = broken[10] == "a" ? "b" : "a"
        XCTAssertNil(ChainKey.key(String(broken), ripemd160: OpenSSLDigest.ripemd160), "a changed key text fails its checksum")
    }

    func testHighSIsRefused() {
        XCTAssertThrowsError(try recover(Self.highS)) { XCTAssertEqual($0 as? Secp256k1Recovery.Failure, .notCanonical) }
    }

    func testAOneBitChangeIsRefused() throws {
        // in the message
        var changed = Array(Self.message.utf8); changed[changed.count - 2] ^= 1
        XCTAssertNotEqual(try? recover(Self.signature, String(decoding: changed, as: UTF8.self)), Self.key)
        // in r, in s, and in the recovery id
        for index in [1, 40, 64] {
            var bytes = Hex.decodeLower(Array(Self.signature.utf8))!
            bytes[index] ^= 0x01
            XCTAssertNotEqual(try? recover(Hex.encode(bytes)), Self.key, "bit flipped in byte \(index)")
        }
        var flippedID = Hex.decodeLower(Array(Self.signature.utf8))!
        flippedID[0] ^= 0x01
        XCTAssertNotEqual(try? recover(Hex.encode(flippedID)), Self.key)
    }

    func testDigestsAgainstKnownAnswers() {
        XCTAssertEqual(Hex.encode(OpenSSLDigest.sha256(Array("abc".utf8))), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(Hex.encode(OpenSSLDigest.ripemd160(Array("abc".utf8))), "8eb208f7e05d987a9b044a8e98c6b087f15a0bfc")
    }
}

/// Deflate segments made at different times join into one gzip member that GNU gzip (its own inflater,
/// not zlib) decodes to the concatenated text.
final class GzipDeflateTests: XCTestCase {
    func gunzip(_ bytes: [UInt8]) throws -> String {
        let path = NSTemporaryDirectory() + "steemauth-gzip-\(getpid()).gz"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/gzip")
        p.arguments = ["-dc", path]
        let pipe = Pipe()
        p.standardOutput = pipe
        try p.run()
        let out = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, "gzip -t would refuse it")
        return String(decoding: out, as: UTF8.self)
    }

    /// One gzip member of the segments in order, as the pages' writer joins them.
    func member(_ segments: [DeflateSegment]) -> [UInt8] {
        var member = GzipMemberWriter(capacity: 0)
        for s in segments { member.append(s) }
        return member.finish()
    }

    func testSegmentsJoinIntoOneMember() throws {
        let list = String(repeating: "<tr><td>@f00001-alice</td><td>153</td></tr>\n", count: 500)
        let cached = GzipDeflate(level: 9).segment(list, final: false)
        let restored = try XCTUnwrap(DeflateSegment(stored: cached.stored))
        XCTAssertEqual(restored, cached, "stored and read back from Redis unchanged")
        let perRequest = GzipDeflate(level: 1)
        for round in 0..<3 {      // the stream is reset and reused per request
            let before = "<html><h1>Logged in as @alice \(round)</h1>", after = "<p>behind \(round) s</p></html>"
            let joined = member([perRequest.segment(before, final: false), restored, perRequest.segment(after, final: true)])
            XCTAssertEqual(try gunzip(joined), before + list + after)
            XCTAssertLessThan(joined.count, (before + list + after).utf8.count / 10)
        }
        XCTAssertEqual(try gunzip(member([perRequest.segment("", final: true)])), "")
    }

    /// A segment kept for joining again and again (a frozen page's chunk) carries zlib's CRC operator
    /// as lookup tables: every member it joins has the CRC zlib's own combine gives, after any CRC so
    /// far (many values before it, of many lengths), and gzip takes it.
    func testKeptSegmentsJoinWithTheCRCZlibGives() throws {
        let deflate = GzipDeflate(level: 9)
        let end = GzipDeflate(level: 0, small: true).segment("", final: true)
        for length in [1, 2, 3, 17, 256, 4_099, 70_000] {
            let text = String((0..<length).map { i in Character(UnicodeScalar(UInt8(0x21 + (i * 13 + length) % 90))) })
            let segment = deflate.segment(text, final: false), kept = segment.kept()
            XCTAssertEqual(kept, segment)
            for before in ["", "a", "<p>x</p>", String(repeating: "\u{1}\u{ff}~", count: 41)] {
                var zlibJoined = GzipMemberWriter(capacity: 0), tableJoined = GzipMemberWriter(capacity: 0)
                zlibJoined.appendUncompressed(before); tableJoined.appendUncompressed(before)
                zlibJoined.append(segment); tableJoined.append(kept)
                zlibJoined.append(end); tableJoined.append(end)
                let joined = tableJoined.finish()
                XCTAssertEqual(joined, zlibJoined.finish(), "length \(length) after \(before.utf8.count) bytes")
                XCTAssertEqual(try gunzip(joined), before + text)
            }
        }
    }

    /// Values written as stored blocks by hand join compressed segments, at any length: empty, one
    /// byte, a full block (65,535) and more than one block.
    func testUncompressedValuesJoinCompressedSegments() throws {
        let frame = GzipDeflate(level: 9, small: true)
        let end = GzipDeflate(level: 0, small: true).segment("", final: true)
        for length in [0, 1, 37, 65_535, 65_536, 140_000] {
            let value = String((0..<length).map { i in Character(UnicodeScalar(UInt8(0x20 + (i * 7) % 95))) })
            var member = GzipMemberWriter(capacity: 0)
            member.append(frame.segment("<p>before & ", final: false))
            member.appendUncompressed(value)
            member.appendUncompressed("é<>")
            member.append(frame.segment(" after</p>", final: false))
            member.append(end)
            XCTAssertEqual(try gunzip(member.finish()), "<p>before & " + value + "é<> after</p>", "length \(length)")
        }
        // zlib's level 0 writes the same block for a short value (after the member's 10-byte header).
        var member = GzipMemberWriter(capacity: 0)
        member.appendUncompressed("a-memo-code")
        XCTAssertEqual(Array(member.finish()[10..<10 + 5 + 11]),
                       Array(GzipDeflate(level: 0, small: true).segment("a-memo-code", final: false).bytes.prefix(5 + 11)))
    }
}
