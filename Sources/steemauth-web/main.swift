import ArgumentParser
import FastCGIKit
import Logging
import SteemAuthAdapters
import SteemAuthCore
import SteemAuthWeb

/// The FastCGI pool master: configuration, templates, then the pre-fork supervisor.
struct WebCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "steemauth-web",
        abstract: "steemauth web pool: pre-forked FastCGI workers behind nginx.")

    @Option(help: "An env-style config file (KEY=VALUE lines); STEEMAUTH_* variables override it.")
    var config: String?

    @Flag(help: "Validate the configuration and templates, then exit (like nginx -t).")
    var checkConfig = false

    func run() throws {
        let (appConfig, templates) = try loadEverything()
        Bootstrap.startLogging(level: appConfig.logLevel)
        let logger = Logger(label: "steemauth-web")
        if checkConfig {
            print("steemauth-web: configuration ok (listen \(appConfig.listen), redis \(appConfig.redis), \(appConfig.workers) workers)")
            return
        }
        var current = (appConfig, templates)
        // Mapped before the first fork, so every worker adds to the same counters.
        let metrics = SharedCounters(slots: PoolMetrics.slotCount).map(PoolMetrics.init)
        if metrics == nil { logger.warning("shared counters unavailable: /metrics is off") }
        let supervisor = Supervisor(
            settings: Self.poolSettings(appConfig), logger: logger,
            reload: {
                do {
                    current = try loadEverything()
                    logger.notice("configuration and templates re-read")
                    return Self.poolSettings(current.0)
                } catch {
                    logger.error("reload refused", metadata: ["error": "\(error)"])
                    return nil
                }
            },
            workerMain: { listenFD, maxRequests in
                var app = WebApp(config: current.0, templates: current.1, logger: logger, metrics: metrics)
                let reason = Worker.run(listenFD: listenFD, maxRequests: maxRequests, handler: &app, logger: logger)
                if reason == .recycled { notifyMasterOfRecycle() }
                return 0
            })
        supervisor.onEvent = { event in
            switch event {
            case .started: metrics?.count(.workerStarted)
            case .died: metrics?.count(.workerDied)
            case .left: metrics?.count(.workerLeft)
            }
        }
        do {
            throw ExitCode(try supervisor.run())
        } catch let error as Supervisor.StartError {
            throw ValidationError(error.description)
        }
    }

    private func loadEverything() throws -> (AppConfig, SiteTemplates) {
        do {
            let cfg = try Bootstrap.loadConfig(configPath: config, required: [.account, .secret])
            return (cfg, try SiteTemplates.load(directory: cfg.templates))
        } catch let error as ConfigError {
            throw ValidationError("configuration: \(error)")
        } catch let error as SiteTemplates.LoadError {
            throw ValidationError("templates: \(error)")
        }
    }

    static func poolSettings(_ c: AppConfig) -> PoolSettings {
        let isUnix: Bool
        if case .unix = c.listen { isUnix = true } else { isUnix = false }
        return PoolSettings(listenPath: c.listen.fcgiSocketPath, isUnixSocket: isUnix, socketMode: c.socketMode, backlog: c.backlog,
                            workers: c.workers, maxRequests: c.maxRequests, shutdownTimeout: c.shutdownTimeout)
    }
}

WebCommand.main()
