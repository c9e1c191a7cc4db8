import FoundationEssentials
import SteemAuthCore

/// An in-memory chain: blocks of transfer operations, accounts with `last_post`, follow lists.
/// Only what steemauth and common clients read; not consensus, not signatures.
public actor SimulatedChain {
    public struct SimTransfer: Sendable { public var from, to, amount, memo: String }
    /// A custom_json operation signed with `account`'s posting authority.
    public struct SimCustomJSON: Sendable { public var account, id, json: String }
    struct SimBlock: Sendable {
        let number: Int64
        let time: ChainTime
        var transfers: [SimTransfer]
        var customJSON: [SimCustomJSON] = []
        var forked = false
        /// A fork's own chain: `previous` names the fork's block before, not the real one.
        var previousForked = false
        var id: String { forked ? SimulatedChain.forkID(number) : SimulatedChain.blockID(number) }
        var previous: String { previousForked ? SimulatedChain.forkID(number - 1) : SimulatedChain.blockID(number - 1) }
    }
    public struct SimAccount: Sendable {
        public var name: String; public var lastPost: ChainTime; public var created: ChainTime
        public var lastRootPost: ChainTime? = nil
        /// role (owner, active, posting) → (weight_threshold, key_auths)
        public var authorities: [String: SimAuthority] = [:]
    }
    public struct SimAuthority: Sendable { public var threshold: Int64; public var keys: [(String, Int64)] }

    public let chain: AppConfig.Chain
    public let libLag: Int64
    private var blocks: [SimBlock] = []
    private var pending: [SimTransfer] = []
    private(set) var accounts: [String: SimAccount] = [:]
    private var following: [String: [String]] = [:]     // follower -> sorted names
    private let clock: @Sendable () -> Int64
    /// Blocks never change once made: their JSON is encoded once per wire form and reused.
    private var encoded: [Int64: String] = [:], encodedAppbase: [Int64: String] = [:]

    func cachedJSON(_ number: Int64, appbase: Bool) -> String? { appbase ? encodedAppbase[number] : encoded[number] }
    func storeJSON(_ number: Int64, appbase: Bool, _ text: String) {
        if appbase { encodedAppbase[number] = text } else { encoded[number] = text }
    }

    public init(chain: AppConfig.Chain, libLag: Int64, clock: @escaping @Sendable () -> Int64) {
        self.chain = chain
        self.libLag = libLag
        self.clock = clock
        let genesis = clock()
        blocks.append(SimBlock(number: 1, time: ChainTime(secondsSinceEpoch: genesis), transfers: []))
    }

    public var headNumber: Int64 { blocks.last!.number }
    public var irreversibleNumber: Int64 { max(1, headNumber - libLag) }
    var headTime: ChainTime { blocks.last!.time }

    /// Produces one block with everything pending, stamped now (at least a second after the last).
    /// Synthetic history (`generate`) steps 3 s per block like the real chains.
    @discardableResult
    public func produceBlock(extra: [SimTransfer] = [], step: Int64 = 1) -> Int64 {
        let number = headNumber + 1
        let time = max(headTime.secondsSinceEpoch + step, clock())
        blocks.append(SimBlock(number: number, time: ChainTime(secondsSinceEpoch: time), transfers: pending + extra))
        pending.removeAll()
        return number
    }

    public func queue(_ t: SimTransfer) { pending.append(t) }

    /// Puts a custom_json operation in a new block and applies it as the chain's follow plugin does:
    /// `["follow", {"follower", "following", "what"}]` from the follower's posting authority follows
    /// (`what: ["blog"]`) or unfollows (`what: []`). Returns the block number.
    public func pushCustomJSON(_ op: SimCustomJSON) -> Int64 {
        let number = produceBlock()
        blocks[blocks.count - 1].customJSON.append(op)
        guard op.id == "follow", let parsed = try? JSONDecoder().decode(JSONValue.self, from: Data(op.json.utf8)), let pair = parsed.arrayValue, pair.count == 2,
              pair[0].stringValue == "follow", let follower = pair[1]["follower"]?.stringValue, follower == op.account,
              let followed = pair[1]["following"]?.stringValue, let what = pair[1]["what"]?.arrayValue else { return number }
        var list = following[follower] ?? []
        if what.contains(.string("blog")) {
            if !list.contains(followed) { list.append(followed); list.sort() }
        } else {
            list.removeAll { $0 == followed }
        }
        following[follower] = list
        return number
    }

    /// Appends `count` blocks of synthetic traffic (for catch-up tests and benchmarks).
    public func generate(blocks count: Int, transfersPerBlock: Int, to recipient: String) {
        var seed: UInt64 = UInt64(headNumber) &* 0x9E3779B97F4A7C15
        for _ in 0..<count {
            var ts: [SimTransfer] = []
            for _ in 0..<transfersPerBlock {
                seed = seed &* 6364136223846793005 &+ 1442695040888963407
                let memo = String(seed >> 20, radix: 36)
                ts.append(SimTransfer(from: "filler\(seed % 97)", to: seed % 3 == 0 ? recipient : "exchange", amount: "0.001 STEEM", memo: memo))
            }
            produceBlock(extra: ts, step: 3)
        }
    }

    func block(_ number: Int64) -> SimBlock? {
        guard number >= 1, number <= headNumber else { return nil }
        return blocks[Int(number - 1)]
    }

    // MARK: accounts and follows

    public func addAccount(_ name: String, lastPost: ChainTime, created: ChainTime? = nil, lastRootPost: ChainTime? = nil) {
        let authorities = accounts[name]?.authorities ?? [:]
        accounts[name] = SimAccount(name: name, lastPost: lastPost, created: created ?? ChainTime(secondsSinceEpoch: 1_500_000_000),
                                    lastRootPost: lastRootPost, authorities: authorities)
    }

    /// Sets one authority of an account (creating the account when it is new).
    public func setAuthority(_ name: String, role: String, threshold: Int64, keys: [(String, Int64)]) {
        if accounts[name] == nil { addAccount(name, lastPost: ChainTime(secondsSinceEpoch: 0)) }
        accounts[name]!.authorities[role] = SimAuthority(threshold: threshold, keys: keys)
    }

    public func setFollowing(_ follower: String, _ names: [String]) {
        following[follower] = Array(Set(names)).sorted()
    }

    public func addFollowing(_ follower: String, _ names: [String]) {
        setFollowing(follower, (following[follower] ?? []) + names)
    }

    /// `get_following(account, start, "blog", limit)`: names >= start, in order, as real nodes page them.
    func following(of account: String, start: String, limit: Int) -> [String] {
        let all = following[account] ?? []
        var lo = 0, hi = all.count
        while lo < hi { let mid = (lo + hi) / 2; if all[mid] < start { lo = mid + 1 } else { hi = mid } }
        return Array(all[lo..<min(all.count, lo + limit)])
    }

    func account(_ name: String) -> SimAccount? { accounts[name] }

    static func blockID(_ number: Int64) -> String {
        let n = String(number, radix: 16)
        var h: UInt64 = 0xcbf29ce484222325 ^ UInt64(number)
        var tail = ""
        for _ in 0..<2 {
            h = (h ^ 0x5bd1e995) &* 0x100000001b3
            let part = String(h, radix: 16)
            tail += String(repeating: "0", count: 16 - part.count) + part
        }
        return String(repeating: "0", count: 8 - n.count) + n + tail
    }

    static func forkID(_ number: Int64) -> String {
        "\(blockID(number).prefix(8))f0f0f0f0" + String(repeating: "e", count: 24)
    }

    static func transactionID(block: Int64, index: Int) -> String {
        let b = String(block, radix: 16), i = String(index, radix: 16)
        return String(repeating: "0", count: 8 - b.count) + b + "7a" + String(repeating: "0", count: 30 - i.count) + i
    }
}
