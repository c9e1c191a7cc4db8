#if canImport(Glibc)
import Glibc
#endif

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
