import SteemAuthCore

/// A server-side script, run atomically by Redis.
public struct LuaScript: Sendable {
    public let name: String
    public let source: String
    /// The SHA-1 of the source, in hex: the name EVALSHA calls it by, known before any server has it
    /// (so a request makes no lookup of what a connection loaded).
    public let sha: String
    public init(name: String, source: String) {
        self.name = name; self.source = source
        sha = Hex.encode(OpenSSLDigest.sha1(Array(source.utf8)))
    }

    /// `text` as a Lua string literal, every byte written as a decimal escape: whatever the text
    /// holds (a configured prefix), it stays one string in a script's source.
    public static func literal(_ text: String) -> String {
        "\"" + text.utf8.map { "\\" + String($0) }.joined() + "\""
    }
}
