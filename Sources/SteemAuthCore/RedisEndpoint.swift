/// `redis://[user:pass@]host:port/db`, `unix:/path[?db=N]`, or
/// `redis-sentinel://[user:pass@]host:port[,host:port…]/db#mastername` (the URI form Lettuce and
/// others use: the master is found by asking the sentinels). The password never appears in `description`.
public struct RedisEndpoint: Equatable, Sendable, CustomStringConvertible {
    public struct Sentinel: Equatable, Sendable { public var host: String; public var port: Int }
    public enum Location: Equatable, Sendable {
        case tcp(host: String, port: Int), unix(path: String)
        case sentinels([Sentinel], masterName: String)
    }
    public var location: Location
    public var username: String?
    public var password: String?
    public var database: Int

    public var isSentinel: Bool { if case .sentinels = location { return true }; return false }

    public static func parse(_ text: String) -> RedisEndpoint? {
        if text.hasPrefix("redis-sentinel://") { return parseSentinel(text) }
        if text.hasPrefix("unix:") {
            var rest = Substring(text.dropFirst(5))
            var db = 0
            if let q = rest.firstIndex(of: "?") {
                let query = rest[rest.index(after: q)...]
                guard query.hasPrefix("db="), let n = Int(query.dropFirst(3)), n >= 0 else { return nil }
                db = n
                rest = rest[..<q]
            }
            guard rest.hasPrefix("/") else { return nil }
            return RedisEndpoint(location: .unix(path: String(rest)), username: nil, password: nil, database: db)
        }
        guard text.hasPrefix("redis://") else { return nil }
        var rest = Substring(text.dropFirst(8))
        let (user, pass) = takeCredentials(&rest)
        guard let db = takeDatabase(&rest) else { return nil }
        let hostPort = rest.contains(":") ? String(rest) : String(rest) + ":6379"
        guard let (host, port) = splitHostPort(hostPort) else { return nil }
        return RedisEndpoint(location: .tcp(host: host, port: port), username: user, password: pass, database: db)
    }

    /// `redis-sentinel://[user:pass@]h:p[,h:p…][/db]#master`: the user and password are the master's;
    /// the sentinels' own password is a separate setting.
    static func parseSentinel(_ text: String) -> RedisEndpoint? {
        var rest = Substring(text.dropFirst("redis-sentinel://".count))
        guard let hash = rest.lastIndex(of: "#") else { return nil }
        let master = String(rest[rest.index(after: hash)...])
        guard !master.isEmpty, master.utf8.count <= 128, master.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f }) else { return nil }
        rest = rest[..<hash]
        let (user, pass) = takeCredentials(&rest)
        guard let db = takeDatabase(&rest) else { return nil }
        var sentinels: [Sentinel] = []
        for part in rest.split(separator: ",", omittingEmptySubsequences: false) {
            let hostPort = part.contains(":") ? String(part) : String(part) + ":26379"
            guard let (host, port) = splitHostPort(hostPort) else { return nil }
            // A sentinel listed twice would vote twice.
            guard !sentinels.contains(where: { $0.host.lowercased() == host.lowercased() && $0.port == port }) else { return nil }
            sentinels.append(Sentinel(host: host, port: port))
        }
        guard !sentinels.isEmpty else { return nil }
        return RedisEndpoint(location: .sentinels(sentinels, masterName: master), username: user, password: pass, database: db)
    }

    /// Takes `[user:]pass@` off the front: (user, password).
    static func takeCredentials(_ rest: inout Substring) -> (String?, String?) {
        guard let at = rest.lastIndex(of: "@") else { return (nil, nil) }
        let cred = rest[..<at]
        rest = rest[rest.index(after: at)...]
        guard let colon = cred.firstIndex(of: ":") else { return (nil, String(cred)) }
        return (cred[..<colon].isEmpty ? nil : String(cred[..<colon]), String(cred[cred.index(after: colon)...]))
    }

    /// Takes `/db` off the end: the database (0 when absent), nil when it is not a number.
    static func takeDatabase(_ rest: inout Substring) -> Int? {
        guard let slash = rest.firstIndex(of: "/") else { return 0 }
        let dbText = rest[rest.index(after: slash)...]
        rest = rest[..<slash]
        if dbText.isEmpty { return 0 }
        guard let n = Int(dbText), n >= 0 else { return nil }
        return n
    }

    public var description: String {
        let auth = password == nil ? "" : "\(username ?? ""):***@"
        switch location {
        case .sentinels(let list, let master):
            return "redis-sentinel://\(auth)\(list.map { "\($0.host):\($0.port)" }.joined(separator: ","))/\(database)#\(master)"
        case .tcp(let host, let port): return "redis://\(auth)\(host):\(port)/\(database)"
        case .unix(let path): return "unix:\(path)" + (database == 0 ? "" : "?db=\(database)")
        }
    }
}

func splitHostPort(_ text: String) -> (String, Int)? {
    guard let colon = text.lastIndex(of: ":") else { return nil }
    var host = String(text[..<colon])
    if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
    guard !host.isEmpty, let port = Int(text[text.index(after: colon)...]), (1...65535).contains(port) else { return nil }
    return (host, port)
}
