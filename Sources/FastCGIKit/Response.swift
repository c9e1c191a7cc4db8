public struct Response: Sendable {
    // A change to any part after `fixed` made the response drops its serialized form (`wire`).
    public var status: Int { didSet { wire = .none } }
    /// A fixed list of headers already in wire form, written before `headers` (empty: none; not an
    /// optional, whose copy the compiler makes through generic value witnesses).
    public var prepared = PreparedHeaders.none { didSet { wire = .none } }
    public var headers: [(String, String)] { didSet { wire = .none } }
    /// One Set-Cookie header, written after `prepared`: a new visitor's redirect needs no header list.
    public var setCookie: String? = nil { didSet { wire = .none } }
    public var body: [UInt8] { didSet { wire = .none } }
    /// When not empty, the body is these parts in order, written one after the other without being
    /// joined first (a cached page between its per-request frame: no copy of the large part).
    public var bodyParts: [any ResponseBytes] = [] { didSet { wire = .none } }
    /// The whole response as a worker writes it, made once by `fixed` (empty: none).
    private(set) var wire = WireBytes.none

    /// A response that never changes (the liveness answer, a returning visitor's redirect), serialized
    /// once when it is made: a worker writes its bytes as they are, with no header block to build.
    public static func fixed(status: Int, prepared: PreparedHeaders, body: [UInt8]) -> Response {
        var response = Response(status: status, prepared: prepared, body: body)
        response.wire = WireBytes(bytes: response.serialized(includeBody: true), headLength: response.head().count)
        return response
    }

    /// A serialized response and where its header block ends (a HEAD gets only that).
    struct WireBytes: Sendable {
        let bytes: [UInt8]
        let headLength: Int
        static let none = WireBytes(bytes: [], headLength: 0)
    }

    public init(status: Int, headers: [(String, String)] = [], body: [UInt8] = []) {
        self.status = status; self.headers = headers; self.body = body
    }

    public init(status: Int, headers: [(String, String)], bodyParts: [any ResponseBytes]) {
        self.status = status; self.headers = headers; self.body = []; self.bodyParts = bodyParts
    }

    /// A response whose fixed headers were prepared once; `headers` (such as a Set-Cookie) follow them.
    public init(status: Int, prepared: PreparedHeaders, setCookie: String? = nil, headers: [(String, String)] = [], body: [UInt8]) {
        self.init(status: status, headers: headers, body: body)
        self.prepared = prepared
        self.setCookie = setCookie
    }

    public init(status: Int, prepared: PreparedHeaders, headers: [(String, String)] = [], bodyParts: [any ResponseBytes]) {
        self.init(status: status, headers: headers, bodyParts: bodyParts)
        self.prepared = prepared
    }

    public var bodyLength: Int { bodyParts.isEmpty ? body.count : bodyParts.reduce(0) { $0 + $1.count } }
    public init(status: Int, contentType: String, body: String, headers: [(String, String)] = []) {
        self.init(status: status, headers: [("Content-Type", contentType)] + headers, body: Array(body.utf8))
    }

    /// The bytes a worker writes for this response: the fixed form as it is (its header block alone
    /// for a HEAD), else the header block and the body (none for a HEAD).
    func wireBytes(head isHead: Bool) -> [UInt8] {
        if !wire.bytes.isEmpty { return Array(wire.bytes[..<(isHead ? wire.headLength : wire.bytes.count)]) }
        return serialized(includeBody: !isHead)
    }

    /// The CGI-style header block libfcgi expects, then the body (none for HEAD).
    func serialized(includeBody: Bool) -> [UInt8] {
        var bytes = head()
        guard includeBody else { return bytes }
        if bodyParts.isEmpty { bytes += body } else { for part in bodyParts { part.withUnsafeBytes { bytes += $0 } } }
        return bytes
    }

    /// The CGI-style header block, ending with the blank line.
    func head() -> [UInt8] { withHead { Array($0) } }

    /// The header block in a temporary buffer (on the stack when it fits), handed to `body`: a
    /// worker writes it out from there, with no array made per response.
    func withHead<R>(_ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        // Measured first, then written into one buffer of that size: no growth, no per-append checks.
        let reason = Self.reason(status)
        let prepared = self.prepared.bytes
        let cookieLine = setCookie.map { 14 + $0.utf8.count } ?? 0      // "Set-Cookie: " and CRLF
        let capacity = 40 + 2 * 20 + reason.utf8CodeUnitCount + prepared.count + cookieLine + HeadWriter.capacity(headers)   // 20: a number's most digits
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: capacity) { buffer in
            var out = HeadWriter(buffer)
            out.put("Status: "); out.putDecimal(status); out.put(" "); out.put(reason); out.put("\r\n")
            prepared.withUnsafeBufferPointer { out.put($0) }
            if let setCookie { out.put("Set-Cookie: "); out.putHeaderText(setCookie); out.put("\r\n") }
            out.putHeaderLines(headers)
            out.put("Content-Length: "); out.putDecimal(bodyLength); out.put("\r\n\r\n")
            return body(UnsafeBufferPointer(rebasing: buffer[..<out.at]))
        }
    }

    static func reason(_ status: Int) -> StaticString {
        switch status {
        case 200: return "OK"
        case 204: return "No Content"
        case 302: return "Found"
        case 303: return "See Other"
        case 400: return "Bad Request"
        case 401: return "Unauthorized"
        case 403: return "Forbidden"
        case 404: return "Not Found"
        case 405: return "Method Not Allowed"
        case 409: return "Conflict"
        case 429: return "Too Many Requests"
        case 413: return "Payload Too Large"
        case 421: return "Misdirected Request"
        case 500: return "Internal Server Error"
        case 502: return "Bad Gateway"
        case 503: return "Service Unavailable"
        case 504: return "Gateway Timeout"
        default: return "Status"
        }
    }
}
