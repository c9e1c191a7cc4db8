import FlyingFox
import FlyingSocks
import FoundationEssentials
import Glibc
import SteemAuthCore

/// Faults injected into one listener: the next `count` requests fail in `mode`.
actor FaultInjector {
    enum Mode: String { case refuse, slow, garbage, error, fork, reorder }
    private var mode: Mode?
    private var remaining = 0
    /// When set, only a request that asks for this block (get_block, or a range holding it) fails.
    private var block: Int64?
    var slowSeconds: Double = 10
    /// `fork` and the lies are standing states rather than per-request failures.
    private(set) var lies = NodeLies()

    func setFork(memo: String?) { lies.forkMemo = memo }
    func update(_ change: (inout NodeLies) -> Void) { change(&lies) }

    func set(_ m: Mode, count: Int, slowSeconds: Double?, block: Int64? = nil) {
        mode = m; remaining = count; self.block = block
        if let slowSeconds { self.slowSeconds = slowSeconds }
    }
    func take(asking blocks: ClosedRange<Int64>?) -> Mode? {
        guard let m = mode, remaining > 0 else { return nil }
        if let block { guard let blocks, blocks.contains(block) else { return nil } }
        remaining -= 1
        return m
    }

    /// The blocks a request asks for: get_block's numbers, get_block_range's range (nil: none).
    static func blocksAsked(_ request: JSONValue) -> ClosedRange<Int64>? {
        var low = Int64.max, high = Int64.min
        for item in request.arrayValue ?? [request] {
            let method = item["method"]?.stringValue ?? ""
            let call = method == "call" ? item["params"]?.arrayValue : nil
            let name = call.map { $0.dropFirst().first?.stringValue ?? "" } ?? String(method.split(separator: ".").last ?? "")
            let params = call.map { $0.dropFirst(2).first } ?? item["params"]
            if name == "get_block", let n = params?.arrayValue?.first?.intValue ?? params?["block_num"]?.intValue {
                low = min(low, n); high = max(high, n)
            } else if name == "get_block_range", let start = params?["starting_block_num"]?.intValue, let count = params?["count"]?.intValue, count > 0 {
                low = min(low, start); high = max(high, start + count - 1)
            }
        }
        return low <= high ? low...high : nil
    }
}

/// Counts the RPC methods served, so tests can tell whether a page was served from cache.
actor CallCounter {
    private var counts: [String: Int64] = [:]
    func count(_ v: JSONValue) {
        for item in v.arrayValue ?? [v] {
            guard let m = item["method"]?.stringValue else { continue }
            let name = m == "call" ? (item["params"]?.arrayValue?.dropFirst().first?.stringValue ?? m) : String(m.split(separator: ".").last ?? "")
            counts[name, default: 0] += 1
        }
    }
    func snapshot() -> JSONValue { .object(counts.mapValues { .int($0) }) }
}

/// One HTTP listener of the devchain. Every answer says `Connection: close`: FlyingFox writes a
/// response's header and body separately without TCP_NODELAY, so a kept-alive connection stalls ~40 ms
/// on Nagle and delayed ACKs; a fresh loopback connection costs well under a millisecond. Several can share one chain (a second "node" for failover tests),
/// each with its own faults.
struct NodeHandler: HTTPHandler {
    let rpc: DevChainRPC
    let faults: FaultInjector
    let counter: CallCounter
    /// Batches over this many calls are refused as jussi refuses them (nil = no limit).
    let batchLimit: Int?
    /// Each JSON-RPC request is answered this many milliseconds late, as a node across a continent
    /// is; concurrent requests wait side by side (control calls are never delayed).
    var latencyMilliseconds = 0
    /// Each JSON-RPC request waits a random 0...N ms more, so concurrent requests are answered in
    /// shuffled order (control calls are never delayed).
    var jitterMilliseconds = 0
    static let maxBody = 4 << 20

    func handleRequest(_ request: HTTPRequest) async throws -> HTTPResponse {
        guard request.method == .POST else {
            return HTTPResponse(statusCode: .ok, headers: [.contentType: "text/plain", .connection: "close"], body: Data("steemauth devchain: POST JSON-RPC here\n".utf8))
        }
        let body = try await request.bodyData
        guard body.count <= Self.maxBody else { return HTTPResponse(statusCode: .badRequest) }
        let parsed = try? JSONDecoder().decode(JSONValue.self, from: body)
        if let parsed, isControl(parsed) {
            if parsed["method"] == .string("devchain.stats") {
                return try json(.object(["jsonrpc": .string("2.0"), "id": parsed["id"] ?? .null, "result": await counter.snapshot()]))
            }
            return try await answer(parsed)
        }
        if let parsed { await counter.count(parsed) }
        let delay = latencyMilliseconds + (jitterMilliseconds > 0 ? Int.random(in: 0...jitterMilliseconds) : 0)
        if delay > 0 { try await Task.sleep(nanoseconds: UInt64(delay) * 1_000_000) }
        let lies = await faults.lies
        if let limit = batchLimit, let batch = parsed?.arrayValue, batch.count > limit {
            // jussi: one error object, no array, for the whole batch.
            return try json(rpc.error(.null, -32600, "JSONRPC batch size of \(batch.count) exceeds \(limit)"))
        }
        var reorder = false
        if let fault = lies.forkMemo == nil ? await faults.take(asking: parsed.flatMap(FaultInjector.blocksAsked)) : nil {
            switch fault {
            case .reorder:
                reorder = true
            case .refuse:
                return HTTPResponse(statusCode: HTTPStatusCode(503, phrase: "Service Unavailable"), headers: [.contentType: "text/html", .connection: "close"],
                                    body: Data("<html><body><h1>503 Service Unavailable</h1>No server is available.</body></html>\n".utf8))
            case .slow:
                try await Task.sleep(nanoseconds: UInt64(await faults.slowSeconds * 1_000_000_000))
            case .garbage:
                return HTTPResponse(statusCode: .ok, headers: [.contentType: "application/json", .connection: "close"], body: Data(#"{"jsonrpc":"2.0","id":1,"result":{"previous":"00"#.utf8))
            case .fork:
                break
            case .error:
                let ids: [JSONValue] = parsed?.arrayValue?.map { $0["id"] ?? .null } ?? [parsed?["id"] ?? .null]
                let errors = ids.map { rpc.error($0, -32000, "devchain: injected fault") }
                return try json(parsed?.arrayValue != nil ? .array(errors) : errors[0])
            }
        }
        guard let parsed else { return try json(rpc.error(.null, -32700, "Parse error")) }
        return try await answer(parsed, lies: lies, reorder: reorder)
    }

    private func isControl(_ v: JSONValue) -> Bool { v["method"]?.stringValue?.hasPrefix("devchain.") == true }

    /// `reorder`: a batch's replies come back last first (JSON-RPC lets a server answer in any order).
    private func answer(_ parsed: JSONValue, lies: NodeLies = NodeLies(), reorder: Bool = false) async throws -> HTTPResponse {
        if parsed["method"] == .string("devchain.lie") {
            do {
                let told = try await NodeLies.apply(parsed["params"] ?? .null, to: faults)
                return try json(.object(["jsonrpc": .string("2.0"), "id": parsed["id"] ?? .null, "result": .object(["lie": .string(told)])]))
            } catch let e as RPCErrorObject {
                return try json(rpc.error(parsed["id"] ?? .null, e.code, e.message))
            }
        }
        if parsed["method"] == .string("devchain.fault") {
            let mode = parsed["params"]?["mode"]?.stringValue.flatMap(FaultInjector.Mode.init(rawValue:))
            guard let mode else { return try json(rpc.error(parsed["id"] ?? .null, -32602, "mode is refuse|slow|garbage|error|reorder|fork")) }
            if mode == .fork {
                await faults.setFork(memo: parsed["params"]?["memo"]?.stringValue ?? "fork")
                return try json(.object(["jsonrpc": .string("2.0"), "id": parsed["id"] ?? .null, "result": .object(["mode": .string("fork")])]))
            }
            await faults.set(mode, count: Int(parsed["params"]?["count"]?.intValue ?? 1), slowSeconds: parsed["params"]?["seconds"].flatMap { v in
                if case .double(let d) = v { return d }; return v.intValue.map(Double.init) }, block: parsed["params"]?["block"]?.intValue)
            return try json(.object(["jsonrpc": .string("2.0"), "id": parsed["id"] ?? .null, "result": .object(["mode": .string(mode.rawValue)])]))
        }
        if let batch = parsed.arrayValue {
            guard !batch.isEmpty, batch.count <= 1000 else { return try json(rpc.error(.null, -32600, "Invalid Request: batch of 1..1000")) }
            var out: [String] = []
            for item in batch { out.append(await rpc.answerText(item, lies: lies)) }
            return text("[" + (reorder ? out.reversed() : out).joined(separator: ",") + "]")
        }
        return text(await rpc.answerText(parsed, lies: lies))
    }

    private func text(_ body: String) -> HTTPResponse {
        HTTPResponse(statusCode: .ok, headers: [.contentType: "application/json", .connection: "close"], body: Data(body.utf8))
    }

    private func json(_ v: JSONValue) throws -> HTTPResponse {
        HTTPResponse(statusCode: .ok, headers: [.contentType: "application/json", .connection: "close"], body: try JSONEncoder().encode(v))
    }
}

/// FlyingFox's socket pool with Nagle's algorithm off on every socket it waits on, the listener
/// first (the connections it accepts inherit it), as a node behind nginx (`tcp_nodelay on`) has it.
/// With Nagle on, the last segment of a reply over 64 KiB (a batch of accounts) waited for the client's
/// delayed ACK: 40 ms more on a large reply, which is not the network a latency test means to model.
struct NoDelaySocketPool: AsyncSocketPool {
    let pool: any AsyncSocketPool = HTTPServer.defaultPool()
    func prepare() async throws { try await pool.prepare() }
    func run() async throws { try await pool.run() }
    func suspendSocket(_ socket: Socket, untilReadyFor events: Socket.Events) async throws {
        try? socket.setValue(true, for: BoolSocketOption(level: Int32(IPPROTO_TCP), name: TCP_NODELAY))
        try await pool.suspendSocket(socket, untilReadyFor: events)
    }
}

public enum DevChainServer {
    /// Serves the chain on every address until the process is stopped; produces a block every
    /// `blockInterval` seconds (0 = only on demand).
    public static func serve(addresses: [(String, UInt16)], chain: SimulatedChain, serviceAccount: String, blockInterval: Double,
                             batchLimit: Int? = nil, latencyMilliseconds: Int = 0, jitterMilliseconds: Int = 0) async throws {
        let rpc = DevChainRPC(chain: chain, serviceAccount: serviceAccount)
        let counter = CallCounter()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (host, port) in addresses {
                var handler = NodeHandler(rpc: rpc, faults: FaultInjector(), counter: counter, batchLimit: batchLimit)
                handler.latencyMilliseconds = latencyMilliseconds
                handler.jitterMilliseconds = jitterMilliseconds
                let server = HTTPServer(address: try .inet(ip4: host, port: port), timeout: 120, pool: NoDelaySocketPool(),
                                        logger: .disabled, handler: handler)
                group.addTask { try await server.run() }
            }
            if blockInterval > 0 {
                group.addTask {
                    while !Task.isCancelled {
                        try await Task.sleep(nanoseconds: UInt64(blockInterval * 1_000_000_000))
                        await chain.produceBlock()
                    }
                }
            }
            try await group.next()
            group.cancelAll()
        }
    }
}
