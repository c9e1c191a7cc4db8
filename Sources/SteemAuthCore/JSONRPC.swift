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

public struct RPCErrorObject: Codable, Sendable, Equatable, Error, CustomStringConvertible {
    public var code: Int64
    public var message: String
    public var data: JSONValue?
    public init(code: Int64, message: String, data: JSONValue? = nil) { self.code = code; self.message = message; self.data = data }
    public var description: String { "JSON-RPC error \(code): \(message.prefix(200))" }
}

public struct RPCResponse<Result: Decodable & Sendable>: Decodable, Sendable {
    public var id: JSONValue?
    public var result: Result?
    public var error: RPCErrorObject?
}

public enum RPCMethod {
    public static let getDynamicGlobalProperties = "condenser_api.get_dynamic_global_properties"
    public static let getBlock = "condenser_api.get_block"
    public static let getConfig = "condenser_api.get_config"
    public static let getFollowing = "condenser_api.get_following"
    public static let getAccounts = "condenser_api.get_accounts"
    public static let getBlockRange = "block_api.get_block_range"
}
