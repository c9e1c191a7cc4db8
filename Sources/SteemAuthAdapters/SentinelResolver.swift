import CHiredis
#if canImport(Glibc)
import Glibc
#endif
import SteemAuthCore

/// Finds a Redis master through Sentinel (hiredis has no Sentinel client): asks every sentinel
/// `SENTINEL get-master-addr-by-name`, after AUTH with the sentinels' own password, and takes the
/// address only when a quorum of them names it (SentinelQuorum): one stale or lying sentinel is
/// outvoted, and the master's password never goes to an address it alone named. The caller still
/// confirms with `ROLE` that the address is the master before any other command.
enum SentinelResolver {
    struct Address: Equatable, CustomStringConvertible {
        var host: String
        var port: Int
        var description: String { "\(host):\(port)" }
    }

    static func masterAddress(sentinels: [RedisEndpoint.Sentinel], masterName: String, user: String?, password: String?,
                              timeout: timeval) throws(RedisError) -> Address {
        var reasons: [String] = []
        var answers: [Address] = []
        for sentinel in sentinels {
            guard let ctx = redisConnectWithTimeout(sentinel.host, Int32(sentinel.port), timeout) else { continue }
            defer { redisFree(ctx) }
            if ctx.pointee.err != 0 { reasons.append("\(sentinel.host):\(sentinel.port) unreachable"); continue }
            _ = redisSetTimeout(ctx, timeout)
            if let password {
                let auth = user.map { ["AUTH", $0, password] } ?? ["AUTH", password]
                guard command(ctx, auth).map({ $0 == .status("OK") }) ?? false else {
                    reasons.append("\(sentinel.host):\(sentinel.port) refused the sentinel password")
                    continue
                }
            }
            guard let reply = command(ctx, ["SENTINEL", "get-master-addr-by-name", masterName]),
                  let items = reply.array, items.count == 2, let host = items[0].string, isHostName(host),
                  let port = items[1].string.flatMap(Int.init), (1...65535).contains(port) else {
                reasons.append("\(sentinel.host):\(sentinel.port) does not know master \(masterName)")
                continue
            }
            answers.append(Address(host: host, port: port))
        }
        let verdict = SentinelQuorum.decide(answers: answers.map(\.description), listed: sentinels.count)
        if let chosen = verdict.address, let address = answers.first(where: { $0.description == chosen }) { return address }
        if answers.isEmpty {
            throw RedisError(kind: .unavailable, message: "no sentinel gave the address of \(masterName): " + reasons.joined(separator: "; "))
        }
        let named = Dictionary(answers.map { ($0.description, 1) }, uniquingKeysWith: +).sorted { $0.key < $1.key }
            .map { "\($0.key) (\($0.value))" }.joined(separator: ", ")
        throw RedisError(kind: .unavailable, message: "no quorum of sentinels for \(masterName): \(verdict.answered) answered, "
            + "\(verdict.needed) must agree; they named \(named)" + (reasons.isEmpty ? "" : "; " + reasons.joined(separator: "; ")))
    }

    /// An address a sentinel gave: an IP address or a host name, nothing that could smuggle text
    /// into a log line or a connect call.
    static func isHostName(_ host: String) -> Bool {
        !host.isEmpty && host.utf8.count <= 255
            && host.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || ".-:".unicodeScalars.contains($0)) }
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
