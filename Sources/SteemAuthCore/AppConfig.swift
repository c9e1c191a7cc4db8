/// Every setting of every steemauth executable, read once from `STEEMAUTH_*` variables (and an
/// optional env-style file they override). Each executable reads the same set and uses its own keys.
public struct AppConfig: Sendable {
    public enum Chain: String, Sendable { case steem, hive }

    public var account: String                 // STEEMAUTH_ACCOUNT: the service account visitors pay
    public var secret: [UInt8]                 // STEEMAUTH_SECRET: cookie MAC key
    public var previousSecret: [UInt8]?        // STEEMAUTH_PREVIOUS_SECRET: still accepted, never used to sign
    public var redis: RedisEndpoint            // STEEMAUTH_REDIS_URL (redis://, unix:, redis-sentinel://)
    public var redisSentinelPassword: String?  // STEEMAUTH_REDIS_SENTINEL_PASSWORD: for the sentinels themselves (required under Sentinel)
    public var redisSentinelUser: String?      // STEEMAUTH_REDIS_SENTINEL_USER: the sentinels' ACL user, with that password
    public var redisMinReplicas: Int           // STEEMAUTH_REDIS_MIN_REPLICAS: replicas a code or binding waits for (1 under Sentinel, else 0)
    public var redisPrefix: String             // STEEMAUTH_REDIS_PREFIX
    public var listen: ListenAddress           // STEEMAUTH_LISTEN
    public var socketMode: Int                 // STEEMAUTH_SOCKET_MODE (octal, unix sockets)
    public var backlog: Int                    // STEEMAUTH_BACKLOG
    public var workers: Int                    // STEEMAUTH_WORKERS
    public var maxRequests: Int                // STEEMAUTH_MAX_REQUESTS (0 = never recycle)
    public var shutdownTimeout: Int            // STEEMAUTH_SHUTDOWN_TIMEOUT seconds
    public var templates: String               // STEEMAUTH_TEMPLATES directory
    public var memoPrefix: String              // STEEMAUTH_MEMO_PREFIX
    public var chain: Chain                    // STEEMAUTH_CHAIN
    public var nodes: [String]                 // STEEMAUTH_NODES
    public var staleDays: Int                  // STEEMAUTH_STALE_DAYS
    public var staleBasis: StaleBasis          // STEEMAUTH_STALE_BASIS: last_post (default) or last_root_post
    public var unboundTTL: Int                 // STEEMAUTH_UNBOUND_TTL seconds
    public var boundTTL: Int                   // STEEMAUTH_BOUND_TTL seconds
    public var codeTTL: Int                    // STEEMAUTH_CODE_TTL seconds
    public var assets: [String]                // STEEMAUTH_ASSETS: accepted symbols
    public var minAmount: Asset                // STEEMAUTH_MIN_AMOUNT, e.g. "0.001"
    public var maxLag: Int                     // STEEMAUTH_MAX_LAG seconds
    public var rpcTimeout: Double              // STEEMAUTH_RPC_TIMEOUT seconds
    public var rpcBatch: Int                   // STEEMAUTH_RPC_BATCH: most calls in one JSON-RPC batch (halved on refusal)
    public var signInAttempts: Int             // STEEMAUTH_SIGNIN_ATTEMPTS: sign-ins that reach the node, per login code
    public var confirmations: Int              // STEEMAUTH_CONFIRMATIONS (0 = irreversible only)
    public var logLevel: String                // STEEMAUTH_LOG_LEVEL
    public var reportTTL: Int                  // STEEMAUTH_REPORT_TTL seconds a report is cached
    public var reportTimeout: Double           // STEEMAUTH_REPORT_TIMEOUT seconds a report may take, every node together
    public var nginxReadTimeout: Double        // STEEMAUTH_NGINX_READ_TIMEOUT: nginx's fastcgi_read_timeout (15 s in the shipped site)
    public var recycleAfterReport: Bool        // STEEMAUTH_RECYCLE_AFTER_REPORT: a worker that computed a report hands its place to a fresh one
    public var frontend: String                // STEEMAUTH_FRONTEND: account links go to <frontend>/@name
    public var metricsAllow: [String]          // STEEMAUTH_METRICS_ALLOW: client addresses allowed /metrics ("any" = all)
    public var oidc: OIDCFiles?                // STEEMAUTH_OIDC_*: the OpenID Connect provider, on when ISSUER is set
    public var publicOrigin: PublicOrigin?     // STEEMAUTH_PUBLIC_ORIGIN: the one origin visitors use (default: the OIDC issuer's)
    public var nodeQuorum: Int                 // STEEMAUTH_NODE_QUORUM: nodes that must agree (2 when two or more are listed, else 1)
    public var allowPlainHTTPNodes: Bool       // STEEMAUTH_ALLOW_PLAIN_HTTP_NODES: http:// nodes beyond loopback (a private network)
    public var fcgiAllow: [String]?            // STEEMAUTH_FCGI_ALLOW: FastCGI peers allowed on TCP (required beyond loopback)
    public var socketGroup: String?            // STEEMAUTH_SOCKET_GROUP: the unix socket's group (nginx's), with STEEMAUTH_SOCKET_MODE
    public var rpcMaxBytes: Int                // STEEMAUTH_RPC_MAX_BYTES: the largest node reply body accepted
    public var chainID: String                 // STEEMAUTH_CHAIN_ID: the id every node must report (default: the chain's main network)

    /// The assets of the configured chain (a testnet's chain id: TESTS/TBD).
    public var chainAssets: ChainAssets { ChainIdentity.assets(chainID: chainID) }

    /// Where the OpenID Connect provider's settings are (the files are read by the web tier).
    public struct OIDCFiles: Sendable, Equatable {
        public var issuer: String              // STEEMAUTH_OIDC_ISSUER: https://login.example.org
        public var clientsPath: String         // STEEMAUTH_OIDC_CLIENTS: JSON array of clients
        public var keyPath: String             // STEEMAUTH_OIDC_KEY: PEM RSA private key, >= 2048 bits
        public var previousKeyPath: String?    // STEEMAUTH_OIDC_PREVIOUS_KEY: published in the JWKS, never signs
    }

    public enum Key: String, CaseIterable, Sendable {
        case account = "STEEMAUTH_ACCOUNT", secret = "STEEMAUTH_SECRET", previousSecret = "STEEMAUTH_PREVIOUS_SECRET"
        case redisURL = "STEEMAUTH_REDIS_URL", redisPrefix = "STEEMAUTH_REDIS_PREFIX"
        case redisSentinelPassword = "STEEMAUTH_REDIS_SENTINEL_PASSWORD", redisMinReplicas = "STEEMAUTH_REDIS_MIN_REPLICAS"
        case redisSentinelUser = "STEEMAUTH_REDIS_SENTINEL_USER"
        case listen = "STEEMAUTH_LISTEN", socketMode = "STEEMAUTH_SOCKET_MODE", backlog = "STEEMAUTH_BACKLOG"
        case workers = "STEEMAUTH_WORKERS", maxRequests = "STEEMAUTH_MAX_REQUESTS"
        case shutdownTimeout = "STEEMAUTH_SHUTDOWN_TIMEOUT", templates = "STEEMAUTH_TEMPLATES"
        case memoPrefix = "STEEMAUTH_MEMO_PREFIX", chain = "STEEMAUTH_CHAIN", nodes = "STEEMAUTH_NODES"
        case staleDays = "STEEMAUTH_STALE_DAYS", staleBasis = "STEEMAUTH_STALE_BASIS", unboundTTL = "STEEMAUTH_UNBOUND_TTL"
        case boundTTL = "STEEMAUTH_BOUND_TTL", codeTTL = "STEEMAUTH_CODE_TTL"
        case assets = "STEEMAUTH_ASSETS"
        case minAmount = "STEEMAUTH_MIN_AMOUNT", maxLag = "STEEMAUTH_MAX_LAG"
        case rpcTimeout = "STEEMAUTH_RPC_TIMEOUT", rpcBatch = "STEEMAUTH_RPC_BATCH", signInAttempts = "STEEMAUTH_SIGNIN_ATTEMPTS", confirmations = "STEEMAUTH_CONFIRMATIONS"
        case logLevel = "STEEMAUTH_LOG_LEVEL", config = "STEEMAUTH_CONFIG"
        case reportTTL = "STEEMAUTH_REPORT_TTL", reportTimeout = "STEEMAUTH_REPORT_TIMEOUT", frontend = "STEEMAUTH_FRONTEND"
        case nginxReadTimeout = "STEEMAUTH_NGINX_READ_TIMEOUT"
        case recycleAfterReport = "STEEMAUTH_RECYCLE_AFTER_REPORT"
        case metricsAllow = "STEEMAUTH_METRICS_ALLOW"
        case oidcIssuer = "STEEMAUTH_OIDC_ISSUER", oidcClients = "STEEMAUTH_OIDC_CLIENTS", oidcKey = "STEEMAUTH_OIDC_KEY"
        case oidcPreviousKey = "STEEMAUTH_OIDC_PREVIOUS_KEY"
        case publicOrigin = "STEEMAUTH_PUBLIC_ORIGIN", nodeQuorum = "STEEMAUTH_NODE_QUORUM"
        case allowPlainHTTPNodes = "STEEMAUTH_ALLOW_PLAIN_HTTP_NODES", fcgiAllow = "STEEMAUTH_FCGI_ALLOW"
        case socketGroup = "STEEMAUTH_SOCKET_GROUP", rpcMaxBytes = "STEEMAUTH_RPC_MAX_BYTES", chainID = "STEEMAUTH_CHAIN_ID"
    }

    /// Builds the config. `required` names the keys this executable cannot run without.
    public static func load(environment env: [String: String], file: [String: String] = [:],
                            required: Set<Key> = [.account, .secret]) throws(ConfigError) -> AppConfig {
        let source = ConfigSource(values: file.merging(env.filter { $0.key.hasPrefix("STEEMAUTH_") }) { _, e in e })
        for key in Key.allCases where required.contains(key) && source.raw(key) == nil {
            throw ConfigError(key: key, message: "is required")
        }
        let chain = try source.value(.chain, default: Chain.steem) { Chain(rawValue: $0) }
        let configuredID: String? = try source.value(.chainID, default: nil as String?) { id -> String?? in
            ChainIdentity.isValid(id) ? .some(id.lowercased()) : .none }
        let chainID = ChainIdentity.expectedID(chain: chain, configured: configuredID)
        let chainAssets = ChainIdentity.assets(chainID: chainID)
        let defaultNode = chain == .steem ? "https://api.steemit.com" : "https://api.hive.blog"
        let secret = try source.value(.secret, default: nil as [UInt8]?, secret: true) { parseKey($0) }
        let nodes = try nodeList(source, default: defaultNode)
        let oidc = try oidcFiles(source)
        let redis = try source.value(.redisURL, default: RedisEndpoint.parse("redis://127.0.0.1:6379/0")!) { RedisEndpoint.parse($0) }
        let (reportTimeout, nginxReadTimeout) = try reportDeadline(source)
        let listen = try source.value(.listen, default: ListenAddress.tcp(host: "127.0.0.1", port: 9000)) { ListenAddress.parse($0) }
        let sentinelPassword = source.raw(.redisSentinelPassword).flatMap { $0.isEmpty ? nil : $0 }
        // Anyone who can reach an open sentinel can make it name a master of their choosing.
        if redis.isSentinel && sentinelPassword == nil {
            throw ConfigError(key: .redisSentinelPassword, message: "is required with a redis-sentinel:// URL: "
                + "give the sentinels a password (requirepass, or an ACL user with STEEMAUTH_REDIS_SENTINEL_USER)")
        }
        return AppConfig(
            account: try source.value(.account, default: "") { isValidAccountName($0) ? $0 : nil },
            secret: secret ?? [],
            previousSecret: try source.value(.previousSecret, default: nil as [UInt8]?, secret: true) { parseKey($0) },
            redis: redis,
            redisSentinelPassword: sentinelPassword,
            redisSentinelUser: source.raw(.redisSentinelUser).flatMap { $0.isEmpty ? nil : $0 },
            // Under Sentinel a code or binding waits for one replica by default: a failover must not lose it.
            redisMinReplicas: try source.int(.redisMinReplicas, default: redis.isSentinel ? 1 : 0, range: 0...16),
            redisPrefix: try source.value(.redisPrefix, default: "steemauth:") { p in
                p.utf8.count <= 64 && !p.contains(" ") ? p : nil },
            listen: listen,
            socketMode: try source.value(.socketMode, default: 0o660) { Int($0, radix: 8).flatMap { (0...0o777).contains($0) ? $0 : nil } },
            backlog: try source.int(.backlog, default: 511, range: 1...65535),
            workers: try source.int(.workers, default: 4, range: 1...256),
            maxRequests: try source.int(.maxRequests, default: 0, range: 0...Int(Int32.max)),
            shutdownTimeout: try source.int(.shutdownTimeout, default: 10, range: 1...3600),
            templates: try source.value(.templates, default: "templates") { $0.isEmpty ? nil : $0 },
            memoPrefix: try source.value(.memoPrefix, default: "") { MemoPrefix.isValid($0) ? $0 : nil },
            chain: chain,
            nodes: nodes,
            staleDays: try source.int(.staleDays, default: 40, range: 1...36500),
            staleBasis: try source.value(.staleBasis, default: StaleBasis.lastPost) { StaleBasis(rawValue: $0) },
            unboundTTL: try source.int(.unboundTTL, default: 7200, range: 60...86400 * 7),
            boundTTL: try source.int(.boundTTL, default: 30 * 86400, range: 60...86400 * 366),
            codeTTL: try source.int(.codeTTL, default: 900, range: 30...86400),
            assets: try assets(source, chain: chain, chainAssets: chainAssets),
            minAmount: try source.value(.minAmount, default: Asset.parseLegacy("0.001 STEEM")!) { text in
                Asset.parseLegacy(text + " STEEM").flatMap { $0.milliUnits > 0 ? $0 : nil } },
            maxLag: try source.int(.maxLag, default: 120, range: 1...86400),
            rpcTimeout: try source.value(.rpcTimeout, default: 5.0) { Double($0).flatMap { $0 > 0 && $0 <= 120 ? $0 : nil } },
            // 50 is jussi's default batch limit (api.steemit.com): what real gateways accept.
            rpcBatch: try source.int(.rpcBatch, default: 50, range: 1...1000),
            signInAttempts: try source.int(.signInAttempts, default: 5, range: 1...1_000_000_000),
            confirmations: try source.int(.confirmations, default: 0, range: 0...1000),
            logLevel: try source.value(.logLevel, default: "info") {
                ["trace", "debug", "info", "notice", "warning", "error", "critical"].contains($0) ? $0 : nil },
            reportTTL: try source.int(.reportTTL, default: 600, range: 0...86400),
            reportTimeout: reportTimeout,
            nginxReadTimeout: nginxReadTimeout,
            recycleAfterReport: try source.value(.recycleAfterReport, default: true) { parseBool($0) },
            frontend: try source.value(.frontend, default: chain == .steem ? "https://steemit.com" : "https://peakd.com") { f in
                (f.hasPrefix("https://") || f.hasPrefix("http://")) && !f.hasSuffix("/") && !f.contains("\"") ? f : nil },
            metricsAllow: try source.value(.metricsAllow, default: ["127.0.0.1", "::1"]) { text in
                let list = text.split(separator: ",").map { String($0).trimmingSpaces }.filter { !$0.isEmpty }
                return list.isEmpty ? nil : list },
            oidc: oidc,
            publicOrigin: try publicOrigin(source, oidc: oidc),
            nodeQuorum: try source.int(.nodeQuorum, default: nodes.count >= 2 ? 2 : 1, range: 1...max(1, nodes.count)),
            allowPlainHTTPNodes: try allowsPlainHTTPNodes(source),
            fcgiAllow: try fcgiAllowList(source, listen: listen),
            socketGroup: try source.value(.socketGroup, default: nil as String?) { g in
                !g.isEmpty && g.utf8.count <= 32 && g.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" } ? g : nil },
            // 1,000 accounts in one batched get_accounts reply are about 12 MB on a real node.
            rpcMaxBytes: try source.int(.rpcMaxBytes, default: 32 << 20, range: (1 << 20)...(256 << 20)),
            chainID: chainID
        )
    }

    /// The nodes: http(s) URLs, https unless on loopback or allowed (a private network). A URL may
    /// carry a key, so an error names the entry by its place and redacted form, never as written.
    static func nodeList(_ source: ConfigSource, default fallback: String) throws(ConfigError) -> [String] {
        guard let text = source.raw(.nodes) else { return [fallback] }
        let list = text.split(separator: ",").map { String($0).trimmingSpaces }.filter { !$0.isEmpty }
        guard !list.isEmpty else { throw ConfigError(key: .nodes, message: "lists no node") }
        let plainAllowed = try allowsPlainHTTPNodes(source)
        var seen: Set<String> = []
        for (index, entry) in list.enumerated() {
            guard let url = NodeURL.parse(entry) else {
                throw ConfigError(key: .nodes, message: "entry \(index + 1) is not an http(s)://[user:key@]host[:port][/path] URL")
            }
            guard seen.insert(url.identity).inserted else {
                throw ConfigError(key: .nodes, message: "entry \(index + 1) (\(url.redacted)) lists a node again: it would count twice toward the quorum")
            }
            if !url.isHTTPS && !url.isLoopback && !plainAllowed {
                throw ConfigError(key: .nodes, message: "entry \(index + 1) (\(url.redacted)) is plain http: nodes must be https, "
                    + "except on loopback, or with STEEMAUTH_ALLOW_PLAIN_HTTP_NODES=1 on a private network")
            }
        }
        return list
    }

    /// The accepted assets: the chain's own, or fewer of them; another chain's never.
    static func assets(_ source: ConfigSource, chain: Chain, chainAssets: ChainAssets) throws(ConfigError) -> [String] {
        let list = try source.value(.assets, default: chainAssets.symbols) { text in
            let list = text.split(separator: ",").map { String($0).trimmingSpaces.uppercased() }
            return !list.isEmpty && list.allSatisfy { Asset.parseLegacy("1.000 \($0)") != nil } ? list : nil }
        if let foreign = list.first(where: { !chainAssets.symbols.contains($0) }) {
            throw ConfigError(key: .assets, message: "names \(foreign), which this chain (\(chain.rawValue), by its chain id) does not have: it takes \(chainAssets.symbols.joined(separator: ", "))")
        }
        return list
    }

    /// The FastCGI peers allowed on TCP: required when the pool listens beyond loopback (any peer
    /// that can connect sets every param, REMOTE_ADDR included).
    static func fcgiAllowList(_ source: ConfigSource, listen: ListenAddress) throws(ConfigError) -> [String]? {
        let list = try source.value(.fcgiAllow, default: nil as [String]?) { text in
            let list = text.split(separator: ",").map { String($0).trimmingSpaces }.filter { !$0.isEmpty }
            return list.isEmpty ? nil : list }
        if list == nil, case .tcp = listen, !listen.isLoopback {
            throw ConfigError(key: .fcgiAllow, message: "is required when STEEMAUTH_LISTEN (\(listen)) is a TCP address beyond loopback: "
                + "list the web servers' addresses (and firewall or tunnel the traffic between hosts)")
        }
        return list
    }

    /// nginx answers 504 itself when a worker is silent for its fastcgi_read_timeout: a report must
    /// end (and its page be written) well before that, or the visitor sees nginx's page and the
    /// worker's work is lost.
    public static let reportMarginBeforeNginx = 2.0

    static func reportDeadline(_ source: ConfigSource) throws(ConfigError) -> (report: Double, nginx: Double) {
        let report = try source.value(.reportTimeout, default: 10.0) { Double($0).flatMap { $0 > 0 && $0 <= 120 ? $0 : nil } }
        let nginx = try source.value(.nginxReadTimeout, default: 15.0) { Double($0).flatMap { $0 > 0 && $0 <= 3600 ? $0 : nil } }
        if report + reportMarginBeforeNginx > nginx {
            throw ConfigError(key: .reportTimeout, message: "(\(report) s) must end at least \(reportMarginBeforeNginx) s before nginx's "
                + "fastcgi_read_timeout (STEEMAUTH_NGINX_READ_TIMEOUT, \(nginx) s): lower it, or raise both")
        }
        return (report, nginx)
    }

    static func allowsPlainHTTPNodes(_ source: ConfigSource) throws(ConfigError) -> Bool {
        try source.value(.allowPlainHTTPNodes, default: false) { parseBool($0) }
    }

    /// The public origin: set, or the OpenID Connect issuer's; plain http only on loopback.
    static func publicOrigin(_ source: ConfigSource, oidc: OIDCFiles?) throws(ConfigError) -> PublicOrigin? {
        guard let text = source.raw(.publicOrigin), !text.isEmpty else { return oidc.flatMap { PublicOrigin.parse($0.issuer) } }
        guard let origin = PublicOrigin.parse(text) else {
            throw ConfigError(key: .publicOrigin, message: "is not scheme://host[:port] (no path), such as https://login.example.org")
        }
        if !origin.isHTTPS && !origin.isLoopback { throw ConfigError(key: .publicOrigin, message: "must be https (plain http only on loopback)") }
        return origin
    }

    static func oidcFiles(_ source: ConfigSource) throws(ConfigError) -> OIDCFiles? {
        guard let issuer = source.raw(.oidcIssuer), !issuer.isEmpty else { return nil }
        if let problem = OIDCEndpoints.issuerProblem(issuer) { throw ConfigError(key: .oidcIssuer, message: problem) }
        guard let clients = source.raw(.oidcClients), !clients.isEmpty else {
            throw ConfigError(key: .oidcClients, message: "is required when STEEMAUTH_OIDC_ISSUER is set (the clients file)")
        }
        guard let key = source.raw(.oidcKey), !key.isEmpty else {
            throw ConfigError(key: .oidcKey, message: "is required when STEEMAUTH_OIDC_ISSUER is set (a PEM RSA private key)")
        }
        let previous = source.raw(.oidcPreviousKey).flatMap { $0.isEmpty ? nil : $0 }
        return OIDCFiles(issuer: issuer, clientsPath: clients, keyPath: key, previousKeyPath: previous)
    }

    /// The amount the ask page tells visitors to send, e.g. "0.001 STEEM".
    public var displayAmount: String {
        let shown = Asset(units: minAmount.milliUnits, precision: 3, kind: .core, symbol: assets.first ?? "STEEM")
        return shown.description
    }

    /// A key is 64 to 128 hex characters (32 to 64 bytes).
    static func parseKey(_ text: String) -> [UInt8]? {
        guard (64...128).contains(text.utf8.count), text.utf8.count % 2 == 0 else { return nil }
        return Hex.decodeAnyCase(text)
    }

    static func parseBool(_ text: String) -> Bool? {
        switch text.lowercased() {
        case "1", "true", "yes", "on": return true
        case "0", "false", "no", "off", "": return false
        default: return nil
        }
    }

    /// Steem/Hive account names: 3-16 characters, dot-separated segments of [a-z0-9-] starting with a letter.
    /// The chain's rule for account names (see AccountName).
    public static func isValidAccountName(_ name: String) -> Bool { AccountName.isValid(name) }

    /// Parses an env-style file: `KEY=VALUE` lines, `#` comments, optional surrounding quotes.
    public static func parseEnvFile(_ text: String) throws(ConfigError) -> [String: String] {
        var out: [String: String] = [:]
        for (number, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var line = String(rawLine).trimmingSpaces
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line.hasPrefix("export ") { line = String(line.dropFirst(7)).trimmingSpaces }
            guard let eq = line.firstIndex(of: "=") else {
                throw ConfigError(key: .config, message: "line \(number + 1) is not KEY=VALUE")
            }
            let key = String(line[..<eq]).trimmingSpaces
            var value = String(line[line.index(after: eq)...]).trimmingSpaces
            if value.count >= 2, let f = value.first, f == "\"" || f == "'", value.last == f {
                value = String(value.dropFirst().dropLast())
            }
            out[key] = value
        }
        return out
    }
}

/// A configuration problem, naming the key and never a secret's value.
public struct ConfigError: Error, Sendable, CustomStringConvertible {
    public let key: AppConfig.Key
    public let message: String
    public init(key: AppConfig.Key, message: String) { self.key = key; self.message = message }
    public var description: String { "\(key.rawValue) \(message)" }
}

struct ConfigSource {
    let values: [String: String]

    func raw(_ key: AppConfig.Key) -> String? { values[key.rawValue] }

    func value<T>(_ key: AppConfig.Key, default fallback: T, secret: Bool = false,
                  _ parse: (String) -> T?) throws(ConfigError) -> T {
        guard let text = raw(key) else { return fallback }
        if let v = parse(text) { return v }
        if secret { throw ConfigError(key: key, message: "is not valid (expected 64 to 128 hex characters)") }
        // A Redis URL may carry a password: never echo it.
        if key == .redisURL { throw ConfigError(key: key, message: "is not a redis://, unix: or redis-sentinel:// URL") }
        throw ConfigError(key: key, message: "has an invalid value '\(text)'")
    }

    func int(_ key: AppConfig.Key, default fallback: Int, range: ClosedRange<Int>) throws(ConfigError) -> Int {
        try value(key, default: fallback) { Int($0).flatMap { range.contains($0) ? $0 : nil } }
    }
}

extension String {
    public var trimmingSpaces: String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" || f == "\r" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" || l == "\r" { s = s.dropLast() }
        return String(s)
    }
}
