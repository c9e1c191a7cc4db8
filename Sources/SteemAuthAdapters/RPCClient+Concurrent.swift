import Logging
import SteemAuthCore

/// A batch of calls for `RPCClient.concurrently`: sent to `node` only (no failover: the caller
/// chooses the node, and what to do when it fails).
public struct RPCBatchRequest: Sendable {
    public var node: Int
    public var calls: [(String, JSONValue)]
    /// Its reply is decoded and handed over as soon as it arrives, before replies of other
    /// batches that are waiting to be decoded (a reply that says what to ask next).
    public var urgent: Bool
    public init(node: Int, calls: [(String, JSONValue)], urgent: Bool = false) {
        self.node = node; self.calls = calls; self.urgent = urgent
    }
}

extension RPCClient {
    /// Sends `batches` at once, and more as replies come in, from this one thread: `received` gets
    /// each batch's result as soon as it is complete, in whatever order the nodes answer, with its
    /// index (the first batches are 0..<batches.count, those `received` returned are numbered on
    /// in the order given), and returns the batches to send next (none: `[]`). Returns when no
    /// batch is left. `received` must not call this client.
    ///
    /// Each batch goes out in parts of its node's batch size, the parts in flight together; a part
    /// the node refuses as too large is sent again smaller (AdaptiveBatchSize). A result holds
    /// every call's result in the batch's order, or the batch's first failure. The checks are those
    /// of `batch(_:on:)`: a node not yet asked for its chain id is asked alongside, and its replies
    /// are handed over only once the id checks out; replies are size-capped and matched by id;
    /// failures name the node as it may be shown; `calls` and `failures` count by node.
    /// Every request ends by `deadline` (monotonic milliseconds) and within `timeoutSeconds`.
    ///
    /// Replies are decoded one at a time, the requests in flight moved on between two: a request
    /// just started goes out while replies that came with it wait their turn, and an urgent
    /// batch's reply is decoded first.
    public func concurrently<T: Decodable & Sendable>(_ batches: [RPCBatchRequest], as type: T.Type, deadline: Int64? = nil,
                                                     received: (Int, Result<[T?], RPCFailure>) -> [RPCBatchRequest]) {
        var run = ConcurrentRun<T>(client: self, deadline: deadline)
        for batch in batches { run.submit(batch) }
        while true {
            while !run.ready.isEmpty {
                let (index, result) = run.ready.removeFirst()
                for batch in received(index, result) { run.submit(batch) }
            }
            if run.waiting.isEmpty {
                guard concurrent.inFlight > 0 else { return }
                for (tag, result) in concurrent.completed(maxWaitMilliseconds: 1000) { run.ended(tag, result) }
            } else {
                // Sends what was just started and takes what arrived, without waiting; then one reply.
                for (tag, result) in concurrent.completed(maxWaitMilliseconds: 0) { run.ended(tag, result) }
                if run.ready.isEmpty { run.decodeWaiting() }
            }
        }
    }

    /// An idle handle for a request to `node` (one that ran a request before, when there is one).
    func idleClient(for node: Int) -> HTTPClient {
        idleClients[node].popLast() ?? HTTPClient()
    }
}

/// The state of one `concurrently` call.
private struct ConcurrentRun<T: Decodable & Sendable> {
    struct Batch {
        let node: Int
        let urgent: Bool
        var calls: [(String, JSONValue)]
        var results: [T?]
        var left: Int
        var done = false
    }
    /// One HTTP request: a part of a batch (`offset`, `count` of its calls), or a chain id probe.
    struct Part {
        let batch: Int
        let offset: Int
        let requests: [RPCRequest]
    }

    let client: RPCClient
    let deadline: Int64?
    var batches: [Batch] = []
    var parts: [Int: Part] = [:]
    var probes: [Int: (node: Int, request: RPCRequest)] = [:]
    var nodeOfTag: [Int: (node: Int, handle: HTTPClient)] = [:]
    /// Replies that arrived and wait to be decoded (urgent ones are decoded at once).
    var waiting: [(tag: Int, node: Int, result: Result<HTTPClient.Response, HTTPClient.Failure>)] = []
    /// Nodes whose chain id is being asked, with the replies that came before its answer.
    var held: [Int: [(tag: Int, result: Result<HTTPClient.Response, HTTPClient.Failure>)]] = [:]
    /// Nodes that failed during this run, until their chain id is asked again: their replies still
    /// on the way are not used (a failover may have put another server behind the address).
    var quarantined: Set<Int> = []
    var nextTag = 0
    /// Results to hand over, in the order they were complete.
    var ready: [(Int, Result<[T?], RPCFailure>)] = []

    init(client: RPCClient, deadline: Int64?) {
        self.client = client
        self.deadline = deadline
    }

    mutating func submit(_ request: RPCBatchRequest) {
        let index = batches.count, node = request.node
        batches.append(Batch(node: node, urgent: request.urgent, calls: request.calls, results: Array(repeating: nil, count: request.calls.count),
                             left: request.calls.count))
        guard client.nodes.indices.contains(node) else {
            return fail(index, RPCFailure(node: "-", reason: "no node \(node)"), counted: false)
        }
        guard !client.dropped.contains(node) else {
            return fail(index, RPCFailure(node: client.nodes[node], reason: "dropped: it serves another chain"))
        }
        guard !request.calls.isEmpty else { return finish(index) }
        if !client.chainChecked[node] && held[node] == nil { probe(node) }
        send(index, offset: 0, count: request.calls.count)
    }

    /// The calls `offset..<offset+count` of a batch, in parts of its node's current batch size.
    mutating func send(_ index: Int, offset: Int, count: Int) {
        let node = batches[index].node
        var next = offset
        while next < offset + count, !batches[index].done {
            let size = min(client.batchSizes[node].current, offset + count - next)
            let timeout: Double
            let requests: [RPCRequest], body: [UInt8]
            do {
                timeout = try client.timeout(until: deadline, node: node)
                (requests, body) = try client.encoded(Array(batches[index].calls[next..<(next + size)]), node: node)
            } catch { return fail(index, error) }
            let tag = start(node: node, body: body, timeout: timeout)
            parts[tag] = Part(batch: index, offset: next, requests: requests)
            next += size
        }
    }

    /// Asks the node for its chain id, alongside the first batch sent to it.
    mutating func probe(_ node: Int) {
        held[node] = []
        quarantined.remove(node)
        do {
            let timeout = try client.timeout(until: deadline, node: node)
            let (requests, body) = try client.encoded([(RPCMethod.getConfig, .array([]))], node: node)
            probes[start(node: node, body: body, timeout: timeout)] = (node, requests[0])
        } catch { probeFailed(node, error) }
    }

    mutating func start(node: Int, body: [UInt8], timeout: Double) -> Int {
        let tag = nextTag
        nextTag += 1
        let handle = client.idleClient(for: node)
        nodeOfTag[tag] = (node, handle)
        client.concurrent.start(HTTPClient.Request("POST", url: client.urls[node], headers: RPCClient.requestHeaders, body: body,
                                                 timeoutSeconds: timeout, maxBytes: client.maxReplyBytes),
                              on: handle, tag: tag)
        return tag
    }

    mutating func ended(_ tag: Int, _ result: Result<HTTPClient.Response, HTTPClient.Failure>) {
        guard let (node, handle) = nodeOfTag.removeValue(forKey: tag) else { return }
        client.idleClients[node].append(handle)
        if let probe = probes.removeValue(forKey: tag) {
            return probeEnded(node, request: probe.request, result)
        }
        if held[node] != nil { held[node]!.append((tag, result)); return }
        if quarantined.contains(node) { return refuseQuarantined(tag, node: node) }
        arrived(tag, node: node, result)
    }

    /// A part's reply: decoded now when its batch is urgent, else queued.
    mutating func arrived(_ tag: Int, node: Int, _ result: Result<HTTPClient.Response, HTTPClient.Failure>) {
        if let part = parts[tag], batches[part.batch].urgent { return partEnded(tag, node: node, result) }
        waiting.append((tag, node, result))
    }

    mutating func decodeWaiting() {
        guard !waiting.isEmpty else { return }
        let (tag, node, result) = waiting.removeFirst()
        if quarantined.contains(node) { return refuseQuarantined(tag, node: node) }
        partEnded(tag, node: node, result)
    }

    /// A reply from a node that failed since: its batch fails too (the caller sends it elsewhere).
    mutating func refuseQuarantined(_ tag: Int, node: Int) {
        guard let part = parts.removeValue(forKey: tag), !batches[part.batch].done else { return }
        fail(part.batch, RPCFailure(node: client.nodes[node], reason: "an earlier request to this node failed: its replies wait for its chain id to be asked again"),
             counted: false)
    }

    mutating func probeEnded(_ node: Int, request: RPCRequest, _ result: Result<HTTPClient.Response, HTTPClient.Failure>) {
        do {
            let response = try result.mapError { RPCFailure(node: client.nodes[node], reason: $0.message, timedOut: $0.timedOut) }.get()
            let probe = try client.decoded(response, for: [request], node: node, as: ChainConfigProbe.self)[0]
            if let expected = client.expectedChainID { try client.confirmChainID(probe, expected: expected, node: node) }
        } catch { return probeFailed(node, error) }
        client.chainChecked[node] = true
        for (tag, result) in held.removeValue(forKey: node) ?? [] { arrived(tag, node: node, result) }
    }

    /// Every batch of the node fails with the probe's failure (its replies, in or still on their
    /// way, are not used).
    mutating func probeFailed(_ node: Int, _ error: RPCFailure) {
        for (tag, _) in held.removeValue(forKey: node) ?? [] { parts[tag] = nil }
        client.countFailure(node)
        for index in batches.indices where batches[index].node == node && !batches[index].done {
            fail(index, error, counted: false)
        }
    }

    mutating func partEnded(_ tag: Int, node: Int, _ result: Result<HTTPClient.Response, HTTPClient.Failure>) {
        guard let part = parts.removeValue(forKey: tag), !batches[part.batch].done else { return }
        let index = part.batch, count = part.requests.count
        do {
            let response = try result.mapError { RPCFailure(node: client.nodes[node], reason: $0.message, timedOut: $0.timedOut) }.get()
            let values = try client.decoded(response, for: part.requests, node: node, as: T.self)
            batches[index].results.replaceSubrange(part.offset..<(part.offset + count), with: values)
        } catch {
            guard error.batchRefused, client.batchSizes[node].refused(size: count) else { return fail(index, error) }
            client.logger.warning("rpc: node refused a batch; halving", metadata: [
                "node": "\(client.nodes[node])", "refused": "\(count)", "now": "\(client.batchSizes[node].current)", "reason": "\(error.reason)"])
            return send(index, offset: part.offset, count: count)
        }
        // Only a full batch says the node takes this size (single calls say nothing).
        if count > 1 && count == client.batchSizes[node].current { client.batchSizes[node].answered() }
        batches[index].left -= count
        if batches[index].left == 0 { finish(index) }
    }

    mutating func finish(_ index: Int) {
        batches[index].done = true
        let results = batches[index].results
        batches[index].results = []
        batches[index].calls = []
        ready.append((index, .success(results)))
    }

    mutating func fail(_ index: Int, _ error: RPCFailure, counted: Bool = true) {
        let node = batches[index].node
        if counted {
            client.noteFailure(of: node)
            if !client.chainChecked[node] { quarantined.insert(node) }
        }
        batches[index].done = true
        batches[index].results = []
        batches[index].calls = []
        ready.append((index, .failure(error)))
    }
}
