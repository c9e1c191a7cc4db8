import CHiredis
#if canImport(Glibc)
import Glibc
#endif
import SteemAuthCore

/// One blocking hiredis connection. A context that saw an I/O error is dropped, never reused, and
/// re-opened on a later call after a backoff (50 ms doubling to 1 s). Under Sentinel the master is
/// found anew on every reconnect, confirmed with ROLE, and a `READONLY`, `LOADING` or `MASTERDOWN`
/// reply (a demoted or not yet ready master) drops the context so the next call resolves again.
public final class RedisConnection {
    private let endpoint: RedisEndpoint
    private let sentinelPassword: String?
    private let sentinelUser: String?
    /// The master this connection talks to (under Sentinel).
    public private(set) var masterAddress: String?
    /// Called when a connection finds a different master than before (a failover).
    public var onFailover: ((String) -> Void)?
    private var connectedReplicas = 0
    private var replicasCheckedAt: Int64 = 0
    private let connectTimeoutMs: Int
    private let commandTimeoutMs: Int
    private var context: UnsafeMutablePointer<redisContext>?
    private var backoffMs: Int64 = 0
    private var nextAttemptAt: Int64 = 0

    public init(endpoint: RedisEndpoint, sentinelPassword: String? = nil, sentinelUser: String? = nil,
                connectTimeoutMs: Int = 250, commandTimeoutMs: Int = 1000) {
        self.endpoint = endpoint
        self.sentinelPassword = sentinelPassword
        self.sentinelUser = sentinelUser
        self.connectTimeoutMs = connectTimeoutMs
        self.commandTimeoutMs = commandTimeoutMs
    }

    deinit { if let context { redisFree(context) } }

    public var isConnected: Bool { context != nil }

    /// Sends several commands in one round trip and returns their replies in order.
    public func pipeline(_ commands: [[String]]) throws(RedisError) -> [RedisReply] {
        // The strings' UTF-8 views go straight into the command buffer: no byte array per argument.
        try run(commands.map { argv in argv.map { $0.utf8 } }).replies
    }

    /// The same, with binary-safe arguments (compressed pages).
    public func pipeline(binary commands: [[[UInt8]]]) throws(RedisError) -> [RedisReply] {
        try run(commands).replies
    }

    /// `keepingLastBulk`: a string reply to the last command is not copied but kept as hiredis made
    /// it (`kept`; its place in `replies` is `.null`), so a large value can be written out as is.
    private func run<Argument: Collection>(_ commands: [[Argument]], keepingLastBulk: Bool = false) throws(RedisError)
        -> (replies: [RedisReply], kept: RedisBulkReply?) where Argument.Element == UInt8 {
        let ctx = try connectedContext()
        for argv in commands { try append(ctx, argv) }
        return try replies(ctx, count: commands.count, keepingLastBulk: keepingLastBulk)
    }

    /// Reads the replies to the `count` commands queued on `ctx`.
    private func replies(_ ctx: UnsafeMutablePointer<redisContext>, count: Int, keepingLastBulk: Bool = false) throws(RedisError)
        -> (replies: [RedisReply], kept: RedisBulkReply?) {
        var replies: [RedisReply] = []
        replies.reserveCapacity(count)
        var kept: RedisBulkReply? = nil
        for index in 0..<count {
            let reply = try nextReply(ctx)
            if keepingLastBulk, index == count - 1, reply.pointee.type == REDIS_REPLY_STRING {
                kept = RedisBulkReply(owning: reply)
                replies.append(.null)
                continue
            }
            replies.append(Self.convert(reply))
            freeReplyObject(reply)
        }
        for case .error(let e) in replies { try dropIfMasterChanged(e) }
        return (replies, kept)
    }

    /// A demoted or not yet ready master's error drops the context, so the next call resolves again.
    private func dropIfMasterChanged(_ error: String) throws(RedisError) {
        if Self.isMasterChange(error) { throw drop("the master changed or is not ready: \(error.prefix(80))") }
    }

    /// Several commands in one round trip: the replies to all but the last are read where hiredis
    /// made them, by `read` (no `RedisReply` made); a string answer to the last one is kept as hiredis
    /// read it (no copy), else nil. For the report page of every logged-in view.
    public func pipelineKeepingLastBulk<T>(_ commands: [[String]], reading read: ([RedisReplyView]) throws(RedisError) -> T)
        throws(RedisError) -> (T, RedisBulkReply?) {
        precondition(!commands.isEmpty)
        let ctx = try connectedContext()
        for argv in commands { try append(ctx, strings: argv) }
        var firsts: [UnsafeMutablePointer<redisReply>] = []
        firsts.reserveCapacity(commands.count - 1)
        defer { for reply in firsts { freeReplyObject(reply) } }
        for _ in 1..<commands.count { firsts.append(try nextReply(ctx)) }
        let kept = try keptBulk(nextReply(ctx))
        try dropIfMasterChanged(in: firsts)
        return (try read(firsts.map(RedisReplyView.init)), kept)
    }

    /// Several commands in one round trip, every reply read where hiredis made it by `read` (no
    /// `RedisReply` made): the plain reads of a session this worker has seen.
    public func pipeline<T>(_ commands: [[String]], reading read: ([RedisReplyView]) throws(RedisError) -> T) throws(RedisError) -> T {
        let ctx = try connectedContext()
        for argv in commands { try append(ctx, strings: argv) }
        var replies: [UnsafeMutablePointer<redisReply>] = []
        replies.reserveCapacity(commands.count)
        defer { for reply in replies { freeReplyObject(reply) } }
        for _ in commands { replies.append(try nextReply(ctx)) }
        try dropIfMasterChanged(in: replies)
        return try read(replies.map(RedisReplyView.init))
    }

    /// The same check over replies still as hiredis made them: any error among them from a master
    /// that changed drops the context.
    private func dropIfMasterChanged(in replies: [UnsafeMutablePointer<redisReply>]) throws(RedisError) {
        for reply in replies where reply.pointee.type == REDIS_REPLY_ERROR {
            if case .error(let e) = Self.convert(reply) { try dropIfMasterChanged(e) }
        }
    }

    /// Takes `reply`: a string reply is kept as hiredis made it; any other is freed (nil), and an
    /// error from a master that changed drops the context.
    private func keptBulk(_ reply: UnsafeMutablePointer<redisReply>) throws(RedisError) -> RedisBulkReply? {
        if reply.pointee.type == REDIS_REPLY_STRING { return RedisBulkReply(owning: reply) }
        let converted = Self.convert(reply)
        freeReplyObject(reply)
        if case .error(let e) = converted { try dropIfMasterChanged(e) }
        return nil
    }

    /// The next reply on `ctx`, as hiredis made it: the caller frees it.
    private func nextReply(_ ctx: UnsafeMutablePointer<redisContext>) throws(RedisError) -> UnsafeMutablePointer<redisReply> {
        var raw: UnsafeMutableRawPointer? = nil
        guard redisGetReply(ctx, &raw) == REDIS_OK, let raw else { throw drop("reading reply: \(errorText(ctx))") }
        return raw.assumingMemoryBound(to: redisReply.self)
    }

    /// GET, keeping a string value as hiredis read it (no copy): nil when the key is missing.
    public func getKeepingBulk(_ key: String) throws(RedisError) -> RedisBulkReply? {
        let (replies, kept) = try run([["GET", key].map { $0.utf8 }], keepingLastBulk: true)
        if kept == nil, case .error(let e) = replies[0] { throw RedisError(kind: .server, message: e) }
        return kept
    }

    public func command(_ argv: [String]) throws(RedisError) -> RedisReply {
        try pipeline([argv])[0]
    }

    /// Runs a script (EVALSHA; the script is loaded first when this connection has not loaded it, or
    /// again when the server lost it, after a restart or a failover) and returns its reply.
    public func eval(_ script: LuaScript, keys: [String] = [], args: [String]) throws(RedisError) -> RedisReply {
        try evalSHA(script, keys: keys, args: args, then: nil) { reply throws(RedisError) in reply.converted }.result
    }

    /// The same, with the reply read where hiredis made it by `read` (no `RedisReply` made): for the
    /// scripts of every session request.
    public func eval<T>(_ script: LuaScript, keys: [String] = [], args: [String],
                        reading read: (RedisReplyView) throws(RedisError) -> T) throws(RedisError) -> T {
        try evalSHA(script, keys: keys, args: args, then: nil, read: read).result
    }

    /// A script and one more command in one round trip. A string answer to `next` is kept as hiredis
    /// read it (no copy); nil when it is not a string.
    public func evalPipelined<T>(_ script: LuaScript, keys: [String] = [], args: [String], then next: [String],
                                 reading read: (RedisReplyView) throws(RedisError) -> T) throws(RedisError) -> (T, RedisBulkReply?) {
        try evalSHA(script, keys: keys, args: args, then: next, read: read)
    }

    private func evalSHA<T>(_ script: LuaScript, keys: [String], args: [String], then next: [String]?,
                            read: (RedisReplyView) throws(RedisError) -> T) throws(RedisError) -> (result: T, kept: RedisBulkReply?) {
        var attempt = 0
        while true {
            attempt += 1
            let ctx = try connectedContext()
            try appendEvalSHA(ctx, script.sha, keys: keys, args: args)
            if let next { try append(ctx, strings: next) }
            let reply = try nextReply(ctx)
            defer { freeReplyObject(reply) }
            let kept = next == nil ? nil : try keptBulk(nextReply(ctx))
            if reply.pointee.type == REDIS_REPLY_ERROR, case .error(let e) = Self.convert(reply) {
                try dropIfMasterChanged(e)
                // The server does not have the script (new, restarted, or a new master): load it, once.
                if e.hasPrefix("NOSCRIPT") && attempt == 1 { try load(script); continue }
            }
            return (try read(RedisReplyView(reply)), kept)
        }
    }

    private func load(_ script: LuaScript) throws(RedisError) {
        let sha = try command(["SCRIPT", "LOAD", script.source]).checked().string
        guard sha == script.sha else { throw RedisError(kind: .server, message: "SCRIPT LOAD of \(script.name) answered \(sha ?? "no sha"), not \(script.sha)") }
    }

    /// Queues `EVALSHA sha numkeys keys… args…` from its parts, without joining them into one array
    /// first (every session request makes this call).
    private func appendEvalSHA(_ ctx: UnsafeMutablePointer<redisContext>, _ sha: String, keys: [String], args: [String]) throws(RedisError) {
        let verb: StaticString = "EVALSHA"
        let keyCount = keys.isEmpty ? "0" : String(keys.count)
        var bytes = verb.utf8CodeUnitCount + sha.utf8.count + keyCount.utf8.count
        for key in keys { bytes += key.utf8.count }
        for arg in args { bytes += arg.utf8.count }
        try append(ctx, count: 3 + keys.count + args.count, bytes: bytes) { put in
            put(UnsafeBufferPointer(start: verb.utf8Start, count: verb.utf8CodeUnitCount))
            var sha = sha, keyCount = keyCount
            sha.withUTF8(put); keyCount.withUTF8(put)
            for var key in keys { key.withUTF8(put) }
            for var arg in args { arg.withUTF8(put) }
        }
    }

    /// Queues one command, written in Redis's wire format (RESP: `*argc`, then `$len` and the bytes of
    /// each argument) straight into one scratch buffer that hiredis copies as is: no formatting pass,
    /// no growing array.
    private func append<Argument: Collection>(_ ctx: UnsafeMutablePointer<redisContext>, _ argv: [Argument]) throws(RedisError)
        where Argument.Element == UInt8 {
        try append(ctx, count: argv.count, bytes: argv.reduce(0) { $0 + $1.count }) { put in
            for arg in argv {
                // A native string's UTF-8 or an array: one bulk copy.
                if arg.withContiguousStorageIfAvailable(put) == nil { Array(arg).withUnsafeBufferPointer(put) }
            }
        }
    }

    /// The same for an argument list of strings, each written from its UTF-8 in place.
    private func append(_ ctx: UnsafeMutablePointer<redisContext>, strings argv: [String]) throws(RedisError) {
        try append(ctx, count: argv.count, bytes: argv.reduce(0) { $0 + $1.utf8.count }) { put in
            for var arg in argv { arg.withUTF8(put) }
        }
    }

    /// The RESP writer under both: `arguments` hands each of the `count` arguments (`bytes` in all)
    /// to `put`, in order.
    private func append(_ ctx: UnsafeMutablePointer<redisContext>, count: Int, bytes: Int,
                        arguments: ((UnsafeBufferPointer<UInt8>) -> Void) -> Void) throws(RedisError) {
        let size = 24 + bytes + 24 * count
        let rc = withUnsafeTemporaryAllocation(of: UInt8.self, capacity: size) { buffer -> Int32 in
            var at = Self.writeLine(UInt8(ascii: "*"), count, into: buffer, at: 0)
            arguments { arg in
                at = Self.writeLine(UInt8(ascii: "$"), arg.count, into: buffer, at: at)
                if let base = arg.baseAddress { (buffer.baseAddress! + at).update(from: base, count: arg.count) }
                at += arg.count
                buffer[at] = 0x0d; buffer[at + 1] = 0x0a; at += 2
            }
            return buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: at) { redisAppendFormattedCommand(ctx, $0, at) }
        }
        if rc != REDIS_OK { throw drop("queueing command: \(errorText(ctx))") }
    }

    /// `*3\r\n` or `$5\r\n`: a RESP type byte, a decimal count, CRLF, written at `at`; returns the end.
    static func writeLine(_ kind: UInt8, _ count: Int, into out: UnsafeMutableBufferPointer<UInt8>, at start: Int) -> Int {
        out[start] = kind
        var width = 1, limit = 10
        while count >= limit { width += 1; limit &*= 10 }
        var v = count, i = start + width
        repeat { out[i] = UInt8(ascii: "0") + UInt8(v % 10); v /= 10; i -= 1 } while v > 0
        out[start + width + 1] = 0x0d; out[start + width + 2] = 0x0a
        return start + width + 3
    }

    private func connectedContext() throws(RedisError) -> UnsafeMutablePointer<redisContext> {
        if let context { return context }
        let now = monotonicMilliseconds()
        if now < nextAttemptAt {
            throw RedisError(kind: .unavailable, message: "reconnect backoff (\(nextAttemptAt - now) ms left)")
        }
        var tv = timeval(tv_sec: connectTimeoutMs / 1000, tv_usec: (connectTimeoutMs % 1000) * 1000)
        let ctx: UnsafeMutablePointer<redisContext>?
        var resolved: SentinelResolver.Address? = nil
        switch endpoint.location {
        case .tcp(let host, let port): ctx = redisConnectWithTimeout(host, Int32(port), tv)
        case .unix(let path): ctx = redisConnectUnixWithTimeout(path, tv)
        case .sentinels(let sentinels, let master):
            do { resolved = try SentinelResolver.masterAddress(sentinels: sentinels, masterName: master, user: sentinelUser,
                                                                        password: sentinelPassword, timeout: tv) }
            catch { throw failConnect(error.message) }
            ctx = redisConnectWithTimeout(resolved!.host, Int32(resolved!.port), tv)
        }
        guard let ctx else { throw failConnect("out of memory") }
        if ctx.pointee.err != 0 {
            let message = errorText(ctx)
            redisFree(ctx)
            throw failConnect(message)
        }
        tv = timeval(tv_sec: commandTimeoutMs / 1000, tv_usec: (commandTimeoutMs % 1000) * 1000)
        _ = redisSetTimeout(ctx, tv)
        // Keep the reader's buffer between replies (hiredis frees it above 16 KB when idle): a cached
        // page of 80 KB would otherwise regrow it, copy after copy, on every view.
        ctx.pointee.reader.pointee.maxbuf = 0
        context = ctx
        do {
            var setup: [[String]] = []
            if let password = endpoint.password {
                setup.append(endpoint.username.map { ["AUTH", $0, password] } ?? ["AUTH", password])
            }
            // Under Sentinel, ROLE right after AUTH: the replies are checked before any other command.
            let roleIndex = resolved == nil ? nil : setup.count
            if resolved != nil { setup.append(["ROLE"]) }
            if endpoint.database != 0 { setup.append(["SELECT", String(endpoint.database)]) }
            if !setup.isEmpty {
                let replies = try pipeline(setup)
                for reply in replies {
                    if case .error(let e) = reply {
                        // Never echo the password; the server's message does not contain it.
                        disconnect()
                        throw failConnect("setup refused: \(e)")
                    }
                }
                // A sentinel's answer can be stale right after a failover: only a master will do.
                if let resolved, let roleIndex {
                    let role = replies[roleIndex]
                    guard role.array?.first?.string == "master" else {
                        disconnect()
                        throw failConnect("\(resolved) is a \(role.array?.first?.string ?? "server that does not say"), not the master (a stale sentinel answer)")
                    }
                    connectedReplicas = Self.replicaCount(role: role)
                    replicasCheckedAt = monotonicMilliseconds()
                }
            }
        }
        if let resolved {
            let address = resolved.description
            if let previous = masterAddress, previous != address { onFailover?(address) }
            masterAddress = address
        }
        backoffMs = 0
        nextAttemptAt = 0
        return ctx
    }

    private func failConnect(_ message: String) -> RedisError {
        backoffMs = backoffMs == 0 ? 50 : min(backoffMs * 2, 1000)
        nextAttemptAt = monotonicMilliseconds() + backoffMs
        return RedisError(kind: .unavailable, message: "connect to \(endpoint): \(message)")
    }

    private func drop(_ message: String) -> RedisError {
        disconnect()
        backoffMs = 50
        nextAttemptAt = monotonicMilliseconds() + backoffMs
        return RedisError(kind: .connectionLost, message: message)
    }

    public func disconnect() {
        if let context { redisFree(context) }
        context = nil
    }

    private func errorText(_ ctx: UnsafeMutablePointer<redisContext>) -> String {
        withUnsafeBytes(of: ctx.pointee.errstr) { raw in
            let bytes = raw.prefix { $0 != 0 }
            return String(decoding: bytes, as: UTF8.self)
        }
    }

    static func isMasterChange(_ error: String) -> Bool {
        error.hasPrefix("READONLY") || error.hasPrefix("LOADING") || error.hasPrefix("MASTERDOWN")
    }

    /// Waits until `minimum` replicas (or as many as are connected now, if fewer) have every write
    /// made so far on this connection. Returns how many were wanted and how many acknowledged; a
    /// master left with no replica wants none and returns at once.
    public func waitForReplicas(minimum: Int, timeoutMs: Int) throws(RedisError) -> (wanted: Int, acknowledged: Int) {
        guard minimum > 0 else { return (0, 0) }
        if monotonicMilliseconds() - replicasCheckedAt > 1000 { _ = try connectedReplicaCount() }
        let wanted = min(minimum, connectedReplicas)
        guard wanted > 0 else { return (0, 0) }
        // Redis answers WAIT when its timeout ends: keep it well inside this connection's read
        // timeout, or the read gives up first and a slow replica looks like a lost connection.
        let timeout = min(timeoutMs, commandTimeoutMs / 2)
        let acked = try command(["WAIT", String(wanted), String(timeout)]).checked().integer ?? 0
        return (wanted, Int(acked))
    }

    /// Replicas connected to the master now (ROLE); remembered for the next WAIT.
    public func connectedReplicaCount() throws(RedisError) -> Int {
        connectedReplicas = Self.replicaCount(role: try command(["ROLE"]).checked())
        replicasCheckedAt = monotonicMilliseconds()
        return connectedReplicas
    }

    /// A master's ROLE reply is `["master", offset, [[ip, port, offset], …]]`; anything else has none.
    static func replicaCount(role: RedisReply) -> Int {
        guard let items = role.array, items.count > 2, items[0].string == "master" else { return 0 }
        return items[2].array?.count ?? 0
    }
}
