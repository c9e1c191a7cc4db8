import CFastCGI

/// The FastCGI peers a TCP listener serves (`STEEMAUTH_FCGI_ALLOW`): anyone who can connect can set
/// every param, `REMOTE_ADDR` included, so only the listed web servers are read from. Entries and
/// peers are compared in one canonical text form (an IPv4-mapped IPv6 peer counts as its IPv4).
public struct PeerAllowList: Sendable, Equatable {
    public let addresses: Set<String>

    /// nil when an entry is not an IPv4 or IPv6 address (the caller names it).
    public init?(_ entries: [String]) {
        var canonical: Set<String> = []
        for entry in entries {
            guard let address = Self.canonical(entry) else { return nil }
            canonical.insert(address)
        }
        addresses = canonical
    }

    /// The first entry that is not an address, if any (for a configuration error).
    public static func invalidEntry(_ entries: [String]) -> String? { entries.first { canonical($0) == nil } }

    public func allows(_ peer: String) -> Bool { addresses.contains(peer) }

    static func canonical(_ text: String) -> String? {
        withUnsafeTemporaryAllocation(of: CChar.self, capacity: 64) { out -> String? in
            steemauth_canonical_address(text, out.baseAddress!, 64) == 0 ? String(cString: out.baseAddress!) : nil
        }
    }
}
