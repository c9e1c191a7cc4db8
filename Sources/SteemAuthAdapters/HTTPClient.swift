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
        prepare(method, url: url, headers: list, timeoutSeconds: timeoutSeconds, sink: ctx)
        let rc: CURLcode = (body ?? []).withUnsafeBufferPointer { b in
            if body != nil {
                _ = steemauth_curl_set_long(handle, CURLOPT_POSTFIELDSIZE, b.count)
                _ = steemauth_curl_set_long(handle, CURLOPT_POST, 1)
                _ = steemauth_curl_set_ptr(handle, CURLOPT_POSTFIELDS, b.baseAddress.map { UnsafeRawPointer($0) } ?? UnsafeRawPointer(Self.emptyBody))
            }
            return curl_easy_perform(handle)
        }
        if body != nil { _ = steemauth_curl_set_ptr(handle, CURLOPT_POSTFIELDS, nil) }
        return try response(rc, sink: sink, maxBytes: maxBytes)
    }

    private static let bodyWriter: steemauth_curl_write_cb = { data, size, count, userdata in
        let sink = Unmanaged<Sink>.fromOpaque(userdata!).takeUnretainedValue()
        let n = size * count
        if sink.body.count + n > sink.limit { sink.overflowed = true; return 0 }
        // The body grows in place; its final size, when announced, was reserved at the headers.
        data!.withMemoryRebound(to: UInt8.self, capacity: n) { sink.body.append(contentsOf: UnsafeBufferPointer(start: $0, count: n)) }
        return n
    }

    private static let headerWriter: steemauth_curl_write_cb = { data, size, count, userdata in
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

    /// Everything of a request but its body, set on the handle.
    private func prepare(_ method: String, url: String, headers list: UnsafeMutablePointer<curl_slist>?, timeoutSeconds: Double,
                         sink ctx: Unmanaged<Sink>) {
        _ = steemauth_curl_set_ptr(handle, CURLOPT_URL, url)
        _ = steemauth_curl_set_ptr(handle, CURLOPT_HTTPHEADER, list)
        _ = steemauth_curl_set_long(handle, CURLOPT_TIMEOUT_MS, Int(timeoutSeconds * 1000))
        _ = steemauth_curl_set_long(handle, CURLOPT_CONNECTTIMEOUT_MS, Int(min(timeoutSeconds, 2) * 1000))
        _ = steemauth_curl_set_long(handle, CURLOPT_FOLLOWLOCATION, 0)
        _ = steemauth_curl_set_write(handle, Self.bodyWriter, ctx.toOpaque())
        _ = steemauth_curl_set_header_cb(handle, Self.headerWriter, ctx.toOpaque())
        _ = steemauth_curl_set_long(handle, CURLOPT_HTTPGET, 1)   // resets POST state left by an earlier request
        _ = steemauth_curl_set_long(handle, CURLOPT_NOBODY, method == "HEAD" ? 1 : 0)
        if method != "GET" && method != "HEAD" {
            _ = steemauth_curl_set_ptr(handle, CURLOPT_CUSTOMREQUEST, method)
        } else {
            _ = steemauth_curl_set_ptr(handle, CURLOPT_CUSTOMREQUEST, nil)
        }
    }

    /// The reply of a request the handle finished with `rc`.
    private func response(_ rc: CURLcode, sink: Sink, maxBytes: Int) throws(Failure) -> Response {
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

    /// One request for `Concurrent`: what `request` takes.
    public struct Request: Sendable {
        public var method: String
        public var url: String
        public var headers: [String]
        public var body: [UInt8]?
        public var timeoutSeconds: Double
        public var maxBytes: Int
        public init(_ method: String = "GET", url: String, headers: [String] = [], body: [UInt8]? = nil,
                    timeoutSeconds: Double = 5, maxBytes: Int = 16 << 20) {
            self.method = method; self.url = url; self.headers = headers; self.body = body
            self.timeoutSeconds = timeoutSeconds; self.maxBytes = maxBytes
        }
    }

    /// Several requests in flight at once from one thread (libcurl's multi interface): each runs on
    /// its own `HTTPClient` (one handle carries one request at a time), each under its own timeout,
    /// and each ends by itself, in whatever order the servers answer. The multi handle keeps the
    /// connections of the handles it ran alive for the next requests to the same servers.
    public final class Concurrent {
        private struct Running {
            let client: HTTPClient
            let tag: Int
            let sink: Unmanaged<Sink>
            let headers: UnsafeMutablePointer<curl_slist>?
            let maxBytes: Int
        }
        private var madeMulti: UnsafeMutableRawPointer?
        private var running: [UnsafeMutableRawPointer: Running] = [:]

        public init() {}

        deinit {
            if let multi = madeMulti {
                for (easy, r) in running { finish(easy, r, multi: multi) }
                curl_multi_cleanup(multi)
            }
        }

        private var multi: UnsafeMutableRawPointer {
            if let made = madeMulti { return made }
            _ = HTTPClient.globalInit
            let made = curl_multi_init()!
            madeMulti = made
            return made
        }

        /// How many requests are in flight.
        public var inFlight: Int { running.count }

        /// Starts `request` on `client`, which must not be running another one; `tag` names it in
        /// what `completed` returns.
        public func start(_ request: Request, on client: HTTPClient, tag: Int) {
            let easy = client.handle
            precondition(running[easy] == nil, "an HTTPClient runs one request at a time")
            let sink = Unmanaged.passRetained(Sink(limit: request.maxBytes))
            var list: UnsafeMutablePointer<curl_slist>? = nil
            for h in request.headers { list = curl_slist_append(list, h) }
            client.prepare(request.method, url: request.url, headers: list, timeoutSeconds: request.timeoutSeconds, sink: sink)
            if let body = request.body {
                // Copied by libcurl: the request needs no buffer of ours to outlive this call.
                _ = steemauth_curl_set_long(easy, CURLOPT_POSTFIELDSIZE, body.count)
                _ = steemauth_curl_set_long(easy, CURLOPT_POST, 1)
                body.withUnsafeBufferPointer { b in
                    _ = steemauth_curl_set_ptr(easy, CURLOPT_COPYPOSTFIELDS, b.baseAddress.map { UnsafeRawPointer($0) } ?? UnsafeRawPointer(HTTPClient.emptyBody))
                }
            }
            running[easy] = Running(client: client, tag: tag, sink: sink, headers: list, maxBytes: request.maxBytes)
            _ = curl_multi_add_handle(multi, easy)
        }

        /// Runs the requests in flight until at least one ended (or `maxWaitMilliseconds` passed,
        /// a request's own timeout ending it first) and returns those that ended, by tag.
        public func completed(maxWaitMilliseconds: Int) -> [(tag: Int, result: Result<Response, Failure>)] {
            guard !running.isEmpty else { return [] }
            let multi = self.multi
            let until = monotonicMilliseconds() + Int64(max(0, maxWaitMilliseconds))
            while true {
                var active: Int32 = 0
                _ = curl_multi_perform(multi, &active)
                var ended: [(tag: Int, result: Result<Response, Failure>)] = []
                var left: Int32 = 0
                while let message = curl_multi_info_read(multi, &left) {
                    guard steemauth_curl_msg_is_done(message) != 0, let easy = steemauth_curl_msg_handle(message),
                          let r = running[easy] else { continue }
                    let rc = steemauth_curl_msg_result(message)
                    let result: Result<Response, Failure>
                    do { result = .success(try r.client.response(rc, sink: r.sink.takeUnretainedValue(), maxBytes: r.maxBytes)) }
                    catch { result = .failure(error) }
                    finish(easy, r, multi: multi)
                    ended.append((r.tag, result))
                }
                let wait = until - monotonicMilliseconds()
                if !ended.isEmpty || running.isEmpty || wait <= 0 { return ended }
                var ready: Int32 = 0
                _ = curl_multi_poll(multi, nil, 0, Int32(min(wait, 1000)), &ready)
            }
        }

        private func finish(_ easy: UnsafeMutableRawPointer, _ r: Running, multi: UnsafeMutableRawPointer) {
            _ = curl_multi_remove_handle(multi, easy)
            running[easy] = nil
            _ = steemauth_curl_set_ptr(easy, CURLOPT_HTTPHEADER, nil)
            curl_slist_free_all(r.headers)
            r.sink.release()
        }
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
