/// An account's `owner`, `active` and `posting` authorities as `get_accounts` returns them.
public struct AccountAuthorities: Decodable, Sendable, Equatable {
    public struct Authority: Decodable, Sendable, Equatable {
        public var weightThreshold: Int64
        public var keys: [(key: String, weight: Int64)]

        enum CodingKeys: String, CodingKey { case weightThreshold = "weight_threshold", keyAuths = "key_auths" }

        public init(weightThreshold: Int64, keys: [(key: String, weight: Int64)]) { self.weightThreshold = weightThreshold; self.keys = keys }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            weightThreshold = try c.decode(Int64.self, forKey: .weightThreshold)
            // [["STM…", 1], …]: a pair of a string and a number.
            keys = try c.decode([JSONValue].self, forKey: .keyAuths).compactMap { pair in
                guard let p = pair.arrayValue, p.count == 2, let key = p[0].stringValue, let weight = p[1].intValue else { return nil }
                return (key, weight)
            }
        }

        public static func == (a: Authority, b: Authority) -> Bool {
            a.weightThreshold == b.weightThreshold && a.keys.map(\.key) == b.keys.map(\.key) && a.keys.map(\.weight) == b.keys.map(\.weight)
        }
    }
    public var name: String
    public var owner: Authority
    public var active: Authority
    public var posting: Authority

    public init(name: String, owner: Authority, active: Authority, posting: Authority) {
        self.name = name; self.owner = owner; self.active = active; self.posting = posting
    }

    public enum Verdict: Sendable, Hashable {
        case accepted(role: String)
        case weightTooLow          // the key is there, but cannot sign alone
        case notAKeyOfTheAccount
    }

    /// Accepted when the key alone meets the threshold of the posting, active or owner authority.
    /// Authority delegated to other accounts (`account_auths`) is not followed.
    public func verdict(for key: String) -> Verdict {
        var found = false
        for (role, authority) in [("posting", posting), ("active", active), ("owner", owner)] {
            for entry in authority.keys where entry.key == key {
                found = true
                if entry.weight >= authority.weightThreshold && authority.weightThreshold > 0 { return .accepted(role: role) }
            }
        }
        return found ? .weightTooLow : .notAKeyOfTheAccount
    }
}
