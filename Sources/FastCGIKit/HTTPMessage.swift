#if canImport(Glibc)
import Glibc
#endif

/// A request as nginx passed it. What every route reads is read when the request is (the method,
/// the path, the body); the other params are found and decoded only when a route reads them (they
/// are not always UTF-8, and most routes read few of them). A request is valid until its response
/// is written: reading its params after that traps (the worker's `RequestParams` says why).
public struct Request: Sendable {
    public let method: String
    /// Whether the request was a HEAD (the body is not sent), decided from its bytes when it was
    /// read: a worker asks after every response, and comparing two different Strings is a call.
    let isHead: Bool
    public let path: String
    public let body: [UInt8]
    private let params: RequestParams
    /// The request `params` held when this one was made.
    private let generation: Int

    /// Whether nginx says the visitor came over https (HTTPS=on, or REQUEST_SCHEME=https).
    public var https: Bool {
        params.equalsIgnoringCase(.https, "on", of: generation) || params.equals(.scheme, "https", of: generation)
    }
    /// Whether the client takes `Content-Encoding: gzip` (Accept-Encoding names gzip with q > 0).
    public var acceptsGzip: Bool { params.value(.acceptEncoding, of: generation).map { Request.acceptsGzip($0) } ?? false }
    /// The id for the request's log lines: the X-Request-ID nginx passes, else its $request_id.
    public var requestID: RequestID? { params.checkCurrent(generation); return logID.requestID }
    /// The request's id as its log lines read it, to be kept while the request is handled.
    public var logID: RequestLogID { RequestLogID(params: params, generation: generation) }
    public var query: String { params.text(.query, of: generation) ?? "" }
    /// The raw Cookie header.
    public var cookie: ArraySlice<UInt8>? { params.cookie(of: generation) }
    public var host: String? { params.text(.host, of: generation) }
    public var serverPort: String? { params.text(.serverPort, of: generation) }
    public var origin: String? { params.text(.origin, of: generation) }
    public var referer: String? { params.text(.referer, of: generation) }
    public var remoteAddress: String? { params.text(.remoteAddress, of: generation) }
    public var contentType: String? { params.text(.contentType, of: generation) }
    /// The Authorization header (OpenID Connect's token and userinfo endpoints).
    public var authorization: String? { params.text(.authorization, of: generation) }

    init(method: String, isHead: Bool, path: String, body: [UInt8], params: RequestParams) {
        self.method = method; self.isHead = isHead; self.path = path; self.body = body
        self.params = params; generation = params.generation
    }

    /// `Accept-Encoding: gzip, deflate, br` → true; `gzip;q=0` or no gzip → false.
    public static func acceptsGzip(_ header: [UInt8]) -> Bool {
        header.withUnsafeBufferPointer { acceptsGzip($0) }
    }

    /// The same on the header's bytes where libfcgi keeps them: this runs on every request, so it
    /// walks them in place (no split, no copies).
    public static func acceptsGzip(_ header: UnsafeBufferPointer<UInt8>) -> Bool {
        func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 }
        func lower(_ b: UInt8) -> UInt8 { (0x41...0x5a).contains(b) ? b | 0x20 : b }
        /// The bytes in lo..<hi without surrounding spaces.
        func trimmed(_ lo: Int, _ hi: Int) -> Range<Int> {
            var lo = lo, hi = hi
            while lo < hi && isSpace(header[lo]) { lo += 1 }
            while hi > lo && isSpace(header[hi - 1]) { hi -= 1 }
            return lo..<hi
        }
        func equalsLower(_ r: Range<Int>, _ name: StaticString) -> Bool {
            guard r.count == name.utf8CodeUnitCount else { return false }
            for (i, b) in zip(r, UnsafeBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount)) where lower(header[i]) != b { return false }
            return true
        }
        // Items split at commas, parts at semicolons; empty ones are skipped. An item's first part is
        // its coding, the others its parameters: `q=0` (or 0.0…) refuses it.
        var itemStart = 0
        while itemStart <= header.count {
            var itemEnd = itemStart
            while itemEnd < header.count && header[itemEnd] != UInt8(ascii: ",") { itemEnd += 1 }
            defer { itemStart = itemEnd + 1 }
            var partStart = itemStart, sawCoding = false, isGzip = false
            while partStart <= itemEnd {
                var partEnd = partStart
                while partEnd < itemEnd && header[partEnd] != UInt8(ascii: ";") { partEnd += 1 }
                defer { partStart = partEnd + 1 }
                if partEnd == partStart { continue }
                let part = trimmed(partStart, partEnd)
                if !sawCoding {
                    sawCoding = true
                    isGzip = equalsLower(part, "gzip") || equalsLower(part, "x-gzip")
                    if !isGzip { break }
                    continue
                }
                guard part.count >= 2, lower(header[part.lowerBound]) == UInt8(ascii: "q"), header[part.lowerBound + 1] == UInt8(ascii: "=") else { continue }
                let number = String(decoding: UnsafeBufferPointer(rebasing: header[(part.lowerBound + 2)..<part.upperBound]), as: UTF8.self).lowercased()
                if let q = Double(number), q <= 0 { return false }
            }
            if isGzip { return true }
        }
        return false
    }

    /// Whether the Host header names `expected` (lower-case ASCII), ignoring its case, a `:port` and
    /// a trailing dot. Compared in place: the session routes all ask.
    public func hostIs(_ expected: [UInt8]) -> Bool {
        guard !expected.isEmpty, let host = params.value(.host, of: generation) else { return false }
        var end = host.count
        if host.first == UInt8(ascii: "[") {
            guard let close = host.firstIndex(of: UInt8(ascii: "]")) else { return false }
            end = close + 1
        } else if let colon = host.firstIndex(of: UInt8(ascii: ":")) {
            end = colon
        }
        if end > 0 && host[end - 1] == UInt8(ascii: ".") { end -= 1 }
        guard end == expected.count else { return false }
        for i in 0..<end {
            let b = host[i]
            if (0x41...0x5a).contains(b) ? b | 0x20 != expected[i] : b != expected[i] { return false }
        }
        return true
    }

    /// One query parameter's value (`?c=1` → "1").
    public func queryValue(_ name: String) -> String? {
        for pair in query.split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            if kv[0] == name { return kv.count > 1 ? String(kv[1]) : "" }
        }
        return nil
    }
}

/// A request's id for its log lines, looked up only when a line is written. Unlike the request it
/// may be kept past the response: it then has no id, rather than read params libfcgi has freed.
public struct RequestLogID: Sendable {
    private let params: RequestParams?
    private let generation: Int
    /// No request.
    public static let none = RequestLogID(params: nil, generation: 0)

    init(params: RequestParams?, generation: Int) { self.params = params; self.generation = generation }

    /// The X-Request-ID nginx passes, else its $request_id; nil once the response is written.
    public var requestID: RequestID? {
        guard let params, params.generation == generation else { return nil }
        return (params.value(.requestID) ?? params.value(.nginxRequestID)).map(RequestID.init)
    }
}

/// The id of a request for its log lines (nginx's `$request_id`: 32 hex characters), kept inline:
/// every request has one, and it is read only when a line is written (a String of more than 15
/// bytes would be an allocation per request). An id over 64 bytes is cut to its first 64.
public struct RequestID: Sendable, CustomStringConvertible {
    public static let maxLength = 64
    private var bytes = InlineArray<64, UInt8>(repeating: 0)
    private var length = 0

    public init(_ id: UnsafeBufferPointer<UInt8>) {
        length = min(id.count, Self.maxLength)
        for i in 0..<length { bytes[i] = id[i] }
    }

    public init(_ text: String) {
        var text = text
        self = text.withUTF8 { RequestID($0) }
    }

    public var description: String {
        String(unsafeUninitializedCapacity: length) { out in
            for i in 0..<length { out[i] = bytes[i] }
            return length
        }
    }
}

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

/// Writes a header block into a buffer sized in advance (see `capacity`).
struct HeadWriter {
    private let buffer: UnsafeMutableBufferPointer<UInt8>
    private(set) var at = 0
    init(_ buffer: UnsafeMutableBufferPointer<UInt8>) { self.buffer = buffer }

    /// Room for `putHeaderLines` of these headers.
    static func capacity(_ headers: [(String, String)]) -> Int {
        headers.reduce(0) { $0 + $1.0.utf8.count + $1.1.utf8.count + 4 }
    }

    mutating func put(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        (buffer.baseAddress! + at).initialize(from: base, count: bytes.count)
        at += bytes.count
    }

    mutating func put(_ s: StaticString) { put(UnsafeBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount)) }

    mutating func putDecimal(_ value: Int) {
        var v = value.magnitude, digits = 1
        while v >= 10 { v /= 10; digits += 1 }
        if value < 0 { buffer[at] = UInt8(ascii: "-"); at += 1 }
        v = value.magnitude
        for i in stride(from: at + digits - 1, through: at, by: -1) { buffer[i] = UInt8(ascii: "0") + UInt8(v % 10); v /= 10 }
        at += digits
    }

    /// `name: value\r\n` for each header, without CR, LF or NUL: no route, present or future, can
    /// split a header or end the header block early, whatever bytes it puts in a name or value.
    mutating func putHeaderLines(_ headers: [(String, String)]) {
        for (name, value) in headers {
            putHeaderText(name); put(": "); putHeaderText(value); put("\r\n")
        }
    }

    mutating func putHeaderText(_ s: String) {
        var s = s
        s.withUTF8 { utf8 in
            // Almost every header is clean: libc's (vectorised) scans, then one bulk copy.
            func has(_ byte: UInt8) -> Bool { utf8.count > 0 && memchr(utf8.baseAddress!, Int32(byte), utf8.count) != nil }
            if !has(0x0d) && !has(0x0a) && !has(0x00) { put(utf8); return }
            for b in utf8 where b != 0x0d && b != 0x0a && b != 0x00 { buffer[at] = b; at += 1 }
        }
    }
}

/// A fixed list of headers in wire form, made once (with the same CR/LF/NUL stripping as any
/// header): a hot route copies its bytes instead of checking and writing each header per request.
public struct PreparedHeaders: Sendable {
    let bytes: [UInt8]
    /// No headers.
    public static let none = PreparedHeaders(bytes: [])
    private init(bytes: [UInt8]) { self.bytes = bytes }

    public init(_ list: [(String, String)]) {
        bytes = [UInt8](unsafeUninitializedCapacity: HeadWriter.capacity(list)) { buffer, count in
            var out = HeadWriter(buffer)
            out.putHeaderLines(list)
            count = out.at
        }
    }
}

/// Bytes a response carries without copying them first: a byte array, or a buffer another library
/// owns (a Redis reply holding a cached page).
public protocol ResponseBytes: Sendable {
    var count: Int { get }
    func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R
}

extension Array: ResponseBytes where Element == UInt8 {}

/// What a worker runs for each request. One instance per worker process, created after fork.
public protocol RequestHandler {
    /// The paths the handler routes: a request for one of them gets this very String as its path
    /// (no decoding, no allocation). Read once, when the worker starts.
    var routedPaths: [String] { get }
    mutating func handle(_ request: Request) -> Response
    /// Read after each response: what the worker does before the next request.
    var afterResponse: AfterResponse { get }
    /// A TCP peer not in the allow-list connected, and was closed unread (for metrics).
    mutating func refusedPeer(_ address: String)
}

extension RequestHandler {
    public var afterResponse: AfterResponse { .none }
    public mutating func refusedPeer(_ address: String) {}
    public var routedPaths: [String] { [] }
}

/// A handler's routed paths, found by their bytes: a request's path that is one of them is the
/// handler's own String, and any other is decoded.
struct InternedPaths {
    private let bytes: [UInt8]              // every path's UTF-8, one after the other
    private let ends: [Int]                 // where each path's bytes end in `bytes`
    private let texts: [String]

    init(_ paths: [String]) {
        var bytes: [UInt8] = [], ends: [Int] = []
        for path in paths { bytes += Array(path.utf8); ends.append(bytes.count) }
        self.bytes = bytes; self.ends = ends; texts = paths
    }

    /// The interned String whose UTF-8 is `path`, or nil.
    func text(of path: UnsafeBufferPointer<UInt8>) -> String? {
        guard let base = path.baseAddress else { return nil }
        return bytes.withUnsafeBufferPointer { all -> String? in
            var start = 0
            for (i, end) in ends.enumerated() {
                defer { start = end }
                if end - start == path.count && memcmp(all.baseAddress! + start, base, path.count) == 0 { return texts[i] }
            }
            return nil
        }
    }
}

extension String {
    var trimmingSpaces: String {
        var s = Substring(self)
        while s.first == " " || s.first == "\t" { s = s.dropFirst() }
        while s.last == " " || s.last == "\t" { s = s.dropLast() }
        return String(s)
    }
}
