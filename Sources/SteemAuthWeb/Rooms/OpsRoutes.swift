import FastCGIKit
import SteemAuthAdapters
import SteemAuthCore

/// Liveness, health, metrics and the static files.
final class OpsRoutes: SiteRoom {
    let site: Site
    /// The liveness answer, made when the worker starts: a static's every use is a call into the
    /// runtime (swift_once), on every request.
    let pong = Response.fixed(status: 200, prepared: PreparedHeaders([("Content-Type", "text/plain")]), body: Array("pong\n".utf8))

    init(site: Site) { self.site = site }

    /// One of the pool's own static files (an allow-list read at start-up).
    func staticFile(_ name: String) throws(HTTPFailure) -> Response {
        guard let file = templates.staticFile(name) else { throw .notFound }
        return Response(status: 200, headers: [("Content-Type", file.contentType), ("Cache-Control", "public, max-age=3600"),
                                               ("X-Content-Type-Options", "nosniff")], body: file.body)
    }

    /// Whether the client may read /metrics (and /healthz's reasons): STEEMAUTH_METRICS_ALLOW.
    func isMetricsClient(_ request: Request) -> Bool {
        config.metricsAllow.contains("any") || config.metricsAllow.contains(request.remoteAddress ?? "")
    }

    /// Prometheus text: the pool's shared counters and the watcher's numbers from Redis.
    /// Loopback only by default (STEEMAUTH_METRICS_ALLOW); nginx restricts it further.
    func metricsPage(_ request: Request) -> Response {
        guard isMetricsClient(request) else {
            return Response(status: 403, contentType: "text/plain", body: "forbidden\n")
        }
        guard let metrics else { return Response(status: 404, contentType: "text/plain", body: "metrics are off\n") }
        var snapshot: PoolMetrics.WatcherSnapshot? = nil
        if let maps = try? healthStore.watcherCounters(), maps.count == 4 {
            snapshot = PoolMetrics.WatcherSnapshot()
            snapshot!.state = maps[0]; snapshot!.claims = maps[1]; snapshot!.rejections = maps[2]; snapshot!.rpc = maps[3]
        }
        return Response(status: 200, contentType: "text/plain; version=0.0.4", body: metrics.render(watcher: snapshot, redisMaster: healthStore.masterAddress),
                        headers: [("Cache-Control", "no-store")])
    }

    /// `ok` or `unavailable`. The reason (the watcher's lag, a replica count) only for the addresses
    /// allowed /metrics: it tells an outsider when logins are slow.
    func health(_ request: Request) -> Response {
        let detailed = isMetricsClient(request)
        func answer(_ status: Int, _ brief: String, _ detail: String) -> Response {
            Response(status: status, contentType: "text/plain", body: (detailed ? detail : brief) + "\n", headers: [("Cache-Control", "no-store")])
        }
        do {
            if let problem = try healthStore.healthProblem(now: clock.unixSeconds, maxLag: config.maxLag) {
                logger.warning("healthz: \(problem)")
                return answer(503, "unavailable", problem)
            }
            // A master with fewer replicas than configured keeps serving; health says durability is degraded.
            if config.redisMinReplicas > 0, let connected = try? healthStore.connectedReplicaCount() {
                if connected < config.redisMinReplicas {
                    logger.warning("healthz: redis durability degraded", metadata: ["replicas": "\(connected)", "wanted": "\(config.redisMinReplicas)"])
                    return answer(200, "ok", "ok, durability degraded: \(connected) of \(config.redisMinReplicas) replicas connected")
                }
            }
            return answer(200, "ok", "ok")
        } catch {
            logger.warning("healthz: redis unavailable", metadata: ["error": "\(error)"])
            return answer(503, "unavailable", "redis unavailable: \(error.kind)")
        }
    }
}
