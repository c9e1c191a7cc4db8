import CFastCGI
#if canImport(Glibc)
import Glibc
#endif
import Logging

/// A worker's accept loop. Returns when asked to stop, when it should be recycled, or when the
/// master is gone.
public enum Worker {
    public enum ExitReason: Sendable { case shutdown, recycled, orphaned }

    static let maxBodyBytes = 16 * 1024
    static let acceptsBetweenStopChecks = 16
    /// The longest an idle worker blocks in accept before it looks for a stop signal and its master:
    /// 100 ms on a unix socket. On TCP a connection inherits its listen socket's receive timeout,
    /// so there the tick is 1 s, which also bounds how long a worker waits for nginx's next record.
    public static func idleTickMs(unixSocket: Bool) -> Int { unixSocket ? 100 : 1000 }
    /// How long with nothing to do before the heap's free memory goes back to the system.
    static let idleMsBeforeTrim = 1000

    /// Serves requests until a stop signal (blocked, looked for between requests), recycling (max
    /// requests, or the handler asks for it), or the master's death. The listen socket blocks in
    /// accept, as a C responder's does: one system call a connection, and the kernel wakes one
    /// waiting worker per connection. Its receive timeout (`idleTickMs`, set by the master) bounds
    /// each wait, so an idle worker sees a stop within a tick; a busy one, within 16 requests.
    public static func run(listenFD: Int32, idleTickMs: Int, maxRequests: Int, handler: inout some RequestHandler, logger: Logger) -> ExitReason {
        var request = FCGX_Request()
        FCGX_InitRequest(&request, listenFD, 0)
        // Read once here, not per request: a static's every use is a call into the runtime (swift_once).
        let params = Param.table
        let paths = InternedPaths(handler.routedPaths)
        var fieldBytes: [UInt8] = []
        defer { FCGX_Free(&request, 1) }
        let masterPID = getppid()
        var served = 0
        var servedSinceTrim = 0
        var acceptsUntilStopCheck = 0
        var idleMs = 0
        while true {
            // A stop signal is looked for (a syscall) before every 16th accept, and at once after
            // an accept that timed out: under load a stop is seen within 16 requests.
            if acceptsUntilStopCheck == 0 {
                if steemauth_stop_pending() != 0 { return getppid() == masterPID ? .shutdown : .orphaned }
                acceptsUntilStopCheck = Self.acceptsBetweenStopChecks
            }
            acceptsUntilStopCheck -= 1
            let rc = FCGX_Accept_r(&request)
            if rc < 0 {
                guard rc == -EAGAIN || rc == -EWOULDBLOCK || rc == -EINTR || rc == -ECONNABORTED else {
                    logger.error("worker: accept failed", metadata: ["rc": "\(rc)"])
                    return .shutdown
                }
                // A tick with nothing to accept. After a second of them, give the heap freed since
                // the last time back to the system (large pages leave free chunks behind), off the
                // hot path.
                idleMs += idleTickMs
                if idleMs >= Self.idleMsBeforeTrim && servedSinceTrim > 0 { releaseFreeMemory(); servedSinceTrim = 0 }
                if getppid() != masterPID { return .orphaned }
                acceptsUntilStopCheck = 0
                continue
            }
            idleMs = 0
            let parsed = readRequest(&request, params, paths, &fieldBytes)
            let response = handler.handle(parsed)
            // The header block, then the body as it is (or its parts): no joined copy of a large page.
            response.withHead { _ = FCGX_PutStr(UnsafeRawPointer($0.baseAddress!).assumingMemoryBound(to: CChar.self), Int32($0.count), request.out) }
            if !parsed.isHead {
                if response.bodyParts.isEmpty { write(response.body, to: &request) }
                else { for part in response.bodyParts { write(part, to: &request) } }
            }
            // With the request read to its end (stdin's end record seen: a GET's is already in
            // libfcgi's buffer), nothing unread is left for a lingering close to guard, so the
            // connection is closed at once: no shutdown, no wait for the server's close, no read.
            // A body not read to its end (over maxBodyBytes) keeps libfcgi's lingering close, which
            // drains it: closing over unread input would reset the connection under the response.
            if FCGX_HasSeenEOF(request.in) != 0 || FCGX_GetChar(request.in) == EOF { _ = FCGX_Detach(&request) }
            FCGX_Finish_r(&request)
            served += 1
            servedSinceTrim += 1
            let recycleReason = maxRequests > 0 && served >= maxRequests ? "max requests"
                : handler.recycleAfterThisRequest ? "the request did large work" : nil
            if let recycleReason {
                logger.info("worker: recycling", metadata: ["reason": "\(recycleReason)", "served": "\(served)"])
                return .recycled
            }
        }
    }

    /// Gives the heap's free memory back to the system. A worker does it after a second with nothing
    /// to do; a handler calls it after a rare large piece of work (computing a report), whose freed
    /// memory glibc would otherwise keep for as long as the worker stays busy.
    public static func releaseFreeMemory() { steemauth_release_free_memory() }

    /// Parts at least this large go from their own memory to the connection (steemauth_put_direct)
    /// rather than through libfcgi's 8 KB buffer: a cached page goes out in two system calls, not ten.
    static let directWriteMinimum = 16 * 1024

    private static func write(_ bytes: some ResponseBytes, to request: inout FCGX_Request) {
        guard bytes.count > 0 else { return }
        bytes.withUnsafeBytes { b in
            if b.count >= directWriteMinimum {
                _ = steemauth_put_direct(&request, b.baseAddress!.assumingMemoryBound(to: UInt8.self), b.count)
            } else {
                _ = FCGX_PutStr(b.baseAddress!.assumingMemoryBound(to: CChar.self), Int32(b.count), request.out)
            }
        }
    }

    /// The params a request uses, by name; everything else nginx sends is skipped.
    private enum Param: Int, CaseIterable {
        case method, documentURI, scriptName, contentLength, https, scheme, requestID, nginxRequestID, remoteAddress, serverPort
        case host, origin, referer, query, cookie, contentType, acceptEncoding, authorization

        var name: StaticString {
            switch self {
            case .method: return "REQUEST_METHOD"
            case .documentURI: return "DOCUMENT_URI"
            case .scriptName: return "SCRIPT_NAME"
            case .contentLength: return "CONTENT_LENGTH"
            case .https: return "HTTPS"
            case .scheme: return "REQUEST_SCHEME"
            case .requestID: return "HTTP_X_REQUEST_ID"
            case .nginxRequestID: return "REQUEST_ID"
            case .remoteAddress: return "REMOTE_ADDR"
            case .serverPort: return "SERVER_PORT"
            case .host: return "HTTP_HOST"
            case .origin: return "HTTP_ORIGIN"
            case .referer: return "HTTP_REFERER"
            case .query: return "QUERY_STRING"
            case .cookie: return "HTTP_COOKIE"
            case .contentType: return "CONTENT_TYPE"
            case .acceptEncoding: return "HTTP_ACCEPT_ENCODING"
            case .authorization: return "HTTP_AUTHORIZATION"
            }
        }
        /// How many there are (`allCases` makes a new array at every use).
        static let count = allCases.count
        /// The params as one flat table, made once and kept for the process's life (so reading it
        /// retains nothing): name bytes (static), name length, and the next param with a name of the
        /// same length (-1 ends the chain); `firstByLength[n]` starts the chain of names n bytes long.
        struct Table: @unchecked Sendable {     // immutable once made; the names are static literals
            let names: UnsafeBufferPointer<UnsafePointer<UInt8>>
            let nextSameLength: UnsafeBufferPointer<Int>
            let firstByLength: UnsafeBufferPointer<Int>
        }
        static let table: Table = {
            let lengths = allCases.map { $0.name.utf8CodeUnitCount }
            let names = UnsafeMutableBufferPointer<UnsafePointer<UInt8>>.allocate(capacity: allCases.count)
            _ = names.initialize(from: allCases.map { $0.name.utf8Start })
            let firstByLength = UnsafeMutableBufferPointer<Int>.allocate(capacity: (lengths.max() ?? 0) + 1)
            firstByLength.initialize(repeating: -1)
            let nextSameLength = UnsafeMutableBufferPointer<Int>.allocate(capacity: allCases.count)
            nextSameLength.initialize(repeating: -1)
            for i in allCases.indices.reversed() {
                nextSameLength[i] = firstByLength[lengths[i]]
                firstByLength[lengths[i]] = i
            }
            return Table(names: UnsafeBufferPointer(names), nextSameLength: UnsafeBufferPointer(nextSameLength),
                         firstByLength: UnsafeBufferPointer(firstByLength))
        }()
    }

    /// One pass over nginx's params (not one linear lookup per param), keeping the first of each.
    private static func readRequest(_ r: inout FCGX_Request, _ table: Param.Table, _ paths: InternedPaths, _ fieldBytes: inout [UInt8]) -> Request {
        // The request leaves the closure through `made`, not as its result: the standard library
        // carries a closure's result in a `Result`, destroyed through generic value witnesses.
        var made: Request? = nil
        // The values found, by param, on the stack: they point into libfcgi's copy of the params.
        withUnsafeTemporaryAllocation(of: UnsafeBufferPointer<UInt8>?.self, capacity: Param.count) { values in
            values.initialize(repeating: nil)
            var entry = r.envp
            while let pointer = entry?.pointee {
                // Only the name is scanned (values such as cookies can be long); only a wanted value is measured.
                if let equals = strchr(pointer, Int32(UInt8(ascii: "="))) {
                    let nameLength = equals - pointer
                    var i = nameLength < table.firstByLength.count ? table.firstByLength[nameLength] : -1
                    while i >= 0 {
                        if values[i] == nil && sameName(pointer, table.names[i], nameLength) {
                            let value = UnsafeRawPointer(equals + 1).assumingMemoryBound(to: UInt8.self)
                            values[i] = UnsafeBufferPointer(start: value, count: strlen(equals + 1))
                            break
                        }
                        i = table.nextSameLength[i]
                    }
                }
                entry = entry! + 1
            }
            made = request(from: UnsafeBufferPointer(values), &r, paths, &fieldBytes)
        }
        return made!
    }

    /// Whether the `count` bytes of a param's name at `name` are `wanted`'s. Most names are 8 to 16
    /// bytes: two unaligned 8-byte loads each decide it without a call (the first of them alone
    /// tells apart most names of one length); other lengths go to memcmp.
    @inline(__always)
    private static func sameName(_ name: UnsafePointer<CChar>, _ wanted: UnsafePointer<UInt8>, _ count: Int) -> Bool {
        guard count >= 8 else { return memcmp(name, wanted, count) == 0 }
        let a = UnsafeRawPointer(name), b = UnsafeRawPointer(wanted)
        guard a.loadUnaligned(as: UInt64.self) == b.loadUnaligned(as: UInt64.self) else { return false }
        if count <= 16 {
            return a.loadUnaligned(fromByteOffset: count - 8, as: UInt64.self) == b.loadUnaligned(fromByteOffset: count - 8, as: UInt64.self)
        }
        return memcmp(a + 8, b + 8, count - 8) == 0
    }

    /// The request made from the params found (`values`, by param) and the body read from `r`.
    private static func request(from values: UnsafeBufferPointer<UnsafeBufferPointer<UInt8>?>, _ r: inout FCGX_Request, _ paths: InternedPaths,
                                _ fieldBytes: inout [UInt8]) -> Request {
        func text(_ p: Param) -> String? { values[p.rawValue].map { String(decoding: $0, as: UTF8.self) } }
        func equals(_ p: Param, _ literal: StaticString) -> Bool {
            guard let v = values[p.rawValue], v.count == literal.utf8CodeUnitCount else { return false }
            return memcmp(v.baseAddress!, literal.utf8Start, v.count) == 0
        }
        func equalsIgnoringCase(_ p: Param, _ lowercase: StaticString) -> Bool {
            guard let v = values[p.rawValue], v.count == lowercase.utf8CodeUnitCount else { return false }
            return strncasecmp(UnsafeRawPointer(v.baseAddress!).assumingMemoryBound(to: CChar.self),
                               UnsafeRawPointer(lowercase.utf8Start).assumingMemoryBound(to: CChar.self), v.count) == 0
        }
        // The common methods as literals: no decoding, no allocation, nothing to release.
        let isHead = equals(.method, "HEAD")
        let method = equals(.method, "GET") ? "GET" : equals(.method, "POST") ? "POST" : isHead ? "HEAD" : text(.method) ?? "GET"
        let uriBytes = values[Param.documentURI.rawValue] ?? values[Param.scriptName.rawValue]
        let uri = uriBytes.map { paths.text(of: $0) ?? String(decoding: $0, as: UTF8.self) } ?? "/"
        var body: [UInt8] = []
        if let lengthText = values[Param.contentLength.rawValue], let length = decimal(lengthText), length > 0 {
            let wanted = min(length, maxBodyBytes)
            body = [UInt8](repeating: 0, count: wanted)
            let got = body.withUnsafeMutableBufferPointer { b in
                b.baseAddress!.withMemoryRebound(to: CChar.self, capacity: wanted) { FCGX_GetStr($0, Int32(wanted), r.in) }
            }
            body.removeLast(wanted - Int(max(got, 0)))
        }
        let fields = RequestFields(reusing: &fieldBytes) { name -> UnsafeBufferPointer<UInt8>? in
            switch name {
            case .query: return values[Param.query.rawValue]
            case .cookie: return values[Param.cookie.rawValue]
            case .host: return values[Param.host.rawValue]
            case .serverPort: return values[Param.serverPort.rawValue]
            case .origin: return values[Param.origin.rawValue]
            case .referer: return values[Param.referer.rawValue]
            case .remoteAddress: return values[Param.remoteAddress.rawValue]
            case .contentType: return values[Param.contentType.rawValue]
            case .authorization: return values[Param.authorization.rawValue]
            }
        }
        return Request(method: method, isHead: isHead, path: uri, https: equalsIgnoringCase(.https, "on") || equals(.scheme, "https"),
                       acceptsGzip: values[Param.acceptEncoding.rawValue].map { Request.acceptsGzip($0) } ?? false,
                       requestID: (values[Param.requestID.rawValue] ?? values[Param.nginxRequestID.rawValue]).map(RequestID.init),
                       body: body, fields: fields)
    }

    /// A CONTENT_LENGTH: ASCII digits only (nil for anything else, or more than 18 of them).
    static func decimal(_ digits: UnsafeBufferPointer<UInt8>) -> Int? {
        guard !digits.isEmpty, digits.count <= 18 else { return nil }
        var value = 0
        for b in digits {
            guard b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") else { return nil }
            value = value * 10 + Int(b - UInt8(ascii: "0"))
        }
        return value
    }

}
