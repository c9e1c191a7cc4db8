import Logging
import SteemAuthAdapters
import SteemAuthCore

/// One report's fetch, as RPCClient.concurrently drives it: the `get_following` pages one after
/// another (each starts at the last name of the page before), and each page's `get_accounts`
/// batches sent with the next page, spread over the nodes. A batch a node fails goes to the next
/// node (in the client's order); the fetch fails when no node is left. At most two lookups a node
/// are in flight (a node's reply of 1,000 accounts is about 12 MB): when the lookups fall behind the
/// pages, the names wait their turn rather than the replies piling up in memory.
struct FollowLookup {
    /// A `get_following` or `get_accounts` result: one decodable type for both, told apart by keys.
    enum Reply: Decodable, Sendable {
        case follow(FollowEntry)
        case account(ChainAccount)
        private enum Keys: String, CodingKey { case following }
        init(from decoder: any Decoder) throws {
            let keys = try decoder.container(keyedBy: Keys.self)
            self = keys.contains(.following) ? .follow(try FollowEntry(from: decoder)) : .account(try ChainAccount(from: decoder))
        }
    }

    private enum Request {
        case page(start: String)
        case accounts(slot: Int, calls: [[String]])
    }

    static let maxPages = 1000

    let account: String
    let nodeNames: [String]
    let deadline: Int64
    /// Plans a page's lookups: (how many names, the nodes to use) → batches.
    var plan: (Int, [Int]) -> AccountLookupPlan = { _, _ in AccountLookupPlan(nameCount: 0, nodes: [], namesPerCall: 1, callsPerBatch: 1) }
    /// The nodes still trusted with this report's calls, in order of preference.
    private(set) var live: [Int]
    private(set) var failedNodes: [Int] = []
    private var requests: [Int: Request] = [:]
    /// Lookups planned and not yet sent, and how many are in flight.
    private var queued: [(request: Request, node: Int)] = []
    private var lookupsInFlight = 0
    private var nodeOfBatch: [Int: Int] = [:]
    private var sent = 0
    private var pages = 0
    private(set) var following: [String] = []
    private(set) var badFollowing: [String] = []
    /// The accounts, one slot per `get_accounts` batch in the order of the names.
    private(set) var accounts: [[ChainAccount]] = []
    /// Why the fetch failed (the last node's failure), if it did.
    private(set) var failure: RPCFailure?

    /// `nodes`: those to use, in order of preference; `nodeNames`: every node as it may be shown.
    init(account: String, nodes: [Int], nodeNames: [String], deadline: Int64) {
        self.account = account
        self.live = nodes
        self.nodeNames = nodeNames
        self.deadline = deadline
    }

    mutating func firstPage() -> RPCBatchRequest {
        send(.page(start: ""), to: live.first ?? 0)
    }

    /// A batch's result; returns the batches to send next.
    mutating func received(_ index: Int, _ result: Result<[[Reply]?], RPCFailure>, logger: Logger) -> [RPCBatchRequest] {
        guard let request = requests.removeValue(forKey: index), let node = nodeOfBatch.removeValue(forKey: index),
              failure == nil else { return [] }
        switch (request, result) {
        case (_, .failure(let error)):
            return retry(request, node: node, after: error, logger: logger)
        case (.page(let start), .success(let replies)):
            var page: [FollowEntry] = []
            for reply in replies.first.flatMap({ $0 }) ?? [] {
                guard case .follow(let entry) = reply else { return retry(request, node: node, after: unexpected(node, "get_following"), logger: logger) }
                page.append(entry)
            }
            return pageReceived(page, start: start)
        case (.accounts(let slot, let calls), .success(let replies)):
            // A node speaks only for the names it was asked, each once: its share of the lookups
            // never overrides the names another node answered.
            var asked = Set(calls.joined())
            var found: [ChainAccount] = []
            for reply in replies.compactMap({ $0 }).joined() {
                guard case .account(let account) = reply else { return retry(request, node: node, after: unexpected(node, "get_accounts"), logger: logger) }
                guard asked.remove(account.name) != nil else {
                    return retry(request, node: node, after: RPCFailure(node: nodeNames[node], reason: "get_accounts answered for an account it was not asked for, or twice"),
                                 logger: logger)
                }
                found.append(account)
            }
            accounts[slot] = found
            lookupsInFlight -= 1
            return sendQueued()
        }
    }

    private mutating func pageReceived(_ page: [FollowEntry], start: String) -> [RPCBatchRequest] {
        pages += 1
        let (valid, bad) = AccountName.partition(FollowPaging.names(on: page, start: start))
        following += valid
        badFollowing += bad
        var next: [RPCBatchRequest] = []
        if pages < Self.maxPages, let nextStart = FollowPaging.nextStart(after: page), let node = live.first {
            next.append(send(.page(start: nextStart), to: node))
        }
        for batch in plan(valid.count, live).batches {
            accounts.append([])
            queued.append((.accounts(slot: accounts.count - 1, calls: batch.calls.map { Array(valid[$0]) }), batch.node))
        }
        return next + sendQueued()
    }

    /// The queued lookups that fit in flight (to their planned node while it is still trusted).
    private mutating func sendQueued() -> [RPCBatchRequest] {
        var out: [RPCBatchRequest] = []
        while lookupsInFlight < 2 * max(1, live.count), !queued.isEmpty, let first = live.first {
            let (request, node) = queued.removeFirst()
            lookupsInFlight += 1
            out.append(send(request, to: live.contains(node) ? node : first))
        }
        return out
    }

    /// The failed batch again, to the next node; none left: the fetch failed.
    /// The caller's time is up: no node is asked (or blamed) after it.
    private mutating func retry(_ request: Request, node failed: Int, after error: RPCFailure, logger: Logger) -> [RPCBatchRequest] {
        if deadline - monotonicMilliseconds() <= 50 {
            failure = RPCFailure(node: error.node, reason: "the deadline passed (\(error.reason))", timedOut: true)
            return []
        }
        if live.contains(failed) {
            live.removeAll { $0 == failed }
            failedNodes.append(failed)
        }
        guard let node = live.first else { failure = error; return [] }
        logger.warning("rpc: node failed, trying next", metadata: ["node": "\(error.node)", "reason": "\(error.reason)"])
        return [send(request, to: node)]
    }

    private mutating func send(_ request: Request, to node: Int) -> RPCBatchRequest {
        requests[sent] = request
        nodeOfBatch[sent] = node
        sent += 1
        switch request {
        case .page(let start):
            // Urgent: the next page can only be asked once this one is read.
            return RPCBatchRequest(node: node, calls: [(RPCMethod.getFollowing, .array([.string(account), .string(start), .string("blog"),
                                                                                         .int(Int64(FollowPaging.pageSize))]))], urgent: true)
        case .accounts(_, let calls):
            return RPCBatchRequest(node: node, calls: calls.map { names in (RPCMethod.getAccounts, .array([.array(names.map { .string($0) })])) })
        }
    }

    private func unexpected(_ node: Int, _ method: String) -> RPCFailure {
        RPCFailure(node: nodeNames[node], reason: "\(method) answered with the other call's objects")
    }
}
