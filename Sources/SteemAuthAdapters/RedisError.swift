/// What a Redis call (or a store standing in for one) failed with.
public struct RedisError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable { case unavailable, connectionLost, server, leaseLost }
    public let kind: Kind
    public let message: String
    public var description: String { "redis \(kind): \(message)" }
    public init(kind: Kind, message: String) { self.kind = kind; self.message = message }
}
