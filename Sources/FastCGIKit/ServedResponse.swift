/// A response as a worker wrote it (a CGI-style header block, then the body), read back for a test.
@_spi(Testing)
public struct ServedResponse: Sendable {
    /// Everything written, header block and body.
    public let bytes: [UInt8]
    public let status: Int
    /// The header lines in order, as written.
    public let headers: [(name: String, value: String)]
    public let body: [UInt8]
    public var text: String { String(decoding: body, as: UTF8.self) }

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
        var end = 0
        while end + 3 < bytes.count, !(bytes[end] == 13 && bytes[end + 1] == 10 && bytes[end + 2] == 13 && bytes[end + 3] == 10) { end += 1 }
        let head = String(decoding: bytes[..<min(end, bytes.count)], as: UTF8.self)
        body = end + 4 <= bytes.count ? Array(bytes[(end + 4)...]) : []
        var headers: [(name: String, value: String)] = [], status = 0
        for line in head.split(separator: "\r\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = String(line[..<colon]), value = String(line[line.index(after: colon)...].drop(while: { $0 == " " }))
            if name == "Status" { status = Int(value.prefix(while: \.isNumber)) ?? 0 } else { headers.append((name, value)) }
        }
        self.status = status
        self.headers = headers
    }

    /// The first header of this name (any case).
    public func header(_ name: String) -> String? { headers.first { $0.name.lowercased() == name.lowercased() }?.value }

    /// Every header of this name (any case), in order.
    public func headers(named name: String) -> [String] { headers.filter { $0.name.lowercased() == name.lowercased() }.map(\.value) }
}
