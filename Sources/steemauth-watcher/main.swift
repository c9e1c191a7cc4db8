import ArgumentParser
import Logging
import SteemAuthAdapters
import SteemAuthCore
import SteemAuthWatcher

/// The chain watcher: the only writer of bindings.
struct WatcherCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "steemauth-watcher",
        abstract: "Tails the chain over JSON-RPC and binds login codes to the accounts that paid them.",
        version: SteemAuthVersion.current)

    @Option(help: "An env-style config file; STEEMAUTH_* variables override it.") var config: String?
    @Flag(help: "Validate the configuration and exit.") var checkConfig = false
    @Option(help: "Start at this block when there is no checkpoint yet (default: the current irreversible block).") var fromBlock: Int64?
    @Option(help: "Blocks applied together while catching up, each batch chained and confirmed by quorum (fetched in JSON-RPC batches of at most STEEMAUTH_RPC_BATCH calls, a few in flight).") var batchSize: Int = 100
    @Flag(help: "Send requests in the appbase `call` form instead of `condenser_api.method`.") var callForm = false

    func run() throws {
        let signals = SignalWaiter()        // before any thread exists
        let cfg: AppConfig
        do { cfg = try Bootstrap.loadConfig(configPath: config, required: [.account]) }
        catch { throw ValidationError("configuration: \(error)") }
        guard (1...1000).contains(batchSize) else { throw ValidationError("--batch-size is 1...1000") }
        Bootstrap.startLogging(level: cfg.logLevel)
        let logger = Logger(label: "steemauth-watcher")
        if let warning = cfg.quorumWarning {
            if checkConfig { print("steemauth-watcher: warning: \(warning)") } else { logger.warning("\(warning)") }
        }
        if checkConfig {
            print("steemauth-watcher: configuration ok (\(cfg.chain.rawValue), nodes \(cfg.shownNodes), redis \(cfg.redis))")
            return
        }
        let rpc = RPCClient(nodes: cfg.nodes, timeoutSeconds: cfg.rpcTimeout, form: callForm ? .appbaseCall : .dotted,
                            maxReplyBytes: cfg.rpcMaxBytes, maxBatchSize: cfg.rpcBatch, expectedChainID: cfg.chainID, logger: logger)
        let watcher = ChainWatcher(config: cfg, options: .init(fromBlock: fromBlock, batchSize: batchSize),
                                   rpc: rpc, redis: RedisConnection(endpoint: cfg.redis, sentinelPassword: cfg.redisSentinelPassword, sentinelUser: cfg.redisSentinelUser), signals: signals, logger: logger)
        throw ExitCode(watcher.run().rawValue)
    }
}

WatcherCommand.main()
