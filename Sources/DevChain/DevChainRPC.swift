import FoundationEssentials
import SteemAuthCore

/// Answers JSON-RPC requests in the real Steem/Hive wire format (dotted and appbase `call` forms),
/// plus the `devchain.*` control methods the client subcommands use.
public struct DevChainRPC: Sendable {
    public let chain: SimulatedChain
    public let serviceAccount: String

    public init(chain: SimulatedChain, serviceAccount: String) { self.chain = chain; self.serviceAccount = serviceAccount }

    static let steemChainID = "0000000000000000000000000000000000000000000000000000000000000000"
    static let hiveChainID = "beeab0de00000000000000000000000000000000000000000000000000000000"

    /// One request → its response as JSON text. Requests without `"jsonrpc":"2.0"` and an `id` are
    /// refused as jussi does.
    public func answerText(_ raw: JSONValue, lies: NodeLies = NodeLies()) async -> String {
        let id = raw["id"] ?? .null
        guard raw["jsonrpc"] == .string("2.0"), raw["id"] != nil, let method = raw["method"]?.stringValue else {
            return error(id, -32600, "Invalid Request: jsonrpc 2.0 and id are required").jsonText
        }
        guard let (api, name, params) = RPCRequest(id: 0, method: method, params: raw["params"] ?? .array([])).normalized else {
            return error(id, -32601, "Method not found: \(method)").jsonText
        }
        do {
            let result: String
            if let blocks = try await blockReply(api: api, method: name, params: params, lies: lies) {
                result = blocks
            } else {
                result = try await dispatch(api: api, method: name, params: params, lies: lies).jsonText
            }
            return #"{"jsonrpc":"2.0","id":\#(id.jsonText),"result":\#(result)}"#
        } catch let e as RPCErrorObject {
            return error(id, e.code, e.message).jsonText
        } catch let other {
            return error(id, -32000, "\(other)").jsonText
        }
    }

    /// The block methods, answered from each block's once-encoded JSON, so long catch-ups are served
    /// at the speed of string concatenation. nil for any other method.
    private func blockReply(api: String, method: String, params: JSONValue, lies: NodeLies) async throws -> String? {
        let appbase = chain.chain == .hive
        switch (api, method) {
        case ("condenser_api", "get_block"):
            guard let n = params.arrayValue?.first?.intValue else { throw RPCErrorObject(code: -32602, message: "get_block takes [block_num]") }
            return await blockText(n, appbase: false, lies: lies) ?? "null"
        case ("block_api", "get_block"):
            guard let n = params["block_num"]?.intValue else { throw RPCErrorObject(code: -32602, message: "block_num is required") }
            return await blockText(n, appbase: appbase, lies: lies).map { #"{"block":\#($0)}"# } ?? "{}"
        case ("block_api", "get_block_range"):
            guard let start = params["starting_block_num"]?.intValue, let count = params["count"]?.intValue, count > 0, count <= 1000 else {
                throw RPCErrorObject(code: -32602, message: "starting_block_num and count (1..1000) are required")
            }
            var parts: [String] = []
            for n in start..<(start + count) {
                guard let b = await blockText(n, appbase: appbase, lies: lies) else { break }
                parts.append(b)
            }
            return #"{"blocks":[\#(parts.joined(separator: ","))]}"#
        default:
            return nil
        }
    }

    /// `lies.forkMemo`: this node serves another version of every block above irreversibility, carrying a
    /// transfer of that memo the canonical chain never had (a fork a watcher must never bind from).
    /// `lies.forkFrom`: a fork from that block on, whose `previous` does not chain to the real chain.
    /// `lies.injected`: a block with one more transfer than the chain has, under the real block's id.
    /// `lies.nullBlocksAbove`: no block above that one (null, or a range that stops before it).
    private func blockText(_ n: Int64, appbase: Bool, lies: NodeLies = NodeLies()) async -> String? {
        if let above = lies.nullBlocksAbove, n > above { return nil }
        if let from = lies.forkFrom, n >= from, n - from < lies.forkCount, var b = await chain.block(n) {
            b.forked = true
            b.previousForked = true
            if n == from { b.transfers.append(SimulatedChain.SimTransfer(from: "forker", to: serviceAccount, amount: "0.001 STEEM", memo: lies.forkFromMemo)) }
            return (appbase ? appbaseBlock(b) : legacyBlock(b)).jsonText
        }
        if let forkMemo = lies.forkMemo, n > (await chain.irreversibleNumber), var b = await chain.block(n) {
            b.forked = true
            b.transfers.append(SimulatedChain.SimTransfer(from: "forker", to: serviceAccount, amount: "0.001 STEEM", memo: forkMemo))
            return (appbase ? appbaseBlock(b) : legacyBlock(b)).jsonText
        }
        if var t = lies.injected[n], var b = await chain.block(n) {
            t.to = serviceAccount
            b.transfers.append(t)
            return (appbase ? appbaseBlock(b) : legacyBlock(b)).jsonText
        }
        if let cached = await chain.cachedJSON(n, appbase: appbase) { return cached }
        guard let b = await chain.block(n) else { return nil }
        let text = (appbase ? appbaseBlock(b) : legacyBlock(b)).jsonText
        await chain.storeJSON(n, appbase: appbase, text)
        return text
    }

    func error(_ id: JSONValue, _ code: Int64, _ message: String) -> JSONValue {
        .object(["jsonrpc": .string("2.0"), "id": id, "error": .object(["code": .int(code), "message": .string(message)])])
    }

    private func dispatch(api: String, method: String, params: JSONValue, lies: NodeLies) async throws -> JSONValue {
        let args = params.arrayValue ?? []
        let isHive = chain.chain == .hive
        let chainID = lies.chainID ?? (isHive ? Self.hiveChainID : Self.steemChainID)
        switch (api, method) {
        case ("condenser_api", "get_dynamic_global_properties"), ("database_api", "get_dynamic_global_properties"):
            return await globalProperties(irreversibleAhead: lies.irreversibleAhead)
        case ("condenser_api", "get_config"), ("database_api", "get_config"):
            let p = isHive ? "HIVE_" : "STEEM_"
            return .object([p + "CHAIN_ID": .string(chainID),
                            p + "BLOCK_INTERVAL": .int(3), p + "ADDRESS_PREFIX": .string("STM"),
                            p + "BLOCKCHAIN_VERSION": .string(isHive ? "1.27.0" : "0.23.1"), "IS_TEST_NET": .bool(false)])
        case ("condenser_api", "get_version"), ("database_api", "get_version"):
            return .object(["blockchain_version": .string(isHive ? "1.27.0" : "0.23.1"),
                            "chain_id": .string(chainID),
                            isHive ? "hive_revision" : "steem_revision": .string("devchain"), "fc_revision": .string("devchain")])
        case ("condenser_api", "get_hardfork_version"):
            return .string(isHive ? "1.27.0" : "0.23.0")
        case ("condenser_api", "get_block_header"):
            guard let n = args.first?.intValue, let b = await chain.block(n) else { return .null }
            return .object(["previous": .string(SimulatedChain.blockID(b.number - 1)), "timestamp": .string(b.time.description),
                            "witness": .string("devchain"), "transaction_merkle_root": .string(String(repeating: "0", count: 40)), "extensions": .array([])])
        case ("condenser_api", "get_ops_in_block"):
            guard let n = args.first?.intValue else { throw RPCErrorObject(code: -32602, message: "get_ops_in_block takes [block_num, only_virtual]") }
            guard let b = await chain.block(n) else { return .array([]) }
            if args.count > 1, args[1] == .bool(true) { return .array([]) }
            return .array(b.transfers.enumerated().map { i, t in
                .object(["trx_id": .string(SimulatedChain.transactionID(block: b.number, index: i)), "block": .int(b.number),
                         "trx_in_block": .int(Int64(i)), "op_in_trx": .int(0), "virtual_op": .int(0),
                         "timestamp": .string(b.time.description), "op": legacyOp(t)])
            })
        case ("condenser_api", "get_following"):
            guard args.count == 4, let account = args[0].stringValue, let type = args[2].stringValue, let limit = args[3].intValue else {
                throw RPCErrorObject(code: -32003, message: "Assert Exception:args.size() == 4: Expected 4 arguments")
            }
            return .array(try await following(account, start: args[1].stringValue ?? "", type: type, limit: limit))
        case ("follow_api", "get_following"):
            guard let account = params["account"]?.stringValue, let limit = params["limit"]?.intValue else {
                throw RPCErrorObject(code: -32602, message: "account, start, type and limit are required")
            }
            return .object(["following": .array(try await following(account, start: params["start"]?.stringValue ?? "",
                                                                     type: params["type"]?.stringValue ?? "blog", limit: limit))])
        case ("condenser_api", "get_followers"):
            return .array([])
        case ("follow_api", "get_followers"):
            return .object(["followers": .array([])])
        case ("condenser_api", "get_accounts"), ("condenser_api", "lookup_account_names"):
            guard let names = args.first?.arrayValue else { throw RPCErrorObject(code: -32602, message: "get_accounts takes [[names]]") }
            var answer = await accounts(names, forged: lies.forgedAuthority)
            if lies.unaskedAccounts {
                let asked = Set(names.compactMap(\.stringValue))
                for var other in await chain.accounts.values where !asked.contains(other.name) {
                    other.lastPost = ChainTime(secondsSinceEpoch: 0); other.lastRootPost = nil
                    answer.append(accountJSON(other))
                }
            }
            return .array(answer)
        case ("database_api", "find_accounts"):
            guard let names = params["accounts"]?.arrayValue else { throw RPCErrorObject(code: -32602, message: "accounts is required") }
            return .object(["accounts": .array(await accounts(names, forged: lies.forgedAuthority))])
        case ("devchain", _):
            return try await control(method, params)
        default:
            throw RPCErrorObject(code: -32601, message: "Could not find method \(method) in api \(api)")
        }
    }

    /// Real nodes page by name from `start` (inclusive) and cap `limit` at 1,000.
    private func following(_ account: String, start: String, type: String, limit: Int64) async throws -> [JSONValue] {
        guard limit >= 1, limit <= 1000 else { throw RPCErrorObject(code: -32003, message: "Assert Exception:limit <= 1000") }
        guard type == "blog" else { return [] }
        let names = await chain.following(of: account, start: start, limit: Int(limit))
        return names.map { .object(["follower": .string(account), "following": .string($0), "what": .array([.string("blog")])]) }
    }

    /// `forged`: this node puts a key of its choice in an account's authority, enough to sign alone.
    private func accounts(_ names: [JSONValue], forged: (account: String, role: String, key: String)? = nil) async -> [JSONValue] {
        var out: [JSONValue] = []
        for n in names {
            guard let name = n.stringValue, var a = await chain.account(name) else { continue }
            if let forged, forged.account == name {
                var authority = a.authorities[forged.role] ?? SimulatedChain.SimAuthority(threshold: 1, keys: [])
                authority.keys.append((forged.key, authority.threshold))
                a.authorities[forged.role] = authority
            }
            out.append(accountJSON(a))
        }
        return out
    }

    // MARK: control (used by the client subcommands)

    private func control(_ method: String, _ p: JSONValue) async throws -> JSONValue {
        switch method {
        case "push_transfer":
            guard let from = p["from"]?.stringValue, let to = p["to"]?.stringValue, let amount = p["amount"]?.stringValue,
                  Asset.parseLegacy(amount) != nil else { throw RPCErrorObject(code: -32602, message: "from, to, amount (\"0.001 STEEM\") and memo are required") }
            let t = SimulatedChain.SimTransfer(from: from, to: to, amount: amount, memo: p["memo"]?.stringValue ?? "")
            if p["now"] == .bool(true) {
                let n = await chain.produceBlock(extra: [t])
                return .object(["block_num": .int(n), "trx_id": .string(SimulatedChain.transactionID(block: n, index: 0))])
            }
            await chain.queue(t)
            return .object(["queued": .bool(true)])
        case "push_custom_json":
            guard let account = p["account"]?.stringValue, let id = p["id"]?.stringValue, let json = p["json"]?.stringValue else {
                throw RPCErrorObject(code: -32602, message: "account, id and json are required")
            }
            let n = await chain.pushCustomJSON(SimulatedChain.SimCustomJSON(account: account, id: id, json: json))
            return .object(["block_num": .int(n), "trx_id": .string(SimulatedChain.transactionID(block: n, index: 0))])
        case "produce_blocks":
            let count = p["count"]?.intValue ?? 1
            for _ in 0..<max(1, min(count, 100_000)) { await chain.produceBlock() }
            return .object(["head_block_number": .int(await chain.headNumber)])
        case "generate":
            let blocks = Int(p["blocks"]?.intValue ?? 100), per = Int(p["transfers_per_block"]?.intValue ?? 1)
            let first = await chain.headNumber + 1
            await chain.generate(blocks: min(blocks, 1_000_000), transfersPerBlock: min(per, 1000), to: serviceAccount)
            let head = await chain.headNumber
            // Encode the new history now, as a real node has its blocks ready before anyone asks.
            for n in first...max(first, head) { _ = await blockText(n, appbase: chain.chain == .hive) }
            return .object(["head_block_number": .int(head)])
        case "seed":
            return try await seed(p)
        case "set_authority":
            guard let account = p["account"]?.stringValue, let role = p["role"]?.stringValue, ["owner", "active", "posting"].contains(role),
                  let threshold = p["threshold"]?.intValue, let keys = p["keys"]?.arrayValue else {
                throw RPCErrorObject(code: -32602, message: "account, role (owner|active|posting), threshold and keys [[key, weight]] are required")
            }
            let pairs: [(String, Int64)] = keys.compactMap { k in
                guard let a = k.arrayValue, a.count == 2, let key = a[0].stringValue, let w = a[1].intValue else { return nil }
                return (key, w)
            }
            await chain.setAuthority(account, role: role, threshold: threshold, keys: pairs)
            return .object(["account": .string(account), "role": .string(role)])
        case "add_follows":
            // Any names at all, as a lying node would serve them (tests of what the report trusts).
            guard let account = p["account"]?.stringValue, let names = p["names"]?.arrayValue?.compactMap(\.stringValue) else {
                throw RPCErrorObject(code: -32602, message: "account and names are required")
            }
            let lastPost = p["last_post"]?.stringValue.flatMap { ChainTime($0) } ?? ChainTime(secondsSinceEpoch: 0)
            let lastRootPost = p["last_root_post"]?.stringValue.flatMap { ChainTime($0) }
            if await chain.account(account) == nil { await chain.addAccount(account, lastPost: await chain.headTime) }
            for n in names { await chain.addAccount(n, lastPost: lastPost, lastRootPost: lastRootPost) }
            await chain.addFollowing(account, names)
            return .object(["account": .string(account), "added": .int(Int64(names.count))])
        default:
            throw RPCErrorObject(code: -32601, message: "unknown devchain method \(method)")
        }
    }

    /// Creates `account` following `follows` accounts: `stale` of them last posted long ago, `never`
    /// never posted, the rest recently. Deterministic names, so tests can predict them.
    private func seed(_ p: JSONValue) async throws -> JSONValue {
        guard let account = p["account"]?.stringValue, AppConfig.isValidAccountName(account) else {
            throw RPCErrorObject(code: -32602, message: "account is required")
        }
        let follows = Int(p["follows"]?.intValue ?? 0), stale = Int(p["stale"]?.intValue ?? 0), never = Int(p["never"]?.intValue ?? 0)
        let now = await chain.headTime.secondsSinceEpoch
        await chain.addAccount(account, lastPost: ChainTime(secondsSinceEpoch: now - 86400))
        var names: [String] = []
        for i in 0..<follows {
            let name = "f" + String(i, radix: 10).leftPadded(5) + "-" + String(account.prefix(9)).replacingDots
            let lastPost: Int64
            if i < stale { lastPost = now - Int64(41 + (i * 7) % 900) * 86400 - 3600 }
            else if i < stale + never { lastPost = 0 }
            else { lastPost = now - Int64(i % 39) * 86400 - 60 }
            await chain.addAccount(name, lastPost: ChainTime(secondsSinceEpoch: lastPost))
            names.append(name)
        }
        await chain.setFollowing(account, names)
        return .object(["account": .string(account), "follows": .int(Int64(names.count))])
    }

    // MARK: wire shapes

    private func globalProperties(irreversibleAhead: Int64 = 0) async -> JSONValue {
        let head = await chain.headNumber, lib = max(1, min(head, await chain.irreversibleNumber + irreversibleAhead))
        let time = await chain.headTime
        return .object([
            "head_block_number": .int(head), "head_block_id": .string(SimulatedChain.blockID(head)),
            "time": .string(time.description), "current_witness": .string("devchain"),
            "last_irreversible_block_num": .int(lib), "current_aslot": .int(head),
            "current_supply": .string(chain.chain == .hive ? "1000000.000 HIVE" : "1000000.000 STEEM"),
            "current_sbd_supply": .string(chain.chain == .hive ? "1000.000 HBD" : "1000.000 SBD"),
            "total_vesting_fund_steem": .string("500000.000 STEEM"), "total_vesting_shares": .string("1000000000.000000 VESTS"),
            "maximum_block_size": .int(65536), "participation_count": .int(128), "last_irreversible_block_id": .string(SimulatedChain.blockID(lib)),
        ])
    }

    private func legacyOp(_ t: SimulatedChain.SimTransfer) -> JSONValue {
        .array([.string("transfer"), .object(["from": .string(t.from), "to": .string(t.to), "amount": .string(t.amount), "memo": .string(t.memo)])])
    }

    private func appbaseOp(_ t: SimulatedChain.SimTransfer) -> JSONValue {
        let asset = Asset.parseLegacy(t.amount)!
        return .object(["type": .string("transfer_operation"), "value": .object([
            "from": .string(t.from), "to": .string(t.to), "memo": .string(t.memo),
            "amount": .object(["amount": .string(String(asset.units)), "precision": .int(Int64(asset.precision)),
                               "nai": .string(asset.kind.nai ?? "@@000000021")]),
        ])])
    }

    private func customJSONValue(_ c: SimulatedChain.SimCustomJSON) -> JSONValue {
        .object(["required_auths": .array([]), "required_posting_auths": .array([.string(c.account)]), "id": .string(c.id), "json": .string(c.json)])
    }

    private func blockShape(_ b: SimulatedChain.SimBlock, appbase: Bool, op: (SimulatedChain.SimTransfer) -> JSONValue) -> JSONValue {
        let ops: [JSONValue] = b.transfers.map(op) + b.customJSON.map { c in
            appbase ? .object(["type": .string("custom_json_operation"), "value": customJSONValue(c)])
                    : .array([.string("custom_json"), customJSONValue(c)])
        }
        let txs: [JSONValue] = ops.map { o in
            .object(["ref_block_num": .int((b.number - 1) & 0xffff), "ref_block_prefix": .int(0), "expiration": .string(b.time.description),
                     "operations": .array([o]), "extensions": .array([]), "signatures": .array([])])
        }
        return .object([
            "previous": .string(b.previous), "timestamp": .string(b.time.description),
            "witness": .string("devchain"), "transaction_merkle_root": .string(String(repeating: "0", count: 40)),
            "extensions": .array([]), "witness_signature": .string(String(repeating: "0", count: 130)),
            "transactions": .array(txs), "block_id": .string(b.id), "signing_key": .string("STM1111111111111111111111111111111114T1Anm"),
            "transaction_ids": .array(txs.indices.map { .string(SimulatedChain.transactionID(block: b.number, index: $0)) }),
        ])
    }
    private func legacyBlock(_ b: SimulatedChain.SimBlock) -> JSONValue { blockShape(b, appbase: false, op: legacyOp) }
    private func appbaseBlock(_ b: SimulatedChain.SimBlock) -> JSONValue { blockShape(b, appbase: true, op: appbaseOp) }

    /// `{"weight_threshold": 1, "account_auths": [], "key_auths": [["STM…", 1]]}` as nodes write it.
    private func authorityJSON(_ a: SimulatedChain.SimAuthority?) -> JSONValue {
        .object(["weight_threshold": .int(a?.threshold ?? 1), "account_auths": .array([]),
                 "key_auths": .array((a?.keys ?? []).map { .array([.string($0.0), .int($0.1)]) })])
    }

    private func accountJSON(_ a: SimulatedChain.SimAccount) -> JSONValue {
        .object(["id": .int(Int64(abs(a.name.hashValue % 1_000_000))), "name": .string(a.name), "last_post": .string(a.lastPost.description),
                 "owner": authorityJSON(a.authorities["owner"]), "active": authorityJSON(a.authorities["active"]),
                 "posting": authorityJSON(a.authorities["posting"]), "memo_key": .string("STM1111111111111111111111111111111114T1Anm"),
                 "last_root_post": .string((a.lastRootPost ?? a.lastPost).description), "created": .string(a.created.description),
                 "balance": .string(chain.chain == .hive ? "1.000 HIVE" : "1.000 STEEM"), "post_count": .int(a.lastPost.isNever ? 0 : 10),
                 "json_metadata": .string(""), "reputation": .int(0)])
    }
}

extension String {
    func leftPadded(_ width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
    var replacingDots: String { String(map { $0 == "." ? "-" : $0 }) }
}
