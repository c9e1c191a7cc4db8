/// JSON-RPC 2.0 envelopes as Steem/Hive nodes (steemd/hived behind jussi) speak them.
public struct RPCRequest: Codable, Sendable, Equatable {
    public var jsonrpc: String = "2.0"
    public var id: JSONValue
    public var method: String
    public var params: JSONValue?

    public init(id: Int64, method: String, params: JSONValue) {
        self.id = .int(id); self.method = method; self.params = params
    }

    /// The appbase `call` form: `{"method":"call","params":["condenser_api","get_block",[N]]}`.
    public static func call(id: Int64, api: String, method: String, params: JSONValue) -> RPCRequest {
        RPCRequest(id: id, method: "call", params: .array([.string(api), .string(method), params]))
    }

    /// Splits either form into (api, method, params); nil when it is neither.
    public var normalized: (api: String, method: String, params: JSONValue)? {
        if method == "call" {
            guard let p = params?.arrayValue, p.count >= 2, let api = p[0].stringValue, let m = p[1].stringValue else { return nil }
            return (api, m, p.count > 2 ? p[2] : .array([]))
        }
        let parts = method.split(separator: ".")
        guard parts.count == 2 else { return nil }
        return (String(parts[0]), String(parts[1]), params ?? .array([]))
    }
}
