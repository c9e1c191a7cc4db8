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
