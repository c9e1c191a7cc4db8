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
            let parsed = readRequest(params, paths) { b in
                Int(b.baseAddress!.withMemoryRebound(to: CChar.self, capacity: b.count) { FCGX_GetStr($0, Int32(b.count), request.in) })
            }
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
    /// found in `params` when a route first asks (`Request`). `readBody` fills a buffer of the
    /// length asked for from the request's stdin and says how many bytes it got.
    @inline(__always)
    static func readRequest(_ params: RequestParams, _ paths: InternedPaths,
                            readBody: (UnsafeMutableBufferPointer<UInt8>) -> Int) -> Request {
        // The common methods as literals: no decoding, no allocation, nothing to release.
        let current = params.generation
        let isHead = params.equals(.method, "HEAD", of: current)
        let method = params.equals(.method, "GET", of: current) ? "GET" : params.equals(.method, "POST", of: current) ? "POST" : isHead ? "HEAD"
            : params.value(.method).map { String(decoding: $0, as: UTF8.self) } ?? "GET"
        let uriBytes = params.value(.documentURI) ?? params.value(.scriptName)
        let routedPathIndex = uriBytes.flatMap { paths.index(of: $0) }
        let uri = routedPathIndex.map { paths.text(at: $0) } ?? uriBytes.map { String(decoding: $0, as: UTF8.self) } ?? "/"
        var body: [UInt8] = []
        if let lengthText = params.value(.contentLength), let length = decimal(lengthText), length > 0 {
            let wanted = min(length, maxBodyBytes)
            body = [UInt8](repeating: 0, count: wanted)
            let got = body.withUnsafeMutableBufferPointer { readBody($0) }
            body.removeLast(wanted - max(got, 0))
        }
        return Request(method: method, isHead: isHead, path: uri, routedPathIndex: routedPathIndex, body: body, params: params)
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
