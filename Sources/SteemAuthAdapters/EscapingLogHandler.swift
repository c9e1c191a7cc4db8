import Logging
import SteemAuthCore

/// Wraps a log handler so no line can be split or forged: control characters in the message and in
/// every metadata value are escaped (see LogText) before the inner handler writes them. Metadata set
/// on the logger (a request id, say) is escaped when it is set.
public struct EscapingLogHandler: LogHandler {
    public var inner: any LogHandler

    public init(_ inner: any LogHandler) { self.inner = inner }

    public var logLevel: Logger.Level {
        get { inner.logLevel }
        set { inner.logLevel = newValue }
    }
    public var metadataProvider: Logger.MetadataProvider? {
        get { inner.metadataProvider }
        set { inner.metadataProvider = newValue }
    }
    public var metadata: Logger.Metadata {
        get { inner.metadata }
        set { inner.metadata = newValue.mapValues(Self.escape) }
    }
    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { inner[metadataKey: key] }
        set { inner[metadataKey: LogText.escape(key)] = newValue.map(Self.escape) }
    }

    public func log(event: LogEvent) {
        var escaped = event
        escaped.message = Logger.Message(stringLiteral: LogText.escape(event.message.description))
        escaped.metadata = event.metadata.map { m in
            Dictionary(m.map { (LogText.escape($0.key), Self.escape($0.value)) }, uniquingKeysWith: { a, _ in a })
        }
        inner.log(event: escaped)
    }

    public static func escape(_ value: Logger.Metadata.Value) -> Logger.Metadata.Value {
        switch value {
        case .string(let s): return .string(LogText.escape(s))
        case .stringConvertible(let c): return .string(LogText.escape(c.description))
        case .dictionary(let d): return .dictionary(d.mapValues(escape))
        case .array(let a): return .array(a.map(escape))
        @unknown default: return .string(LogText.escape("\(value)"))
        }
    }
}
