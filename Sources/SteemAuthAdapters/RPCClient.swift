import FoundationEssentials
import Logging
import SteemAuthCore

public struct RPCFailure: Error, Sendable, CustomStringConvertible {
    public let node: String
    public let reason: String
    public let timedOut: Bool
    /// The node answered a batch with one error object (or anything else) in place of the array.
    public let batchRefused: Bool
    public init(node: String, reason: String, timedOut: Bool = false, batchRefused: Bool = false) {
        self.node = node; self.reason = reason; self.timedOut = timedOut; self.batchRefused = batchRefused
    }
    public var description: String { "\(node): \(reason)" }
}

/// JSON-RPC over libcurl to an ordered list of nodes. A node that times out, refuses, answers a
/// non-200 status, an error object or anything undecodable is skipped for the next one; the
/// caller sees a failure only when every node failed. Batches are split to each node's batch size
/// (AdaptiveBatchSize): a node that refuses a batch gets it again in halves before it counts as failed.
public final class RPCClient {
    public enum Form: Sendable { case dotted, appbaseCall }

    /// The nodes as they may be shown (NodeURL.redacted: no key in userinfo or query): in failures,
    /// log lines and metrics labels. The URLs themselves stay in `urls`.
    public let nodes: [String]
    let urls: [String]
    public var timeoutSeconds: Double
    public var form: Form
    public var maxReplyBytes: Int
    private var preferred = 0
    private var nextID: Int64 = 1
    private var clients: [HTTPClient]
    var batchSizes: [AdaptiveBatchSize]
    let logger: Logger
    /// Requests in flight together (`concurrently`), and the handles each node's ran on, kept for the next.
    lazy var concurrent = HTTPClient.Concurrent()
    var idleClients: [[HTTPClient]]
    /// The chain id every node must report (nil: not checked). A node is asked when first used and
    /// again after it failed (a failover may have put another server behind its address).
    public let expectedChainID: String?
    var chainChecked: [Bool]
    /// Nodes of another chain: never asked again.
    public internal(set) var dropped: Set<Int> = []
    /// Counters by node, for metrics and tests.
    public private(set) var failures: [String: Int] = [:]
    public private(set) var calls: [String: Int] = [:]

    public init(nodes: [String], timeoutSeconds: Double, form: Form = .dotted, maxReplyBytes: Int = 32 << 20,
                maxBatchSize: Int = 50, expectedChainID: String? = nil, logger: Logger) {
        precondition(!nodes.isEmpty)
        self.expectedChainID = expectedChainID
        self.chainChecked = nodes.map { _ in expectedChainID == nil }
        self.batchSizes = nodes.map { _ in AdaptiveBatchSize(maximum: max(1, maxBatchSize)) }
        self.nodes = nodes.map(NodeURL.redact)
        self.urls = nodes
        self.timeoutSeconds = timeoutSeconds
        self.form = form
        self.maxReplyBytes = maxReplyBytes
        self.clients = nodes.map { _ in HTTPClient() }
        self.idleClients = nodes.map { _ in [] }
        self.logger = logger
    }

    public var currentNode: String { nodes[preferred] }
    /// The node calls go to first (the one that answered the last call with failover).
    public var preferredNode: Int { preferred }

    /// Sends the next calls to another node first (this one served something that did not check out).
    public func avoid(_ node: Int) {
        guard let next = nodesInOrder.first(where: { $0 != node }) else { return }
        logger.notice("rpc: switched to node", metadata: ["node": "\(nodes[next])", "avoiding": "\(nodes[node])"])
        preferred = next
    }

    /// Counts a failure of a node whose answer parsed but did not hold what it must (for metrics).
    public func countFailure(_ node: Int) {
        failures[nodes[node], default: 0] += 1
    }

    /// A request to the node failed: counted, and its chain id asked again before its next use (a
    /// failover may have put another server behind its address).
    func noteFailure(of node: Int) {
        countFailure(node)
        chainChecked[node] = expectedChainID == nil
    }

    /// The batch size in use for each node, for metrics.
    public var batchSizeByNode: [String: Int] {
        Dictionary(zip(nodes, batchSizes.map(\.current)), uniquingKeysWith: { a, _ in a })
    }

    /// One call; `nil` when the node answered `"result": null` (e.g. get_block past the head).
    /// `deadline` (monotonic milliseconds): one limit for the call and every failover together.
    public func call<T: Decodable & Sendable>(_ method: String, _ params: JSONValue, as type: T.Type, deadline: Int64? = nil) throws(RPCFailure) -> T? {
        try batch([(method, params)], as: type, deadline: deadline)[0]
    }

    /// Many calls of the same result type in one HTTP request; replies are matched by `id`.
    /// With a `deadline`, each node tried gets what is left of it (at most `timeoutSeconds`): a
    /// failover never gives the next node a full timeout of its own past the caller's limit.
    public func batch<T: Decodable & Sendable>(_ calls: [(String, JSONValue)], as type: T.Type, deadline: Int64? = nil) throws(RPCFailure) -> [T?] {
        var last = RPCFailure(node: "-", reason: dropped.count == nodes.count ? "every node serves another chain" : "no nodes")
        for index in nodesInOrder {
            // The caller's time is up: no node is asked (or blamed) after it.
            if let deadline, deadline - monotonicMilliseconds() <= 50 {
                throw RPCFailure(node: last.node, reason: "the deadline passed (\(last.reason))", timedOut: true)
            }
            do {
                let result = try batch(calls, on: index, as: type, deadline: deadline)
                if index != preferred {
                    logger.notice("rpc: switched to node", metadata: ["node": "\(nodes[index])"])
                    preferred = index
                }
                return result
            } catch {
                last = error
                logger.warning("rpc: node failed, trying next", metadata: ["node": "\(nodes[index])", "reason": "\(error.reason)"])
            }
        }
        throw last
    }

    /// The nodes not dropped, the preferred one first, then in the configured order.
    public var nodesInOrder: [Int] {
        (0..<nodes.count).map { (preferred + $0) % nodes.count }.filter { !dropped.contains($0) }
    }

    /// One call to one node, no failover (for answers a quorum of nodes must agree on).
    public func call<T: Decodable & Sendable>(_ method: String, _ params: JSONValue, on node: Int, as type: T.Type,
                                              deadline: Int64? = nil) throws(RPCFailure) -> T? {
        try batch([(method, params)], on: node, as: type, deadline: deadline)[0]
    }

    /// Calls to one node, no failover; its chain id is checked first when it has not been yet (or
    /// since it last failed). A node of another chain is dropped, with an error log.
    public func batch<T: Decodable & Sendable>(_ calls: [(String, JSONValue)], on node: Int, as type: T.Type,
                                               deadline: Int64? = nil) throws(RPCFailure) -> [T?] {
        guard !dropped.contains(node) else { throw RPCFailure(node: nodes[node], reason: "dropped: it serves another chain") }
        do {
            if !chainChecked[node] { try checkChainID(node, deadline: deadline) }
            return try performInBatches(calls, node: node, as: type, deadline: deadline)
        } catch {
            noteFailure(of: node)
            throw error
        }
    }

    /// Asks the node for its chain id; drops it when the id is not the expected one.
    private func checkChainID(_ node: Int, deadline: Int64?) throws(RPCFailure) {
        guard let expected = expectedChainID else { return }
        let probe = try perform([(RPCMethod.getConfig, .array([]))], node: node, as: ChainConfigProbe.self,
                                timeout: timeout(until: deadline, node: node))[0]
        try confirmChainID(probe, expected: expected, node: node)
    }

    /// Drops the node (and throws) when the chain id it reported is not the expected one.
    func confirmChainID(_ probe: ChainConfigProbe?, expected: String, node: Int) throws(RPCFailure) {
        let id = probe?.chainID?.lowercased()
        guard id == expected.lowercased() else {
            dropped.insert(node)
            logger.error("rpc: node serves another chain; dropped", metadata: [
                "node": "\(nodes[node])", "chain_id": "\(id ?? "none")", "expected": "\(expected)"])
            throw RPCFailure(node: nodes[node], reason: "serves another chain (chain id \(id ?? "none"))")
        }
        chainChecked[node] = true
    }

    /// The calls in consecutive batches of the node's current size; a refused batch is halved and
    /// sent again, down to single calls, before the node counts as failed.
    private func performInBatches<T: Decodable & Sendable>(_ calls: [(String, JSONValue)], node: Int, as type: T.Type,
                                                           deadline: Int64?) throws(RPCFailure) -> [T?] {
        var out: [T?] = []
        out.reserveCapacity(calls.count)
        var next = 0
        while next < calls.count {
            let size = min(batchSizes[node].current, calls.count - next)
            do {
                out += try perform(Array(calls[next..<(next + size)]), node: node, as: type, timeout: timeout(until: deadline, node: node))
                // Only a full batch says the node takes this size (single calls say nothing).
                if size > 1 && size == batchSizes[node].current { batchSizes[node].answered() }
                next += size
            } catch {
                guard error.batchRefused, batchSizes[node].refused(size: size) else { throw error }
                logger.warning("rpc: node refused a batch; halving", metadata: [
                    "node": "\(nodes[node])", "refused": "\(size)", "now": "\(batchSizes[node].current)", "reason": "\(error.reason)"])
            }
        }
        return out
    }

    /// The timeout of the next request: `timeoutSeconds`, or what is left before `deadline` if less.
    func timeout(until deadline: Int64?, node: Int) throws(RPCFailure) -> Double {
        guard let deadline else { return timeoutSeconds }
        let left = Double(deadline - monotonicMilliseconds()) / 1000
        guard left > 0.05 else { throw RPCFailure(node: nodes[node], reason: "the caller's deadline passed", timedOut: true) }
        return min(timeoutSeconds, left)
    }

    private func perform<T: Decodable & Sendable>(_ calls: [(String, JSONValue)], node: Int, as type: T.Type,
                                                  timeout: Double) throws(RPCFailure) -> [T?] {
        let (requests, body) = try encoded(calls, node: node)
        let response: HTTPClient.Response
        do {
            response = try clients[node].request("POST", url: urls[node], headers: Self.requestHeaders,
                                                 body: body, timeoutSeconds: timeout, maxBytes: maxReplyBytes)
        } catch { throw RPCFailure(node: nodes[node], reason: error.message, timedOut: error.timedOut) }
        return try decoded(response, for: requests, node: node, as: type)
    }

    static let requestHeaders = ["Content-Type: application/json", "Expect:"]

    /// The requests of `calls` (fresh ids, in the client's form) and the body that carries them;
    /// counts one call to the node.
    func encoded(_ calls: [(String, JSONValue)], node: Int) throws(RPCFailure) -> ([RPCRequest], [UInt8]) {
        let url = nodes[node]   // the shown name; urls[node] is only handed to libcurl
        self.calls[url, default: 0] += 1
        let requests = calls.map { call -> RPCRequest in
            defer { nextID += 1 }
            switch form {
            case .dotted: return RPCRequest(id: nextID, method: call.0, params: call.1)
            case .appbaseCall:
                let parts = call.0.split(separator: ".")
                return .call(id: nextID, api: String(parts[0]), method: String(parts.last!), params: call.1)
            }
        }
        do {
            let body = requests.count == 1 ? try JSONEncoder().encode(requests[0]) : try JSONEncoder().encode(requests)
            return (requests, Array(body))
        } catch { throw RPCFailure(node: url, reason: "encoding request: \(error)") }
    }

    /// The results of `requests` from the node's reply, in the requests' order (matched by id).
    func decoded<T: Decodable & Sendable>(_ response: HTTPClient.Response, for requests: [RPCRequest], node: Int,
                                                  as type: T.Type) throws(RPCFailure) -> [T?] {
        let url = nodes[node]
        let single = requests.count == 1
        guard response.status == 200 else {
            throw RPCFailure(node: url, reason: "HTTP \(response.status): \(String(decoding: response.body.prefix(120), as: UTF8.self))")
        }
        let replies: [RPCResponse<T>]
        do {
            replies = try Self.decoding(response.body) { data in
                single ? [try JSONDecoder().decode(RPCResponse<T>.self, from: data)] : try JSONDecoder().decode([RPCResponse<T>].self, from: data)
            }
        } catch {
            // A batch answered by one object (a gateway's batch limit, a parse error, an invalid
            // request) in place of the array: the caller may try smaller batches.
            if !single, let whole = try? Self.decoding(response.body, { try JSONDecoder().decode(RPCResponse<JSONValue>.self, from: $0) }) {
                throw RPCFailure(node: url, reason: whole.error?.description ?? "a single object in place of the batch's array",
                                 batchRefused: true)
            }
            throw RPCFailure(node: url, reason: "undecodable reply: \(Self.describe(error)) \(String(decoding: response.body.prefix(80), as: UTF8.self))")
        }
        var byID: [JSONValue: RPCResponse<T>] = [:]
        for r in replies { if let id = r.id { byID[id] = r } }
        var out: [T?] = []
        out.reserveCapacity(requests.count)
        for request in requests {
            guard let reply = single ? replies.first : byID[request.id] else {
                throw RPCFailure(node: url, reason: "no reply for id \(request.id)")
            }
            if let e = reply.error { throw RPCFailure(node: url, reason: e.description) }
            out.append(reply.result)
        }
        return out
    }

    /// Decodes from the reply's own bytes, seen as `Data` without a copy (a reply may be tens of MB).
    static func decoding<R>(_ body: [UInt8], _ decode: (Data) throws -> R) throws -> R {
        try body.withUnsafeBytes { raw in
            guard let base = raw.baseAddress, raw.count > 0 else { return try decode(Data()) }
            return try decode(Data(bytesNoCopy: UnsafeMutableRawPointer(mutating: base), count: raw.count, deallocator: .none))
        }
    }

    static func describe(_ error: any Error) -> String {
        if let e = error as? DecodingError {
            switch e {
            case .typeMismatch(_, let c), .valueNotFound(_, let c), .keyNotFound(_, let c), .dataCorrupted(let c):
                return c.codingPath.map(\.stringValue).joined(separator: ".") + ": " + c.debugDescription
            @unknown default: return "\(e)"
            }
        }
        return "\(error)"
    }
}
