import ArgumentParser
import FastCGIKit
import Logging
import SteemAuthAdapters
import SteemAuthCore
import SteemAuthWeb

struct WebCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "steemauth-web",
        abstract: "steemauth web pool: pre-forked FastCGI workers behind nginx.", version: SteemAuthVersion.current,
        subcommands: [Serve.self, Admin.self], defaultSubcommand: Serve.self)
}

/// The FastCGI pool master: configuration, templates, then the pre-fork supervisor.
struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the pool in the foreground (the default).")

    @Option(help: "An env-style config file (KEY=VALUE lines); STEEMAUTH_* variables override it.")
    var config: String?

    @Flag(help: "Validate the configuration and templates, then exit (like nginx -t).")
    var checkConfig = false

    func run() throws {
        let (appConfig, templates, oidc) = try loadEverything()
        Bootstrap.startLogging(level: appConfig.logLevel)
        let logger = Logger(label: "steemauth-web")
        if let warning = appConfig.quorumWarning {
            if checkConfig { print("steemauth-web: warning: \(warning)") } else { logger.warning("\(warning)") }
        }
        if checkConfig {
            let provider = oidc.map { " OpenID Connect provider \($0.issuer) with \($0.clients.clients.count) client(s)," } ?? ""
            print("steemauth-web: configuration ok (public origin \(appConfig.publicOrigin.map { "\($0)" } ?? "-"), listen \(appConfig.listen), redis \(appConfig.redis), nodes \(appConfig.shownNodes),\(provider) \(appConfig.workers) workers)")
            return
        }
        // The pages every worker fills in, frozen here once: each worker inherits them.
        let frozenPages = { (c: AppConfig, t: SiteTemplates) in WebApp(config: c, templates: t, logger: logger).frozenPageSet() }
        var current = (appConfig, templates, oidc, frozenPages(appConfig, templates))
        HTTPClient.initializeLibrary()   // once, shared by every worker
        OpenSSLDigest.prepare()          // the same for the digests (each worker names its scripts)
        // Mapped before the first fork, so every worker adds to the same counters.
        let metrics = SharedCounters(slots: PoolMetrics.slotCount).map(PoolMetrics.init)
        if metrics == nil { logger.warning("shared counters unavailable: /metrics is off") }
        let supervisor = Supervisor(
            settings: Self.poolSettings(appConfig), logger: logger,
            reload: {
                do {
                    let (c, t, o) = try loadEverything()
                    current = (c, t, o, frozenPages(c, t))
                    logger.notice("configuration and templates re-read")
                    return Self.poolSettings(current.0)
                } catch {
                    logger.error("reload refused", metadata: ["error": "\(error)"])
                    return nil
                }
            })
        supervisor.onEvent = { event in
            switch event {
            case .started: metrics?.count(.workerStarted)
            case .died: metrics?.count(.workerDied)
            case .left: metrics?.count(.workerLeft)
            }
        }
        do {
            throw ExitCode(try supervisor.run { worker in
                // Each worker counts into its own bank of the shared counters (no cache line bounces
                // between workers on every request); /metrics sums the banks.
                metrics?.counters.useBank(worker.number)
                return WebApp(config: current.0, templates: current.1, logger: logger, metrics: metrics, oidc: current.2, frozen: current.3)
            })
        } catch let error as Supervisor.StartError {
            throw ValidationError(error.description)
        }
    }

    /// Configuration, templates and the OpenID Connect provider's files: at start-up and on SIGHUP.
    private func loadEverything() throws -> (AppConfig, SiteTemplates, OIDCProvider?) {
        do {
            let cfg = try Bootstrap.loadConfig(configPath: config, required: [.account, .secret])
            // Without it the challenge could only name the Host a request arrived with: a relaying site picks that.
            guard cfg.publicOrigin != nil else {
                throw ConfigError(key: .publicOrigin, message: "is required: the origin visitors use, such as https://login.example.org "
                                  + "(scheme, host and optional port; it defaults to STEEMAUTH_OIDC_ISSUER when that is set)")
            }
            if let entries = cfg.fcgiAllow, let bad = PeerAllowList.invalidEntry(entries) {
                throw ValidationError("configuration: STEEMAUTH_FCGI_ALLOW has '\(bad.prefix(64))', which is not an IPv4 or IPv6 address")
            }
            let oidc = try cfg.oidc.map { files throws(ConfigError) in try OIDCProvider.load(files) }
            return (cfg, try SiteTemplates.load(directory: cfg.templates), oidc)
        } catch let error as ConfigError {
            throw ValidationError("configuration: \(error)")
        } catch let error as SiteTemplates.LoadError {
            throw ValidationError("templates: \(error)")
        }
    }

    static func poolSettings(_ c: AppConfig) -> PoolSettings {
        let isUnix: Bool
        if case .unix = c.listen { isUnix = true } else { isUnix = false }
        // On TCP with STEEMAUTH_FCGI_ALLOW, only the listed peers are read from (loopback included).
        // (An entry that is no address was refused at load; were one to slip through, nobody is allowed.)
        let allowed = c.fcgiAllow.map { PeerAllowList($0) ?? PeerAllowList([])! }
        return PoolSettings(listenPath: c.listen.fcgiSocketPath, isUnixSocket: isUnix, socketMode: c.socketMode, backlog: c.backlog,
                            workers: c.workers, maxRequests: c.maxRequests, shutdownTimeout: c.shutdownTimeout, socketGroup: c.socketGroup,
                            allowedPeers: allowed)
    }
}

/// Operator commands against the same Redis the pool uses.
struct Admin: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List or revoke the logins of an account.",
                                                    subcommands: [Sessions.self, Revoke.self])

    struct Target: ParsableArguments {
        @Option(help: "An env-style config file; STEEMAUTH_* variables override it.") var config: String?
        @Argument(help: "The account, with or without @.") var account: String

        func open() throws -> (AppConfig, AdminStore, String, Logger) {
            let cfg: AppConfig
            do { cfg = try Bootstrap.loadConfig(configPath: config, required: []) } catch { throw ValidationError("configuration: \(error)") }
            let name = account.hasPrefix("@") ? String(account.dropFirst()) : account
            guard AppConfig.isValidAccountName(name) else { throw ValidationError("'\(account)' is not an account name") }
            Bootstrap.startLogging(level: cfg.logLevel)
            return (cfg, AdminStore(redis: RedisConnection(endpoint: cfg.redis, sentinelPassword: cfg.redisSentinelPassword, sentinelUser: cfg.redisSentinelUser),
                               prefix: cfg.redisPrefix), name,
                    Logger(label: "steemauth-admin"))
        }
    }

    struct Sessions: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the live sessions bound to an account.")
        @OptionGroup var target: Target
        func run() throws {
            let (_, store, account, _) = try target.open()
            let list: [AdminStore.Binding]
            do { list = try store.bindings(of: account) } catch { throw ValidationError("\(error)") }
            print("@\(account): \(list.count) live session(s)")
            for b in list {
                print("  session \(b.idPrefix)…  proved in block \(b.block) tx \(b.transactionID) at \(b.time)  expires in \(b.secondsLeft) s")
            }
        }
    }

    struct Revoke: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Log an account out everywhere (its sessions and the OpenID Connect access tokens their logins gave are deleted, their ids deny-listed).")
        @OptionGroup var target: Target
        func run() throws {
            let (cfg, store, account, logger) = try target.open()
            let n: Int64
            do { n = try store.revoke(account: account, denyTTL: cfg.boundTTL) } catch { throw ValidationError("\(error)") }
            logger.notice("admin revoke", metadata: ["account": "\(account)", "sessions": "\(n)"])
            print("@\(account): \(n) session(s) revoked")
        }
    }
}

WebCommand.main()
