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

    /// Serves requests until a stop signal (read from `signalFD` between requests), recycling, or
    /// the master's death. The listen socket is non-blocking: every worker is woken by a new
    /// connection, one accepts it, the others see EAGAIN and wait again.
    public static func run(listenFD: Int32, signalFD: Int32, maxRequests: Int, handler: inout some RequestHandler, logger: Logger) -> ExitReason {
        var request = FCGX_Request()
        FCGX_InitRequest(&request, listenFD, 0)
        defer { FCGX_Free(&request, 1) }
        let masterPID = getppid()
        var served = 0
        var servedSinceTrim = 0
        while true {
            // Under load a connection is usually already waiting: try it first, poll only when idle.
            if steemauth_stop_pending() != 0 { return getppid() == masterPID ? .shutdown : .orphaned }
            let rc = FCGX_Accept_r(&request)
            if rc < 0 {
                guard rc == -EAGAIN || rc == -EWOULDBLOCK || rc == -EINTR || rc == -ECONNABORTED else {
                    logger.error("worker: accept failed", metadata: ["rc": "\(rc)"])
                    return .shutdown
                }
                let ready = steemauth_wait(listenFD, signalFD, 1000)
                if ready < 0 && errno != EINTR {
                    logger.error("worker: poll failed", metadata: ["errno": "\(errno)"])
                    return .shutdown
                }
                // A second with nothing to do: give the heap freed since the last time back to the
                // system (large pages leave free chunks behind), off the hot path.
                if ready == 0 && servedSinceTrim > 0 { steemauth_release_free_memory(); servedSinceTrim = 0 }
                if getppid() != masterPID { return .orphaned }
                continue
            }
            let parsed = readRequest(&request)
            let response = handler.handle(parsed)
            // The header block, then the body as it is (or its parts): no joined copy of a large page.
            write(response.head(), to: request.out)
            if parsed.method != "HEAD" {
                if response.bodyParts.isEmpty { write(response.body, to: request.out) }
                else { for part in response.bodyParts { write(part, to: request.out) } }
            }
            FCGX_Finish_r(&request)
            served += 1
            servedSinceTrim += 1
            if maxRequests > 0 && served >= maxRequests { return .recycled }
        }
    }

    private static func write(_ bytes: [UInt8], to stream: UnsafeMutablePointer<FCGX_Stream>?) {
        guard !bytes.isEmpty else { return }
        bytes.withUnsafeBufferPointer { b in
            b.baseAddress!.withMemoryRebound(to: CChar.self, capacity: b.count) { p in _ = FCGX_PutStr(p, Int32(b.count), stream) }
        }
    }

    private static func readRequest(_ r: inout FCGX_Request) -> Request {
        func param(_ name: String) -> [UInt8]? {
            guard let p = FCGX_GetParam(name, r.envp) else { return nil }
            return Array(UnsafeBufferPointer(start: UnsafeRawPointer(p).assumingMemoryBound(to: UInt8.self), count: strlen(p)))
        }
        func text(_ name: String) -> String? { param(name).map { String(decoding: $0, as: UTF8.self) } }
        let method = text("REQUEST_METHOD") ?? "GET"
        let uri = text("DOCUMENT_URI") ?? text("SCRIPT_NAME") ?? "/"
        var body: [UInt8] = []
        if let lengthText = text("CONTENT_LENGTH"), let length = Int(lengthText), length > 0 {
            let wanted = min(length, maxBodyBytes)
            body = [UInt8](repeating: 0, count: wanted)
            let got = body.withUnsafeMutableBufferPointer { b in
                b.baseAddress!.withMemoryRebound(to: CChar.self, capacity: wanted) { FCGX_GetStr($0, Int32(wanted), r.in) }
            }
            body.removeLast(wanted - Int(max(got, 0)))
        }
        let https = text("HTTPS").map { $0.lowercased() == "on" } ?? false
        var request = Request(method: method, path: uri, query: text("QUERY_STRING") ?? "", cookie: param("HTTP_COOKIE"),
                       host: text("HTTP_HOST"), origin: text("HTTP_ORIGIN"), referer: text("HTTP_REFERER"),
                       https: https || text("REQUEST_SCHEME") == "https", requestID: text("HTTP_X_REQUEST_ID") ?? text("REQUEST_ID"),
                       remoteAddress: text("REMOTE_ADDR"), serverPort: text("SERVER_PORT"),
                       contentType: text("CONTENT_TYPE"), body: body)
        request.acceptsGzip = param("HTTP_ACCEPT_ENCODING").map(Request.acceptsGzip) ?? false
        return request
    }
}
