import SteemAuthCore

/// FlyingFox also exports a `JSONValue`; this module means the core's.
public typealias JSONValue = SteemAuthCore.JSONValue
