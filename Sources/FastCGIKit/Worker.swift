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
    /// How long a worker waits for each read of a request on a connection it accepted from a unix
    /// socket (a TCP connection inherits the listen socket's 1 s instead).
    static let unixReadTimeoutMs: Int32 = 1000
    /// How long with nothing to do before the heap's free memory goes back to the system.
    static let idleMsBeforeTrim = 1000

    /// Serves requests until a stop signal (blocked, looked for between requests), recycling (max
    /// requests, or the handler's `afterResponse` advice), or the master's death. The listen socket blocks in
    /// accept, as a C responder's does: one system call a connection, and the kernel wakes one
    /// waiting worker per connection. Its receive timeout (`idleTickMs`, set by the master) bounds
    /// each wait, so an idle worker sees a stop within a tick; a busy one, within 16 requests.
    ///
    /// On a unix socket the worker accepts each connection itself, without asking for the peer's
    /// address, and gives it a receive timeout; libfcgi then reads the request from it. libfcgi's own
    /// accept (kept for TCP, where `FCGI_WEB_SERVER_ADDRS` may check the peer) asks for the address
    /// and polls the new connection for its first byte: two system calls' work on every request.
    ///
    /// With `allowedPeers`, a worker on TCP accepts each connection itself as well, and closes one
    /// from a peer not in the list unread (a reset), with a log line and `handler.refusedPeer`.
    static func run(listenFD: Int32, idleTickMs: Int, unixSocket: Bool, allowedPeers: PeerAllowList? = nil, maxRequests: Int,
                    handler: inout some RequestHandler, logger: Logger) -> ExitReason {
        var request = FCGX_Request()
        FCGX_InitRequest(&request, listenFD, 0)
        let params = RequestParams()
        let paths = InternedPaths(handler.routedPaths)
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
            let rc = unixSocket ? steemauth_accept_unix(&request, Self.unixReadTimeoutMs)
                : allowedPeers.map { acceptAllowed(&request, listenFD: listenFD, $0, &handler, logger) } ?? FCGX_Accept_r(&request)
            if rc == Self.peerRefused { continue }
            if rc == STEEMAUTH_CONNECTION_DROPPED {
                logger.warning("worker: dropped a connection that sent no whole request in time, or a malformed one")
                continue
            }
            if rc < 0 {
                guard rc == -EAGAIN || rc == -EWOULDBLOCK || rc == -EINTR || rc == -ECONNABORTED || rc == -EPROTO else {
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
            params.begin(request.envp)
            let parsed = readRequest(&request, params, paths)
            let response = handler.handle(parsed)
            // A fixed response's bytes as they are; else the header block, then the body as it is (or
            // its parts): no joined copy of a large page.
            let wire = response.wire
            if !wire.bytes.isEmpty {
                wire.bytes.withUnsafeBufferPointer { write(UnsafeBufferPointer(rebasing: $0[..<(parsed.isHead ? wire.headLength : $0.count)]), to: &request) }
            } else {
                response.withHead { _ = FCGX_PutStr(UnsafeRawPointer($0.baseAddress!).assumingMemoryBound(to: CChar.self), Int32($0.count), request.out) }
            }
            if wire.bytes.isEmpty && !parsed.isHead {
                if response.bodyParts.isEmpty { write(response.body, to: &request) }
                else { for part in response.bodyParts { write(part, to: &request) } }
            }
            // With the request read to its end (stdin's end record seen: a GET's is already in
            // libfcgi's buffer), nothing unread is left for a lingering close to guard, so the
            // connection is closed at once: no shutdown, no wait for the server's close, no read.
            // A body not read to its end (over maxBodyBytes) keeps libfcgi's lingering close, which
            // drains it: closing over unread input would reset the connection under the response.
            if FCGX_HasSeenEOF(request.in) != 0 || FCGX_GetChar(request.in) == EOF { _ = FCGX_Detach(&request) }
            params.end()    // before libfcgi frees them: a request kept past here can no longer read them
            FCGX_Finish_r(&request)
            served += 1
            servedSinceTrim += 1
            let advice = handler.afterResponse
            let recycleReason = maxRequests > 0 && served >= maxRequests ? "max requests"
                : advice == .recycle ? "the request did large work" : nil
            if let recycleReason {
                logger.info("worker: recycling", metadata: ["reason": "\(recycleReason)", "served": "\(served)"])
                return .recycled
            }
            if advice == .trimMemory { releaseFreeMemory(); servedSinceTrim = 0 }
        }
    }

    /// A return of `acceptAllowed`: the peer was refused; nothing to serve.
    static let peerRefused: Int32 = -100001

    /// Accepts a TCP connection; serves it (as steemauth_accept_unix does) when its peer is allowed,
    /// else closes it without reading it.
    private static func acceptAllowed(_ request: inout FCGX_Request, listenFD: Int32, _ allowed: PeerAllowList,
                                      _ handler: inout some RequestHandler, _ logger: Logger) -> Int32 {
        let (fd, peer) = withUnsafeTemporaryAllocation(of: CChar.self, capacity: 64) { buffer -> (Int32, String) in
            let fd = steemauth_accept_tcp(listenFD, buffer.baseAddress!, 64)
            return (fd, fd >= 0 ? String(cString: buffer.baseAddress!) : "")
        }
        guard fd >= 0 else { return fd }
        guard allowed.allows(peer) else {
            steemauth_close_unread(fd)
            logger.warning("worker: refused a FastCGI connection from a peer not in STEEMAUTH_FCGI_ALLOW; closed unread",
                           metadata: ["peer": "\(peer.isEmpty ? "unknown" : peer)"])
            handler.refusedPeer(peer)
            return peerRefused
        }
        return steemauth_serve_accepted(&request, fd, unixReadTimeoutMs)
    }

    /// Gives the heap's free memory back to the system: after a second with nothing to do, and after
    /// a response whose handler advised it (`AfterResponse.trimMemory`).
    static func releaseFreeMemory() { steemauth_release_free_memory() }

    /// Parts at least this large go from their own memory to the connection (steemauth_put_direct)
    /// rather than through libfcgi's 8 KB buffer: a cached page goes out in two system calls, not ten.
    static let directWriteMinimum = 16 * 1024

    private static func write(_ bytes: some ResponseBytes, to request: inout FCGX_Request) {
        bytes.withUnsafeBytes { raw in write(raw.assumingMemoryBound(to: UInt8.self), to: &request) }
    }

    private static func write(_ b: UnsafeBufferPointer<UInt8>, to request: inout FCGX_Request) {
        guard let base = b.baseAddress, b.count > 0 else { return }
        if b.count >= directWriteMinimum {
            _ = steemauth_put_direct(&request, base, b.count)
        } else {
            _ = FCGX_PutStr(UnsafeRawPointer(base).assumingMemoryBound(to: CChar.self), Int32(b.count), request.out)
        }
    }

    /// The request's method, path and body, read now (every route needs them); its other params are
    /// found in `params` when a route first asks (`Request`).
    private static func readRequest(_ r: inout FCGX_Request, _ params: RequestParams, _ paths: InternedPaths) -> Request {
        // The common methods as literals: no decoding, no allocation, nothing to release.
        let current = params.generation
        let isHead = params.equals(.method, "HEAD", of: current)
        let method = params.equals(.method, "GET", of: current) ? "GET" : params.equals(.method, "POST", of: current) ? "POST" : isHead ? "HEAD"
            : params.value(.method).map { String(decoding: $0, as: UTF8.self) } ?? "GET"
        let uriBytes = params.value(.documentURI) ?? params.value(.scriptName)
        let uri = uriBytes.map { paths.text(of: $0) ?? String(decoding: $0, as: UTF8.self) } ?? "/"
        var body: [UInt8] = []
        if let lengthText = params.value(.contentLength), let length = decimal(lengthText), length > 0 {
            let wanted = min(length, maxBodyBytes)
            body = [UInt8](repeating: 0, count: wanted)
            let got = body.withUnsafeMutableBufferPointer { b in
                b.baseAddress!.withMemoryRebound(to: CChar.self, capacity: wanted) { FCGX_GetStr($0, Int32(wanted), r.in) }
            }
            body.removeLast(wanted - Int(max(got, 0)))
        }
        return Request(method: method, isHead: isHead, path: uri, body: body, params: params)
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

/// The params of the request a worker is serving, where libfcgi keeps them (`NAME=value` strings),
/// each looked for only when first asked for: one pass over them that stops at the param asked for
/// and goes on from there at the next question, keeping the first of each name. A `/ping` reads
/// the first seven of nginx's twenty-odd; nothing is copied until a route reads it. One per worker,
/// reused for every request; `end` makes a request kept past its response trap rather than read
/// params libfcgi has freed.
final class RequestParams: @unchecked Sendable {    // one worker process, one thread
    /// The params a request can read, by name; everything else nginx sends is skipped.
    enum Name: Int, CaseIterable {
        case method, documentURI, scriptName, contentLength, https, scheme, requestID, nginxRequestID, remoteAddress, serverPort
        case host, origin, referer, query, cookie, contentType, acceptEncoding, authorization

        var text: StaticString {
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
    }

    /// The names as one flat table, made once per worker: name bytes (static), and the next name of
    /// the same length (-1 ends the chain); `firstByLength[n]` starts the chain of names n bytes long.
    private let names: UnsafeMutableBufferPointer<UnsafePointer<UInt8>>
    private let nextSameLength: UnsafeMutableBufferPointer<Int>
    private let firstByLength: UnsafeMutableBufferPointer<Int>
    /// The values found so far, by name; they point into libfcgi's copy of the params.
    private let values: UnsafeMutableBufferPointer<UnsafeBufferPointer<UInt8>?>
    /// The first entry not looked at yet; nil once every entry has been.
    private var next: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
    /// Which request the params are (a `Request` carries the number it was made with).
    private(set) var generation = 0
    /// The Cookie header's copy (`cookie`): kept from one request to the next, so a request costs no
    /// allocation; `cookieGeneration` says which request filled it.
    @exclusivity(unchecked) private var cookieBytes: [UInt8] = []   // one thread, no overlapping access
    private var cookieGeneration = -1
    /// A worker's cookie copy is dropped rather than kept when a request made it larger than this.
    static let largestKeptCookie = 16 * 1024

    init() {
        let all = Name.allCases
        let lengths = all.map { $0.text.utf8CodeUnitCount }
        names = .allocate(capacity: all.count)
        _ = names.initialize(from: all.map { $0.text.utf8Start })
        firstByLength = .allocate(capacity: (lengths.max() ?? 0) + 1)
        firstByLength.initialize(repeating: -1)
        nextSameLength = .allocate(capacity: all.count)
        nextSameLength.initialize(repeating: -1)
        for i in all.indices.reversed() {
            nextSameLength[i] = firstByLength[lengths[i]]
            firstByLength[lengths[i]] = i
        }
        values = .allocate(capacity: all.count)
        values.initialize(repeating: nil)
    }

    deinit {
        names.deallocate(); nextSameLength.deallocate(); firstByLength.deallocate(); values.deallocate()
    }

    /// A new request's params (libfcgi's `envp`): nothing is read from them yet.
    func begin(_ envp: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) {
        generation &+= 1
        next = envp
        values.update(repeating: nil)
    }

    /// The response is written: from here on the request's params are libfcgi's to free.
    func end() {
        generation &+= 1
        next = nil
    }

    /// The value of the first param of this name, or nil when nginx did not send one.
    func value(_ name: Name) -> UnsafeBufferPointer<UInt8>? {
        if let found = values[name.rawValue] { return found }
        var entry = next      // a local while scanning: the class's field is written once, at the end
        while let current = entry, let pointer = current.pointee {
            entry = current + 1
            // Only the name is scanned (values such as cookies can be long); only a wanted value is measured.
            guard let equals = strchr(pointer, Int32(UInt8(ascii: "="))) else { continue }
            let nameLength = equals - pointer
            var i = nameLength < firstByLength.count ? firstByLength[nameLength] : -1
            while i >= 0 {
                if sameName(pointer, names[i], nameLength) {
                    if values[i] == nil {
                        let start = UnsafeRawPointer(equals + 1).assumingMemoryBound(to: UInt8.self)
                        values[i] = UnsafeBufferPointer(start: start, count: strlen(equals + 1))
                        if i == name.rawValue { next = entry; return values[i] }
                    }
                    break
                }
                i = nextSameLength[i]
            }
        }
        next = nil
        return nil
    }

    /// `value`, for a `Request` made with `generation`: a request read after its response traps.
    func value(_ name: Name, of generation: Int) -> UnsafeBufferPointer<UInt8>? {
        checkCurrent(generation)
        return value(name)
    }

    /// Traps unless `generation` is the request being served.
    func checkCurrent(_ generation: Int) {
        precondition(generation == self.generation, "a request's params were read after its response was written")
    }

    /// Whether the param is exactly `literal`.
    func equals(_ name: Name, _ literal: StaticString, of generation: Int) -> Bool {
        guard let v = value(name, of: generation), v.count == literal.utf8CodeUnitCount else { return false }
        return memcmp(v.baseAddress!, literal.utf8Start, v.count) == 0
    }

    /// Whether the param is `lowercase`, in any case.
    func equalsIgnoringCase(_ name: Name, _ lowercase: StaticString, of generation: Int) -> Bool {
        guard let v = value(name, of: generation), v.count == lowercase.utf8CodeUnitCount else { return false }
        return strncasecmp(UnsafeRawPointer(v.baseAddress!).assumingMemoryBound(to: CChar.self),
                           UnsafeRawPointer(lowercase.utf8Start).assumingMemoryBound(to: CChar.self), v.count) == 0
    }

    /// The param decoded as UTF-8 (invalid bytes replaced).
    func text(_ name: Name, of generation: Int) -> String? {
        value(name, of: generation).map { String(decoding: $0, as: UTF8.self) }
    }

    /// The Cookie header's bytes, copied once per request into a buffer the worker keeps (a copy, not
    /// a view of libfcgi's memory: the slice stays valid however long it is kept).
    func cookie(of generation: Int) -> ArraySlice<UInt8>? {
        guard let header = value(.cookie, of: generation) else { return nil }
        if cookieGeneration != generation {
            if cookieBytes.capacity > Self.largestKeptCookie { cookieBytes = [] }
            cookieBytes.removeAll(keepingCapacity: true)
            cookieBytes.append(contentsOf: header)
            cookieGeneration = generation
        }
        return cookieBytes[...]
    }

    /// Whether the `count` bytes of a param's name at `name` are `wanted`'s. Most names are 8 to 16
    /// bytes: two unaligned 8-byte loads each decide it without a call (the first of them alone
    /// tells apart most names of one length); other lengths go to memcmp.
    @inline(__always)
    private func sameName(_ name: UnsafePointer<CChar>, _ wanted: UnsafePointer<UInt8>, _ count: Int) -> Bool {
        guard count >= 8 else { return memcmp(name, wanted, count) == 0 }
        let a = UnsafeRawPointer(name), b = UnsafeRawPointer(wanted)
        guard a.loadUnaligned(as: UInt64.self) == b.loadUnaligned(as: UInt64.self) else { return false }
        if count <= 16 {
            return a.loadUnaligned(fromByteOffset: count - 8, as: UInt64.self) == b.loadUnaligned(fromByteOffset: count - 8, as: UInt64.self)
        }
        return memcmp(a + 8, b + 8, count - 8) == 0
    }
}
