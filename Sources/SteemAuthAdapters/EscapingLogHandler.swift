import Logging
import SteemAuthCore

/// Wraps a log handler so no line can be split or forged: control characters in the message and in
/// every metadata value are escaped (see LogText) before the inner handler writes them. Metadata set
/// on the logger is escaped when it is set; the metadata provider's (a request id, say) is asked and
/// escaped only when a line is written, so a per-request value costs nothing on requests that log nothing.
public struct EscapingLogHandler: LogHandler {
    public var inner: any LogHandler

    public init(_ inner: any LogHandler) {
        self.inner = inner
        metadataProvider = inner.metadataProvider
        if metadataProvider != nil { self.inner.metadataProvider = nil }   // merged here instead, escaped
    }

    public var logLevel: Logger.Level {
        get { inner.logLevel }
        set { inner.logLevel = newValue }
    }
    /// Kept here, not in the inner handler: what it provides is merged and escaped in `log(event:)`.
    public var metadataProvider: Logger.MetadataProvider?
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
        var metadata = event.metadata
        if let provided = metadataProvider?.get(), !provided.isEmpty {
            metadata = (metadata ?? [:]).merging(provided) { explicit, _ in explicit }
        }
        escaped.metadata = metadata.map { m in
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
