/// The cookie that ties a parked OpenID Connect authorization to the browser that started it: set
/// by the authorize response, checked when a page view would continue the authorization. A
/// `__Host-` name (Secure, Path=/, no Domain): only this host can have set it.
public enum FlowCookie {
    public static let name = "__Host-steemauth-flow"
    /// 32 hex digits (128 random bits).
    public static let valueLength = 32

    /// The flow cookie's value, when the header carries exactly one of the right shape: two or more
    /// mean one was planted, and neither is trusted.
    public static func value(cookieHeader: ArraySlice<UInt8>?) -> String? {
        guard let header = cookieHeader, header.count <= CookieSigner.maxHeaderBytes else { return nil }
        var found: String? = nil
        for pair in header.split(separator: UInt8(ascii: ";")) {
            let trimmed = pair.drop { $0 == 0x20 || $0 == 0x09 }
            guard let equals = trimmed.firstIndex(of: UInt8(ascii: "=")),
                  trimmed[..<equals].elementsEqual(name.utf8) else { continue }
            if found != nil { return nil }
            let value = trimmed[(equals + 1)...].prefix { $0 != 0x20 && $0 != 0x09 }
            guard value.count == valueLength, Hex.decodeLower(value) != nil else { return nil }
            found = String(decoding: value, as: UTF8.self)
        }
        return found
    }

    /// The Set-Cookie header for a new flow, kept as long as the authorization may wait.
    public static func setCookie(value: String, maxAge: Int) -> String {
        "\(name)=\(value); Path=/; Max-Age=\(maxAge); Secure; HttpOnly; SameSite=Lax"
    }

    /// The Set-Cookie header that removes it once its authorization is taken.
    public static let clear = "\(name)=; Path=/; Max-Age=0; Secure; HttpOnly; SameSite=Lax"
}
