import ArgumentParser
import DevChain
import Logging
import SteemAuthAdapters
import SteemAuthCore

/// The embedded local chain node for development, tests and the demo, and its client commands.
@main
struct DevChainCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "steemauth-devchain",
        abstract: "A local Steem/Hive JSON-RPC node over a simulated chain (for development, tests and the demo).",
        version: SteemAuthVersion.current,
        subcommands: [Serve.self, Transfer.self, Seed.self, Generate.self, Produce.self, Fault.self, Lie.self, Authority.self, CustomJSON.self])
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Serve JSON-RPC on loopback.")
    @Option(help: "host:port to listen on; repeat for a second node over the same chain.")
    var listen: [String] = ["127.0.0.1:8090"]
    @Option(help: "Seconds between blocks (0 = a block only when asked).") var blockInterval: Double = 3
    @Option(help: "How many blocks irreversibility trails the head.") var libLag: Int = 0
    @Option(help: "steem or hive.") var chain: String = "steem"
    @Option(help: "The service account (generated traffic pays it).") var account: String = "steemauth.demo"
    @Option(help: "Refuse JSON-RPC batches of more calls, as jussi does (api.steemit.com: 50).") var batchLimit: Int?
    @Option(help: "Answer each JSON-RPC request this many milliseconds late, as a distant node does (concurrent requests wait side by side).")
    var latencyMs: Int = 0
    @Option(help: "Delay each JSON-RPC request a random 0...N milliseconds more, so concurrent requests are answered in shuffled order.")
    var jitterMs: Int = 0

    func run() async throws {
        guard let chainKind = AppConfig.Chain(rawValue: chain) else { throw ValidationError("--chain is steem or hive") }
        var addresses: [(String, UInt16)] = []
        for l in listen {
            guard case .tcp(let host, let port)? = ListenAddress.parse(l) else { throw ValidationError("--listen takes host:port, got \(l)") }
            addresses.append((host, UInt16(port)))
        }
        let sim = SimulatedChain(chain: chainKind, libLag: Int64(libLag), clock: { unixSeconds() })
        print("steemauth-devchain: \(chain) chain on \(listen.map { "http://" + $0 }.joined(separator: ", ")), a block every \(blockInterval)s, LIB lag \(libLag)")
        if let batchLimit, batchLimit < 1 { throw ValidationError("--batch-limit is at least 1") }
        guard (0...60_000).contains(latencyMs) else { throw ValidationError("--latency-ms is 0...60000") }
        guard (0...60_000).contains(jitterMs) else { throw ValidationError("--jitter-ms is 0...60000") }
        try await DevChainServer.serve(addresses: addresses, chain: sim, serviceAccount: account, blockInterval: blockInterval,
                                       batchLimit: batchLimit, latencyMilliseconds: latencyMs, jitterMilliseconds: jitterMs)
    }
}

/// Options every client subcommand shares.
struct NodeOption: ParsableArguments {
    @Option(help: "The devchain's URL.") var node: String = "http://127.0.0.1:8090"

    func call(_ method: String, _ params: [String: JSONValue]) throws -> JSONValue {
        let client = RPCClient(nodes: [node], timeoutSeconds: 120, logger: Logger(label: "devchain-client"))
        do {
            return try client.call("devchain." + method, .object(params), as: JSONValue.self) ?? .null
        } catch {
            throw ValidationError("\(error)")
        }
    }
}

struct Transfer: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Push a transfer into the chain (the next block carries it).")
    @OptionGroup var node: NodeOption
    @Option var from: String
    @Option var to: String
    @Option(help: "e.g. \"0.001 STEEM\"") var amount: String = "0.001 STEEM"
    @Option var memo: String = ""
    @Flag(help: "Produce a block with it right away.") var now = false

    func run() throws {
        let r = try node.call("push_transfer", ["from": .string(from), "to": .string(to), "amount": .string(amount),
                                                "memo": .string(memo), "now": .bool(now)])
        if let block = r["block_num"]?.intValue { print("transfer in block \(block), trx \(r["trx_id"]?.stringValue ?? "")") }
        else { print("transfer queued for the next block") }
    }
}

struct Seed: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Create an account that follows many others (some stale, some never posted).")
    @OptionGroup var node: NodeOption
    @Option var account: String
    @Option var follows: Int = 2500
    @Option var stale: Int = 300
    @Option var never: Int = 20

    func run() throws {
        _ = try node.call("seed", ["account": .string(account), "follows": .int(Int64(follows)), "stale": .int(Int64(stale)), "never": .int(Int64(never))])
        print("seeded @\(account): \(follows) follows, \(stale) stale, \(never) never posted")
    }
}

struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Append a long synthetic chain (for catch-up tests and benchmarks).")
    @OptionGroup var node: NodeOption
    @Option var blocks: Int = 1000
    @Option var transfersPerBlock: Int = 5

    func run() throws {
        let r = try node.call("generate", ["blocks": .int(Int64(blocks)), "transfers_per_block": .int(Int64(transfersPerBlock))])
        print("head is now block \(r["head_block_number"]?.intValue ?? 0)")
    }
}

struct Authority: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Set an account's owner, active or posting authority (its keys and weights).")
    @OptionGroup var node: NodeOption
    @Option var account: String
    @Option(help: "owner, active or posting.") var role: String = "posting"
    @Option(help: "The weight the keys must reach together.") var threshold: Int = 1
    @Option(help: "KEY:WEIGHT (repeat), e.g. STM6…:1") var key: [String] = []

    func run() throws {
        let keys: [JSONValue] = try key.map { k in
            guard let colon = k.lastIndex(of: ":"), let w = Int64(k[k.index(after: colon)...]) else {
                throw ValidationError("--key takes KEY:WEIGHT, got \(k)")
            }
            return .array([.string(String(k[..<colon])), .int(w)])
        }
        _ = try node.call("set_authority", ["account": .string(account), "role": .string(role), "threshold": .int(Int64(threshold)),
                                            "keys": .array(keys)])
        print("@\(account) \(role): threshold \(threshold), \(keys.count) key(s)")
    }
}

struct CustomJSON: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "custom-json",
        abstract: "Push a custom_json signed with an account's posting authority; `follow` ops change the follow graph.")
    @OptionGroup var node: NodeOption
    @Option var account: String
    @Option var id: String = "follow"
    @Option(help: #"e.g. ["follow",{"follower":"alice","following":"bob","what":[]}]"#) var json: String

    func run() throws {
        let r = try node.call("push_custom_json", ["account": .string(account), "id": .string(id), "json": .string(json)])
        print("custom_json in block \(r["block_num"]?.intValue ?? 0)")
    }
}

struct Produce: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Produce empty blocks now.")
    @OptionGroup var node: NodeOption
    @Option var count: Int = 1
    func run() throws {
        let r = try node.call("produce_blocks", ["count": .int(Int64(count))])
        print("head is now block \(r["head_block_number"]?.intValue ?? 0)")
    }
}

struct Fault: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Make this node fail its next requests (refuse|slow|garbage|error), answer batches last first (reorder), or serve a fork above irreversibility (fork).")
    @OptionGroup var node: NodeOption
    @Option var mode: String
    @Option var count: Int = 1
    @Option(help: "Delay for --mode slow.") var seconds: Double = 10
    @Option(help: "For --mode fork: the memo of the transfer only the forked blocks carry.") var memo: String = "fork"
    @Option(help: "Only requests that ask for this block fail (get_block, or a get_block_range holding it).") var block: Int64?

    func run() throws {
        var params: [String: JSONValue] = ["mode": .string(mode), "count": .int(Int64(count)), "seconds": .double(seconds), "memo": .string(memo)]
        if let block { params["block"] = .int(block) }
        _ = try node.call("fault", params)
        print("the next \(count) requests to \(node.node)\(block.map { " asking for block \($0)" } ?? "") fail: \(mode)")
    }
}

struct Lie: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Make this node lie until told otherwise (the other nodes over the same chain stay honest).",
        discussion: """
        forge-authority: get_accounts puts --key in --account's --role authority, enough to sign alone.
        inject-transfer: block --block carries one more transfer (--from, --memo, --amount) under its real id.
        fork: from block --block on (--count blocks), a fork whose `previous` does not chain; its first block pays --memo.
        irreversible: the irreversible block is reported --ahead blocks higher (at most the head), or --behind blocks lower.
        chain-id: get_config and get_version name --chain-id.
        unasked-accounts: get_accounts also answers for every other account, each claiming it never posted.
        null-blocks: no block above --block (get_block answers null, get_block_range an empty range), head and irreversible block unchanged.
        none: tell the truth again.
        """)
    @OptionGroup var node: NodeOption
    @Argument(help: "forge-authority | inject-transfer | fork | irreversible | chain-id | unasked-accounts | null-blocks | none") var kind: String
    @Option var account: String?
    @Option(help: "owner, active or posting.") var role: String = "posting"
    @Option(help: "A public key, STM…") var key: String?
    @Option var block: Int64?
    @Option var from: String = "injector"
    @Option var memo: String = "fork"
    @Option var amount: String = "0.001 STEEM"
    @Option var ahead: Int64 = 0
    @Option var behind: Int64?
    @Option(help: "For fork: how many blocks (default: all from --block on).") var count: Int64?
    @Option(help: "64 hex characters.") var chainID: String?

    func run() throws {
        var p: [String: JSONValue] = ["kind": .string(String(kind.map { $0 == "-" ? "_" : $0 }))]
        switch kind {
        case "forge-authority":
            p["account"] = account.map(JSONValue.string); p["role"] = .string(role); p["key"] = key.map(JSONValue.string)
        case "inject-transfer":
            p["block"] = block.map(JSONValue.int); p["from"] = .string(from); p["memo"] = .string(memo); p["amount"] = .string(amount)
        case "fork":
            p["from_block"] = block.map(JSONValue.int); p["memo"] = .string(memo); p["count"] = count.map(JSONValue.int)
        case "irreversible":
            p["ahead"] = .int(ahead); p["behind"] = behind.map(JSONValue.int)
        case "chain-id":
            p["chain_id"] = chainID.map(JSONValue.string)
        case "null-blocks":
            p["above"] = block.map(JSONValue.int)
        case "unasked-accounts", "none":
            break
        default:
            throw ValidationError("the lie is forge-authority, inject-transfer, fork, irreversible, chain-id, unasked-accounts, null-blocks or none")
        }
        _ = try node.call("lie", p)
        print("\(node.node) now lies: \(kind)")
    }
}
