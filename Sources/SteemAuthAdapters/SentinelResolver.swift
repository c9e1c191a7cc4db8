import CHiredis
#if canImport(Glibc)
import Glibc
#endif
import SteemAuthCore

/// Finds a Redis master through Sentinel (hiredis has no Sentinel client): asks the sentinels in
/// order with `SENTINEL get-master-addr-by-name`, the first answer wins. The caller confirms with
/// `ROLE` that the address really is the master: right after a failover a sentinel can be stale.
enum SentinelResolver {
    struct Address: Equatable, CustomStringConvertible {
        var host: String
        var port: Int
        var description: String { "\(host):\(port)" }
    }

    static func masterAddress(sentinels: [RedisEndpoint.Sentinel], masterName: String, password: String?,
                              timeout: timeval) throws(RedisError) -> Address {
        var reasons: [String] = []
        for sentinel in sentinels {
            guard let ctx = redisConnectWithTimeout(sentinel.host, Int32(sentinel.port), timeout) else { continue }
            defer { redisFree(ctx) }
            if ctx.pointee.err != 0 { reasons.append("\(sentinel.host):\(sentinel.port) unreachable"); continue }
            _ = redisSetTimeout(ctx, timeout)
            if let password, !(command(ctx, ["AUTH", password]).map { $0 == .status("OK") } ?? false) {
                reasons.append("\(sentinel.host):\(sentinel.port) refused the sentinel password")
                continue
            }
            guard let reply = command(ctx, ["SENTINEL", "get-master-addr-by-name", masterName]),
                  let items = reply.array, items.count == 2, let host = items[0].string,
                  let port = items[1].string.flatMap(Int.init), (1...65535).contains(port) else {
                reasons.append("\(sentinel.host):\(sentinel.port) does not know master \(masterName)")
                continue
            }
            return Address(host: host, port: port)
        }
        throw RedisError(kind: .unavailable, message: "no sentinel gave the address of \(masterName): " + reasons.joined(separator: "; "))
    }

    /// One command on a short-lived context; nil on any I/O error.
    private static func command(_ ctx: UnsafeMutablePointer<redisContext>, _ argv: [String]) -> RedisReply? {
        var lengths = argv.map { $0.utf8.count }
        var owned = argv.map { strdup($0) }
        defer { owned.forEach { free($0) } }
        let raw: UnsafeMutableRawPointer? = owned.withUnsafeMutableBufferPointer { args in
            lengths.withUnsafeMutableBufferPointer { lens in
                args.baseAddress!.withMemoryRebound(to: UnsafePointer<CChar>?.self, capacity: args.count) {
                    redisCommandArgv(ctx, Int32(argv.count), $0, lens.baseAddress)
                }
            }
        }
        guard let raw else { return nil }
        defer { freeReplyObject(raw) }
        return RedisConnection.convert(raw.assumingMemoryBound(to: redisReply.self))
    }
}
