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
