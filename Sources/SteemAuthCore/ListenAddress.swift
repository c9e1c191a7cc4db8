/// Where the pool listens: a unix socket path or a TCP `host:port`.
public enum ListenAddress: Equatable, Sendable, CustomStringConvertible {
    case unix(path: String)
    case tcp(host: String, port: Int)

    public static func parse(_ text: String) -> ListenAddress? {
        if text.hasPrefix("unix:") {
            let path = String(text.dropFirst(5))
            return path.hasPrefix("/") && path.utf8.count < 108 ? .unix(path: path) : nil
        }
        guard let (host, port) = splitHostPort(text) else { return nil }
        return .tcp(host: host, port: port)
    }

    /// A TCP address only this machine can reach (127.0.0.0/8, ::1, localhost); a unix socket too.
    /// An empty host or 0.0.0.0 listens on every interface.
    public var isLoopback: Bool {
        switch self {
        case .unix: return true
        case .tcp(let host, _):
            let h = host.lowercased()
            if h == "localhost" || h == "::1" || h == "[::1]" { return true }
            let octets = h.split(separator: ".", omittingEmptySubsequences: false)
            return octets.count == 4 && octets[0] == "127" && octets.allSatisfy { UInt8($0) != nil }
        }
    }

    /// The form libfcgi's FCGX_OpenSocket takes: a path, or `host:port`.
    public var fcgiSocketPath: String {
        switch self {
        case .unix(let path): return path
        case .tcp(let host, let port): return "\(host):\(port)"
        }
    }

    public var description: String {
        switch self {
        case .unix(let path): return "unix:\(path)"
        case .tcp(let host, let port): return "\(host):\(port)"
        }
    }
}
