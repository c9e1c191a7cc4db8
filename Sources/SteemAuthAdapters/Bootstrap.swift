import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif
import Logging
import SteemAuthCore

/// Start-up shared by the executables: configuration from the environment (and an optional
/// file it overrides), and logging to stderr.
public enum Bootstrap {
    /// `configPath` (from `--config`) wins over `STEEMAUTH_CONFIG`; environment values win over the file.
    public static func loadConfig(configPath: String?, required: Set<AppConfig.Key>,
                                  environment: [String: String] = Bootstrap.processEnvironment()) throws(ConfigError) -> AppConfig {
        var file: [String: String] = [:]
        if let path = configPath ?? environment[AppConfig.Key.config.rawValue], !path.isEmpty {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw ConfigError(key: .config, message: "file \(path) cannot be read")
            }
            file = try AppConfig.parseEnvFile(String(decoding: data, as: UTF8.self))
        }
        return try AppConfig.load(environment: environment, file: file, required: required)
    }

    /// The process environment, read from `environ` directly.
    public static func processEnvironment() -> [String: String] {
        var out: [String: String] = [:]
        var entry = environ
        while let pointer = entry.pointee {
            let pair = String(cString: pointer)
            if let eq = pair.firstIndex(of: "=") { out[String(pair[..<eq])] = String(pair[pair.index(after: eq)...]) }
            entry += 1
        }
        return out
    }

    nonisolated(unsafe) private static var loggingStarted = false

    public static func startLogging(level: String) {
        guard !loggingStarted else { return }
        loggingStarted = true
        let parsed = Logger.Level(rawValue: level) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = EscapingLogHandler(StreamLogHandler.standardError(label: label))
            handler.logLevel = parsed
            return handler
        }
    }
}
