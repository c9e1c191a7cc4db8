/// `__Host-steemauth=<32 hex id>-<64 hex keyed BLAKE2b(id)>`. The `__Host-` prefix is the browser's
/// own guarantee that only this host set the cookie (Secure, Path=/, no Domain): a sibling subdomain
/// or a plain-http attacker cannot plant one. The MAC itself is computed by an adapter
/// (libb2); this type only knows the shape and which key to trust.
public struct CookieSigner: Sendable {
    /// Writes the MAC of `message` under `key` into `out` (`macLength` bytes). Into the caller's
    /// buffer: every session request checks a cookie, and an array per MAC cost more than libb2.
    public typealias MAC = @Sendable (_ key: [UInt8], _ message: UnsafeRawBufferPointer, _ out: UnsafeMutableRawBufferPointer) -> Void
    public static let name = "__Host-steemauth"
    static let nameBytes = Array(name.utf8)
    public static let maxHeaderBytes = 8192
    public static let macLength = 32
    public static let signatureHexLength = 2 * macLength

    let currentKey: [UInt8]
    let previousKey: [UInt8]?
    let mac: MAC

    public init(currentKey: [UInt8], previousKey: [UInt8]?, mac: @escaping MAC) {
        self.currentKey = currentKey
        self.previousKey = previousKey
        self.mac = mac
    }

    /// The cookie value's length: the id's hex, a dash, the MAC's hex.
    public static let valueLength = SessionID.hexLength + 1 + signatureHexLength

    /// The cookie value for an id, signed with the current key.
    public func value(for id: SessionID) -> String {
        String(unsafeUninitializedCapacity: Self.valueLength) { write(valueFor: id, into: $0) }
    }

    /// `<id hex>-<MAC hex>` written into `out` (`valueLength` bytes; returns that). The MAC is taken
    /// over the id's hex where it was just written, into a stack buffer: no string or array is made.
    public func write(valueFor id: SessionID, into out: UnsafeMutableBufferPointer<UInt8>) -> Int {
        let idLength = id.writeHex(into: out)
        out[idLength] = UInt8(ascii: "-")
        return withUnsafeTemporaryAllocation(byteCount: Self.macLength, alignment: 1) { signature in
            mac(currentKey, UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: out[..<idLength])), signature)
            return Hex.write(signature, into: out, at: idLength + 1)
        }
    }

    /// One candidate value: exact shape, then a constant-time MAC check with current or previous key.
    public func verify<Bytes: Collection>(value: Bytes) -> SessionID? where Bytes.Element == UInt8, Bytes.Index == Int {
        if let checked = value.withContiguousStorageIfAvailable({ verify(contiguous: $0) }) { return checked }
        return Array(value).withUnsafeBufferPointer { verify(contiguous: $0) }
    }

    /// `verify` on the value's bytes in place: the id's hex is the message, the MAC goes to the stack.
    private func verify(contiguous value: UnsafeBufferPointer<UInt8>) -> SessionID? {
        let idLength = SessionID.hexLength
        guard value.count == Self.valueLength, value[idLength] == UInt8(ascii: "-") else { return nil }
        let message = UnsafeBufferPointer(rebasing: value[..<idLength])          // the id's hex, as signed
        guard let id = SessionID(hexBytes: message) else { return nil }
        // The MAC's hex is compared with the cookie's (lower case only, as issued), not decoded.
        let signature = UnsafeBufferPointer(rebasing: value[(idLength + 1)...])
        return withUnsafeTemporaryAllocation(byteCount: Self.macLength, alignment: 8) { expected in
            mac(currentKey, UnsafeRawBufferPointer(message), expected)
            if Hex.constantTimeEqual(hexOf: UnsafeRawBufferPointer(expected), signature) { return id }
            guard let previousKey else { return nil }
            mac(previousKey, UnsafeRawBufferPointer(message), expected)
            return Hex.constantTimeEqual(hexOf: UnsafeRawBufferPointer(expected), signature) ? id : nil
        }
    }

    /// Scans a raw Cookie header for the one session cookie. Two or more cookies of that name mean
    /// someone planted one: the request has no session (neither is trusted). A header over 8 KB
    /// counts as no cookie at all.
    public func sessionID(cookieHeader: [UInt8]?) -> SessionID? { sessionID(cookieHeader: cookieHeader?[...]) }

    public func sessionID(cookieHeader: ArraySlice<UInt8>?) -> SessionID? {
        guard let header = cookieHeader, header.count <= Self.maxHeaderBytes else { return nil }
        return header.withUnsafeBufferPointer { sessionID(in: $0) }
    }

    /// The header's `name=value` pairs (split at `;`, spaces and tabs trimmed, a value's double quotes
    /// dropped), walked with plain indexes over its bytes in place: no slices, no copies. Every
    /// session request runs this.
    private func sessionID(in header: UnsafeBufferPointer<UInt8>) -> SessionID? {
        func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 }
        let name = Self.nameBytes
        var start = 0
        var value: Range<Int>? = nil
        while start < header.count {
            let end = Self.firstIndex(of: UInt8(ascii: ";"), in: header, from: start, to: header.count)
            defer { start = end + 1 }
            let equals = Self.firstIndex(of: UInt8(ascii: "="), in: header, from: start, to: end)
            guard equals < end else { continue }
            var nameStart = start, nameEnd = equals
            while nameStart < nameEnd && isSpace(header[nameStart]) { nameStart += 1 }
            while nameEnd > nameStart && isSpace(header[nameEnd - 1]) { nameEnd -= 1 }
            guard nameEnd - nameStart == name.count else { continue }
            var sameName = true
            for i in 0..<name.count where header[nameStart + i] != name[i] { sameName = false; break }
            guard sameName else { continue }
            var valueStart = equals + 1, valueEnd = end
            while valueStart < valueEnd && isSpace(header[valueStart]) { valueStart += 1 }
            while valueEnd > valueStart && isSpace(header[valueEnd - 1]) { valueEnd -= 1 }
            if valueEnd - valueStart >= 2 && header[valueStart] == UInt8(ascii: "\"") && header[valueEnd - 1] == UInt8(ascii: "\"") {
                valueStart += 1; valueEnd -= 1
            }
            if value != nil { return nil }     // a second session cookie
            value = valueStart..<valueEnd
        }
        guard let value else { return nil }
        return verify(contiguous: UnsafeBufferPointer(rebasing: header[value]))
    }

    /// Where the first `byte` is in `bytes[from..<to]`, else `to`: eight bytes a step (a cookie's
    /// value is about a hundred), each step a word compared with the byte in every lane at once.
    private static func firstIndex(of byte: UInt8, in bytes: UnsafeBufferPointer<UInt8>, from: Int, to: Int) -> Int {
        precondition(from >= 0 && to <= bytes.count)
        guard let base = bytes.baseAddress else { return to }
        let lanes = UInt64(byte) &* 0x0101_0101_0101_0101
        var i = from
        while i + 8 <= to {
            let x = UInt64(littleEndian: UnsafeRawPointer(base).loadUnaligned(fromByteOffset: i, as: UInt64.self)) ^ lanes
            // The top bit of each lane that was `byte` (now 0); the lowest one set is the first such lane.
            let matches = (x &- 0x0101_0101_0101_0101) & ~x & 0x8080_8080_8080_8080
            if matches != 0 { return i + matches.trailingZeroBitCount / 8 }
            i += 8
        }
        while i < to && base[i] != byte { i += 1 }
        return i
    }
}

/// The Set-Cookie header for a session id: always `Secure; Path=/` with no `Domain`, as the
/// `__Host-` prefix requires (browsers accept Secure cookies on http://127.0.0.1 and localhost too).
public struct CookieAttributes: Sendable {
    public let maxAgeSeconds: Int
    /// What follows the value, made once.
    private let suffix: [UInt8]

    public init(maxAgeSeconds: Int) {
        self.maxAgeSeconds = maxAgeSeconds
        suffix = Array("; Path=/; Max-Age=\(maxAgeSeconds); HttpOnly; SameSite=Lax; Secure".utf8)
    }

    /// The header for `id`, signed by `signer`, written once into one string: every new visitor gets one.
    public func setCookie(for id: SessionID, signedBy signer: CookieSigner) -> String {
        setCookie(valueLength: CookieSigner.valueLength) { signer.write(valueFor: id, into: $0) }
    }

    public func setCookie(value: String) -> String {
        var value = value
        return value.withUTF8 { bytes in
            setCookie(valueLength: bytes.count) { $0.initialize(fromContentsOf: bytes) }
        }
    }

    /// `__Host-steemauth=<value><suffix>`, the value written by `writeValue` into its place.
    private func setCookie(valueLength: Int, writeValue: (UnsafeMutableBufferPointer<UInt8>) -> Int) -> String {
        let name = CookieSigner.nameBytes
        return String(unsafeUninitializedCapacity: name.count + 1 + valueLength + suffix.count) { out in
            var at = out.initialize(fromContentsOf: name)
            out[at] = UInt8(ascii: "="); at += 1
            at += writeValue(UnsafeMutableBufferPointer(rebasing: out[at..<(at + valueLength)]))
            return UnsafeMutableBufferPointer(rebasing: out[at...]).initialize(fromContentsOf: suffix) + at
        }
    }
}
