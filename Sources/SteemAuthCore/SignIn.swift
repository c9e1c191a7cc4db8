/// Sign-in by a wallet signature (Keychain's `requestSignBuffer`): the challenge a wallet signs, the
/// request body, and the rule that decides whether a recovered key speaks for the account.
public enum SignInChallenge {
    /// The exact UTF-8 text the wallet signs. It names the site's host (so a relayed challenge shows
    /// the visitor which site it logs into), the session's current login code and when it expires.
    public static func text(host: String, code: String, expiresAt: Int64) -> String {
        String(decoding: bytes(host: host, code: code, expiresAt: expiresAt), as: UTF8.self)
    }

    /// The same text's bytes. Bytes, not interpolation: this runs on every status poll of an
    /// unbound session.
    public static func bytes(host: String, code: String, expiresAt: Int64) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(96 + host.utf8.count + code.utf8.count)
        write(host: host, code: code, expiresAt: expiresAt, asJSONString: false, to: &out)
        return out
    }

    /// The same text as a JSON string (quoted, its newlines escaped), written straight into `out`:
    /// the status poll of an unbound session sends it, with no copy of the text made first.
    public static func appendJSONString(host: String, code: String, expiresAt: Int64, to out: inout [UInt8]) {
        write(host: host, code: code, expiresAt: expiresAt, asJSONString: true, to: &out)
    }

    /// The one writer of the text, as it is or as a JSON string. Only the newlines and the code can
    /// need an escape: the rest is literal, digits, and the host reduced to `a-z 0-9 . - :`.
    @inline(__always)
    private static func write(host: String, code: String, expiresAt: Int64, asJSONString: Bool, to out: inout [UInt8]) {
        if asJSONString { out.append(UInt8(ascii: "\"")) }
        out.appendLiteral("steemauth login to ")
        appendDisplayHost(host, to: &out)
        if asJSONString { out.appendLiteral("\\ncode: ") } else { out.appendLiteral("\ncode: ") }
        if asJSONString { out.appendJSONStringContents(code) } else { out.appendUTF8(code) }
        if asJSONString { out.appendLiteral("\\nexpires: ") } else { out.appendLiteral("\nexpires: ") }
        ChainTime(secondsSinceEpoch: expiresAt).write(to: &out)
        out.append(UInt8(ascii: "Z"))
        if asJSONString { out.append(UInt8(ascii: "\"")) }
    }

    /// The Host as nginx passed it, lower-cased, reduced to the characters a host name may have.
    public static func displayHost(_ host: String) -> String {
        var out: [UInt8] = []
        appendDisplayHost(host, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    static func appendDisplayHost(_ host: String, to out: inout [UInt8]) {
        let start = out.count
        for b in host.utf8 where out.count - start < 253 {
            switch b {
            case 0x41...0x5a: out.append(b + 0x20)                                  // A-Z, lower-cased
            case 0x61...0x7a, 0x30...0x39, 0x2e, 0x2d, 0x3a: out.append(b)          // a-z 0-9 . - :
            default: continue
            }
        }
        if out.count == start { out.appendLiteral("this site") }
    }
}

/// `POST /steemauth/signin` body: `{"account": "<name>", "signature": "<130 hex>"}`.
public struct SignInRequest: Sendable, Equatable {
    public let account: String
    public let signature: CompactSignature

    public enum Problem: Error, Sendable, Equatable, CustomStringConvertible {
        case notAnObject, badAccount, badSignature
        /// What the visitor sees.
        public var description: String {
            switch self {
            case .notAnObject: return "send a JSON object with \"account\" and \"signature\""
            case .badAccount: return "that is not a valid account name"
            case .badSignature: return "the signature is not a 130-character hex signature from a wallet"
            }
        }
    }

    public static func parse(_ body: JSONValue) -> Result<SignInRequest, Problem> {
        guard case .object(let fields) = body else { return .failure(.notAnObject) }
        guard let raw = fields["account"]?.stringValue else { return .failure(.badAccount) }
        // Wallets and people type "@alice" or "Alice"; the chain's names are lower case.
        var account = raw.hasPrefix("@") ? String(raw.dropFirst()) : raw
        if account.utf8.count <= 17 { account = account.lowercased() }
        guard AccountName.isValid(account) else { return .failure(.badAccount) }
        guard let hex = fields["signature"]?.stringValue, let signature = CompactSignature.parse(hex: hex) else {
            return .failure(.badSignature)
        }
        return .success(SignInRequest(account: account, signature: signature))
    }
}

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
