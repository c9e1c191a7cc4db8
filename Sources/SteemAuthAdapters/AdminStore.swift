import SteemAuthCore

/// What the `admin` command does to sessions in Redis: lists an account's bindings, revokes them.
public final class AdminStore {
    private let redis: RedisConnection
    public let prefix: String

    public init(redis: RedisConnection, prefix: String) {
        self.redis = redis
        self.prefix = prefix
    }

    /// A binding as `admin sessions` lists it (the id shortened: ids are bearer secrets).
    public struct Binding: Sendable {
        public var idPrefix: String
        public var block: String
        public var transactionID: String
        public var time: String
        public var secondsLeft: Int64
    }

    /// The live sessions bound to an account; ids whose session expired are dropped from the index.
    public func bindings(of account: String) throws(RedisError) -> [Binding] {
        let ids = (try redis.command(["SMEMBERS", prefix + "a:" + account]).array ?? []).compactMap(\.string)
        guard !ids.isEmpty else { return [] }
        let replies = try redis.pipeline(ids.flatMap { id in
            [["HMGET", prefix + "s:" + id, "acct", "blk", "tx", "btime"], ["TTL", prefix + "s:" + id]]
        })
        var out: [Binding] = [], gone: [String] = []
        for (i, id) in ids.enumerated() {
            let fields = replies[2 * i].array ?? []
            guard fields.count == 4, fields[0].string == account else { gone.append(id); continue }
            out.append(Binding(idPrefix: String(id.prefix(8)), block: fields[1].string ?? "", transactionID: fields[2].string ?? "",
                               time: fields[3].string ?? "", secondsLeft: replies[2 * i + 1].integer ?? -1))
        }
        if !gone.isEmpty { _ = try redis.command(["SREM", prefix + "a:" + account] + gone) }
        return out
    }

    /// Deletes every session bound to the account; returns how many were live.
    public func revoke(account: String, denyTTL: Int) throws(RedisError) -> Int64 {
        try redis.eval(SessionScripts.revoke, args: [prefix, account, String(denyTTL)]).checked().integer ?? 0
    }
}
