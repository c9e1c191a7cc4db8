#if canImport(Glibc)
import Glibc
#endif

/// Serves synthetic requests to a handler in this process, for tests: each request's params (and
/// body) go through the same params reader, path interning and request reading as a worker's, and
/// the response comes back as the bytes a worker writes. No process, no socket: only libfcgi's
/// own reading of the connection is left out.
@_spi(Testing)
public struct InProcessServer<Handler: RequestHandler> {
    public var handler: Handler
    private let params = RequestParams()
    private let paths: InternedPaths

    public init(handler: Handler) {
        self.handler = handler
        paths = InternedPaths(handler.routedPaths)
    }

    /// Serves one request made of CGI params as nginx sends them (`REQUEST_METHOD`, `DOCUMENT_URI`,
    /// `HTTP_COOKIE`, …; `CONTENT_LENGTH` is added for a body when not given) and its body.
    public mutating func serve(_ params: [(String, String)], body: [UInt8] = []) -> ServedResponse {
        var all = params
        if !body.isEmpty && !params.contains(where: { $0.0 == "CONTENT_LENGTH" }) { all.append(("CONTENT_LENGTH", String(body.count))) }
        // libfcgi's form: a NULL-ended array of "NAME=value" C strings.
        let envp = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>.allocate(capacity: all.count + 1)
        for (i, (name, value)) in all.enumerated() { envp[i] = strdup(name + "=" + value) }
        envp[all.count] = nil
        defer {
            for i in 0..<all.count { free(envp[i]) }
            envp.deallocate()
        }
        self.params.begin(envp)
        var offset = 0
        let request = Worker.readRequest(self.params, paths) { buffer in
            let count = min(buffer.count, body.count - offset)
            for i in 0..<count { buffer[i] = body[offset + i] }
            offset += count
            return count
        }
        let response = handler.handle(request)
        let bytes = response.wireBytes(head: request.isHead)
        self.params.end()
        return ServedResponse(bytes)
    }
}
