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

    public static func run(listenFD: Int32, maxRequests: Int, handler: inout some RequestHandler, logger: Logger) -> ExitReason {
        var request = FCGX_Request()
        FCGX_InitRequest(&request, listenFD, Int32(FCGI_FAIL_ACCEPT_ON_INTR))
        let masterPID = getppid()
        var served = 0
        var termSignals = sigset_t()
        sigemptyset(&termSignals)
        for s in [SIGTERM, SIGQUIT, SIGINT] { sigaddset(&termSignals, s) }
        // Signals are held while a request is in hand and delivered only while waiting in accept:
        // a stop never cuts a response short.
        sigprocmask(SIG_BLOCK, &termSignals, nil)
        defer { FCGX_Free(&request, 1) }
        while true {
            sigprocmask(SIG_UNBLOCK, &termSignals, nil)
            let rc = FCGX_Accept_r(&request)
            sigprocmask(SIG_BLOCK, &termSignals, nil)
            if rc < 0 { return getppid() == masterPID ? .shutdown : .orphaned }
            let parsed = readRequest(&request)
            let response = handler.handle(parsed)
            let bytes = response.serialized(includeBody: parsed.method != "HEAD")
            bytes.withUnsafeBufferPointer { b in
                b.baseAddress!.withMemoryRebound(to: CChar.self, capacity: b.count) { p in
                    _ = FCGX_PutStr(p, Int32(b.count), request.out)
                }
            }
            FCGX_Finish_r(&request)
            served += 1
            if maxRequests > 0 && served >= maxRequests { return .recycled }
            if getppid() != masterPID { return .orphaned }
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
        return Request(method: method, path: uri, query: text("QUERY_STRING") ?? "", cookie: param("HTTP_COOKIE"),
                       host: text("HTTP_HOST"), origin: text("HTTP_ORIGIN"), referer: text("HTTP_REFERER"),
                       https: https || text("REQUEST_SCHEME") == "https", requestID: text("HTTP_X_REQUEST_ID") ?? text("REQUEST_ID"),
                       remoteAddress: text("REMOTE_ADDR"), serverPort: text("SERVER_PORT"), body: body)
    }
}
