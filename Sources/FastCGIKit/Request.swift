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
    /// The path's place in the handler's `routedPaths`, when it is one of them (found by the
    /// worker's interned lookup: a handler dispatches on it without comparing strings).
    public let routedPathIndex: Int?
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

    init(method: String, isHead: Bool, path: String, routedPathIndex: Int? = nil, body: [UInt8], params: RequestParams) {
        self.method = method; self.isHead = isHead; self.path = path; self.routedPathIndex = routedPathIndex; self.body = body
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
