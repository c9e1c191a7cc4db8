import SteemAuthAdapters

/// The keys the in-memory stores share, with Redis's expiry rules on a `TestClock`: a value, a hash
/// or a set under each key, gone once its time is up. The fakes spell their rules with these
/// commands, step for step as the Lua scripts do, so that one store's writes are what another reads.
public final class InMemoryKeyspace: @unchecked Sendable {     // one test's thread
    enum Value {
        case string([UInt8])
        case hash([String: String])
        case set(Set<String>)
    }

    public let clock: TestClock
    /// While true every store call fails as an unreachable Redis does (a route answers 503).
    public var unavailable = false
    private var values: [String: Value] = [:]
    private var expiresAt: [String: Int64] = [:]     // unix milliseconds

    public init(clock: TestClock = TestClock()) { self.clock = clock }

    /// Throws as a store that cannot be reached, when `unavailable`.
    func reachable() throws(RedisError) {
        if unavailable { throw RedisError(kind: .unavailable, message: "in-memory store set unavailable") }
    }

    /// Every live key (for tests that check nothing was written).
    public var keys: [String] { values.keys.filter { live($0) != nil }.sorted() }

    private func live(_ key: String) -> Value? {
        if let at = expiresAt[key], at <= clock.milliseconds {
            values[key] = nil
            expiresAt[key] = nil
            return nil
        }
        return values[key]
    }

    // MARK: keys

    func exists(_ key: String) -> Bool { live(key) != nil }

    @discardableResult
    func del(_ keys: String...) -> Int {
        var n = 0
        for key in keys where live(key) != nil { values[key] = nil; expiresAt[key] = nil; n += 1 }
        return n
    }

    func expire(_ key: String, seconds: Int) {
        guard live(key) != nil else { return }
        expiresAt[key] = clock.milliseconds + Int64(seconds) * 1000
    }

    /// As Redis's TTL: -2 without the key, -1 without an expiry, else the seconds left (rounded).
    func ttl(_ key: String) -> Int {
        guard live(key) != nil else { return -2 }
        guard let at = expiresAt[key] else { return -1 }
        return Int((at - clock.milliseconds + 500) / 1000)
    }

    /// As Redis's PTTL.
    func pttl(_ key: String) -> Int64 {
        guard live(key) != nil else { return -2 }
        guard let at = expiresAt[key] else { return -1 }
        return at - clock.milliseconds
    }

    /// Moves the value and its expiry.
    func rename(_ key: String, to newKey: String) {
        guard let value = live(key) else { return }
        let at = expiresAt[key]
        del(key)
        values[newKey] = value
        expiresAt[newKey] = at
    }

    // MARK: strings

    func get(_ key: String) -> [UInt8]? {
        if case .string(let bytes)? = live(key) { return bytes }
        return nil
    }

    func getString(_ key: String) -> String? { get(key).map { String(decoding: $0, as: UTF8.self) } }

    enum Condition { case always, ifAbsent, ifPresent }

    /// SET with EX/PX (`milliseconds`), NX (`ifAbsent`) or XX (`ifPresent`); false when the condition failed.
    @discardableResult
    func set(_ key: String, _ value: [UInt8], milliseconds: Int64? = nil, _ condition: Condition = .always) -> Bool {
        let present = live(key) != nil
        if condition == .ifAbsent && present || condition == .ifPresent && !present { return false }
        values[key] = .string(value)
        expiresAt[key] = milliseconds.map { clock.milliseconds + $0 }
        return true
    }

    @discardableResult
    func set(_ key: String, _ value: String, seconds: Int? = nil, _ condition: Condition = .always) -> Bool {
        set(key, Array(value.utf8), milliseconds: seconds.map { Int64($0) * 1000 }, condition)
    }

    // MARK: hashes

    func hget(_ key: String, _ field: String) -> String? { hash(key)?[field] }

    func hash(_ key: String) -> [String: String]? {
        if case .hash(let fields)? = live(key) { return fields }
        return nil
    }

    /// Sets fields, keeping the key's expiry (a new hash has none).
    func hset(_ key: String, _ pairs: [(String, String)]) {
        var fields = hash(key) ?? [:]
        for (field, value) in pairs { fields[field] = value }
        values[key] = .hash(fields)
    }

    func hdel(_ key: String, _ names: [String]) {
        guard var fields = hash(key) else { return }
        for name in names { fields[name] = nil }
        if fields.isEmpty { del(key) } else { values[key] = .hash(fields) }
    }

    func hincrby(_ key: String, _ field: String, _ by: Int64) -> Int64 {
        let n = (hget(key, field).flatMap { Int64($0) } ?? 0) + by
        hset(key, [(field, String(n))])
        return n
    }

    // MARK: sets

    func members(_ key: String) -> Set<String> {
        if case .set(let members)? = live(key) { return members }
        return []
    }

    func sadd(_ key: String, _ member: String) {
        var members = members(key)
        members.insert(member)
        let at = live(key) == nil ? nil : expiresAt[key]
        values[key] = .set(members)
        expiresAt[key] = at
    }

    func srem(_ key: String, _ member: String) {
        var members = members(key)
        guard members.remove(member) != nil else { return }
        if members.isEmpty { del(key) } else { values[key] = .set(members) }
    }
}
