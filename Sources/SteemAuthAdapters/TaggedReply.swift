/// A script's reply as every script here answers: an array whose first field is a tag naming the
/// outcome (`'bound'`, `'none'`, …), then that outcome's fields. (The view script, on every session
/// request, is read in place instead: `RedisSessionStore.parseView` compares its tag as bytes.)
struct TaggedReply {
    let script: String
    let tag: String
    /// The fields after the tag.
    let fields: [RedisReply]

    init(_ reply: RedisReply, of script: LuaScript) throws(RedisError) {
        guard let items = try reply.checked().array, case .bulk(let word)? = items.first else {
            throw RedisError(kind: .server, message: "unexpected \(script.name) reply \(reply)")
        }
        self.script = script.name
        tag = String(decoding: word, as: UTF8.self)
        fields = Array(items.dropFirst())
    }

    /// The error for a tag or fields the caller does not know.
    var unexpected: RedisError { RedisError(kind: .server, message: "unexpected \(script) reply \(tag) \(fields)") }

    /// The field `i` after the tag as text (a number's digits too), bytes or an integer; nil past the end.
    func string(_ i: Int) -> String? { i < fields.count ? fields[i].string : nil }
    func bytes(_ i: Int) -> [UInt8]? {
        if i < fields.count, case .bulk(let bytes) = fields[i] { return bytes }
        return nil
    }
    func integer(_ i: Int) -> Int64? { i < fields.count ? fields[i].integer : nil }
}

extension RedisConnection {
    /// Runs a script that answers with a tag first.
    func evalTagged(_ script: LuaScript, keys: [String], args: [String]) throws(RedisError) -> TaggedReply {
        try TaggedReply(eval(script, keys: keys, args: args), of: script)
    }
}
