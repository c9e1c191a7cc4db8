import CCurl

/// A blocking libcurl easy handle, reused across requests (keeps the connection to a node alive).
public final class HTTPClient {
    public struct Response: Sendable {
        public var status: Int
        public var headers: [(name: String, value: String)]
        public var body: [UInt8]
        public func header(_ name: String) -> String? {
            headers.first { $0.name.lowercased() == name.lowercased() }?.value
        }
        public func headers(_ name: String) -> [String] {
            headers.filter { $0.name.lowercased() == name.lowercased() }.map(\.value)
        }
        public var text: String { String(decoding: body, as: UTF8.self) }
    }

    public struct Failure: Error, Sendable, CustomStringConvertible {
        public let message: String
        public var timedOut = false
        public var description: String { message }
    }

    private final class Sink {
        var body: [UInt8] = []
        var headerLines: [String] = []
        var headerBytes = 0
        let limit: Int
        var overflowed = false
        var headersOverflowed = false
        init(limit: Int) { self.limit = limit }
    }

    /// The most header bytes a reply may have (every line of every response of one request, a
    /// 100-continue's included): a peer that never ends its headers is cut off here.
    public static let maxHeaderBytes = 64 << 10

    private static let globalInit: Void = { curl_global_init(Int(CURL_GLOBAL_DEFAULT)) }()
    private let cookieJar: Bool
    private var madeHandle: UnsafeMutableRawPointer?
    nonisolated(unsafe) private static let emptyBody = UnsafeMutableRawPointer.allocate(byteCount: 1, alignment: 1)

    /// libcurl's (and so OpenSSL's) one-time set-up. A pre-forking master calls it before the first
    /// fork, so its work and memory are shared by every worker instead of redone in each.
    public static func initializeLibrary() { _ = globalInit }

    /// `cookieJar`: keep cookies between requests in memory, as a browser would.
    public init(cookieJar: Bool = false) {
        self.cookieJar = cookieJar
    }

    /// Made on first use: a worker that never calls a node never pays for a handle.
    private var handle: UnsafeMutableRawPointer {
        if let made = madeHandle { return made }
        _ = Self.globalInit
        let made = curl_easy_init()!
        if cookieJar { _ = steemauth_curl_set_ptr(made, CURLOPT_COOKIEFILE, "") }
        _ = steemauth_curl_set_long(made, CURLOPT_NOSIGNAL, 1)
        madeHandle = made
        return made
    }

    deinit { if let madeHandle { curl_easy_cleanup(madeHandle) } }

    public func request(_ method: String = "GET", url: String, headers: [String] = [], body: [UInt8]? = nil,
                        timeoutSeconds: Double = 5, maxBytes: Int = 16 << 20) throws(Failure) -> Response {
        let sink = Sink(limit: maxBytes)
        let ctx = Unmanaged.passRetained(sink)
        defer { ctx.release() }
        var list: UnsafeMutablePointer<curl_slist>? = nil
        for h in headers { list = curl_slist_append(list, h) }
        defer { curl_slist_free_all(list) }

        let writer: steemauth_curl_write_cb = { data, size, count, userdata in
            let sink = Unmanaged<Sink>.fromOpaque(userdata!).takeUnretainedValue()
            let n = size * count
            if sink.body.count + n > sink.limit { sink.overflowed = true; return 0 }
            // The body grows in place; its final size, when announced, was reserved at the headers.
            data!.withMemoryRebound(to: UInt8.self, capacity: n) { sink.body.append(contentsOf: UnsafeBufferPointer(start: $0, count: n)) }
            return n
        }
        let headerWriter: steemauth_curl_write_cb = { data, size, count, userdata in
            let sink = Unmanaged<Sink>.fromOpaque(userdata!).takeUnretainedValue()
            let n = size * count
            sink.headerBytes += n
            if sink.headerBytes > HTTPClient.maxHeaderBytes { sink.headersOverflowed = true; return 0 }
            let line = data!.withMemoryRebound(to: UInt8.self, capacity: n) { String(decoding: UnsafeBufferPointer(start: $0, count: n), as: UTF8.self) }
            if line.hasPrefix("HTTP/") { sink.headerLines.removeAll() }   // a new response (after 100-continue)
            sink.headerLines.append(line)
            // An announced length: refused at once when over the limit, else reserved in one piece
            // (no regrowth, and so no copy, as the body arrives).
            if line.count > 15, line.prefix(15).lowercased() == "content-length:", let length = Int(line.dropFirst(15).trimmingCharacters(in: " \t\r\n")) {
                if length > sink.limit { sink.overflowed = true; return 0 }
                if length > sink.body.capacity { sink.body.reserveCapacity(length) }
            }
            return n
        }
        _ = steemauth_curl_set_ptr(handle, CURLOPT_URL, url)
        _ = steemauth_curl_set_ptr(handle, CURLOPT_HTTPHEADER, list)
        _ = steemauth_curl_set_long(handle, CURLOPT_TIMEOUT_MS, Int(timeoutSeconds * 1000))
        _ = steemauth_curl_set_long(handle, CURLOPT_CONNECTTIMEOUT_MS, Int(min(timeoutSeconds, 2) * 1000))
        _ = steemauth_curl_set_long(handle, CURLOPT_FOLLOWLOCATION, 0)
        _ = steemauth_curl_set_write(handle, writer, ctx.toOpaque())
        _ = steemauth_curl_set_header_cb(handle, headerWriter, ctx.toOpaque())
        _ = steemauth_curl_set_long(handle, CURLOPT_HTTPGET, 1)   // resets POST state left by an earlier request
        _ = steemauth_curl_set_long(handle, CURLOPT_NOBODY, method == "HEAD" ? 1 : 0)
        if method != "GET" && method != "HEAD" {
            _ = steemauth_curl_set_ptr(handle, CURLOPT_CUSTOMREQUEST, method)
        } else {
            _ = steemauth_curl_set_ptr(handle, CURLOPT_CUSTOMREQUEST, nil)
        }
        let rc: CURLcode = (body ?? []).withUnsafeBufferPointer { b in
            if body != nil {
                _ = steemauth_curl_set_long(handle, CURLOPT_POSTFIELDSIZE, b.count)
                _ = steemauth_curl_set_long(handle, CURLOPT_POST, 1)
                _ = steemauth_curl_set_ptr(handle, CURLOPT_POSTFIELDS, b.baseAddress.map { UnsafeRawPointer($0) } ?? UnsafeRawPointer(Self.emptyBody))
            }
            return curl_easy_perform(handle)
        }
        if body != nil { _ = steemauth_curl_set_ptr(handle, CURLOPT_POSTFIELDS, nil) }
        if sink.overflowed { throw Failure(message: "reply larger than \(maxBytes) bytes") }
        if sink.headersOverflowed { throw Failure(message: "reply headers larger than \(Self.maxHeaderBytes) bytes") }
        guard rc == CURLE_OK else {
            throw Failure(message: String(cString: curl_easy_strerror(rc)), timedOut: rc == CURLE_OPERATION_TIMEDOUT)
        }
        var status = 0
        _ = steemauth_curl_get_long(handle, CURLINFO_RESPONSE_CODE, &status)
        let parsed: [(name: String, value: String)] = sink.headerLines.compactMap { line in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            let value = line[line.index(after: colon)...].trimmingCharacters(in: " \t\r\n")
            return (String(line[..<colon]), value)
        }
        return Response(status: status, headers: parsed, body: sink.body)
    }

    /// The cookies the jar holds, in Netscape format lines (for tests and debugging).
    public func cookieValue(named name: String) -> String? {
        var list: UnsafeMutablePointer<curl_slist>? = nil
        withUnsafeMutablePointer(to: &list) { p in
            _ = steemauth_curl_cookies(handle, p)
        }
        defer { curl_slist_free_all(list) }
        var node = list
        var found: String? = nil
        while let n = node {
            let fields = String(cString: n.pointee.data).split(separator: "\t", omittingEmptySubsequences: false)
            if fields.count >= 7, fields[5] == name { found = String(fields[6]) }
            node = n.pointee.next
        }
        return found
    }
}

extension Substring {
    func trimmingCharacters(in set: String) -> String {
        var s = self
        while let f = s.first, set.contains(f) { s = s.dropFirst() }
        while let l = s.last, set.contains(l) { s = s.dropLast() }
        return String(s)
    }
}
