"""The first report against the network's floor (bench/run imports it; BENCH_ONLY=first-report runs it alone).

A devchain of two nodes answers every JSON-RPC request 50 ms late (`serve --latency-ms 50`, concurrent
requests delayed side by side, as a node across a continent). For accounts following 1,000, 10,000
and 50,000 others, a bound visitor's first /steemauth (no cached report) is timed through nginx and
the pool, and printed as a ratio to its floor:

    floor = (ceil(follows / 1000) + 1) round trips x 50 ms

`get_following` gives at most 1,000 names a page and each page needs the last name of the page before,
so the pages are that many sequential round trips; the accounts of the last page take one more.
Target: within 1.5x at each size. Each size is timed BENCH_REPORT_ROUNDS (3) times, its cache and its
failure memory dropped in between; each report is computed by a fresh worker (the pool recycles a
worker after a report), so its chain-id checks and connections are counted too. Then the worker's
peak memory for the 50,000-follow report: one worker that does not recycle, its peak RSS (VmHWM) and
its PSS sampled every 5 ms during the request.
"""
import math, os, re, subprocess, tempfile, threading, time, shutil

LATENCY_MS = 50
SIZES = (1000, 10000, 50000)
ROUNDS = int(os.environ.get("BENCH_REPORT_ROUNDS", "3"))
TARGET = 1.5


def floor_seconds(follows):
    return (math.ceil(follows / 1000) + 1) * LATENCY_MS / 1000


def vm_hwm_mib(pid):
    for line in open("/proc/%d/status" % pid):
        if line.startswith("VmHWM:"): return int(line.split()[1]) / 1024
    return 0.0


def run(bench, bindir):
    """Prints the table; returns the rows that missed their target."""
    tmp = tempfile.mkdtemp(prefix="steemauth-bench-report-")
    os.chmod(tmp, 0o755)
    started = []

    def start(args, log, env=None):
        p = bench.start(args, tmp + "/" + log, env)
        started.append(p)
        return p

    try:
        redis_port, http_port = bench.free_port(), bench.free_port()
        chain_ports = [bench.free_port(), bench.free_port()]
        start(["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", tmp], "redis.log")
        bench.wait_port(redis_port)
        start([bindir + "/steemauth-devchain", "serve", "--block-interval", "0", "--latency-ms", str(LATENCY_MS)]
              + [a for p in chain_ports for a in ("--listen", "127.0.0.1:%d" % p)], "devchain.log")
        for p in chain_ports: bench.wait_port(p)
        nodes = ["http://127.0.0.1:%d" % p for p in chain_ports]
        accounts = {n: "follows%dk" % (n // 1000) for n in SIZES}
        for n, account in accounts.items():
            bench.rpc(nodes[0], "devchain.seed", {"account": account, "follows": n, "stale": n // 10, "never": n // 100})
        env = dict(os.environ, STEEMAUTH_ACCOUNT="steemauth.demo", STEEMAUTH_SECRET="ab" * 32, STEEMAUTH_NODES=",".join(nodes),
                   STEEMAUTH_REDIS_URL="redis://127.0.0.1:%d/0" % redis_port, STEEMAUTH_TEMPLATES=bench.ROOT + "/templates",
                   STEEMAUTH_LOG_LEVEL="info", STEEMAUTH_PUBLIC_ORIGIN="http://127.0.0.1:%d" % http_port)
        watcher = start([bindir + "/steemauth-watcher"], "watcher.log", env)

        def pool_and_nginx(extra, name):
            sock = tmp + "/pool-%s.sock" % name
            pool = start([bindir + "/steemauth-web"], "pool-%s.log" % name, dict(env, STEEMAUTH_LISTEN="unix:" + sock, STEEMAUTH_SOCKET_MODE="666", **extra))
            bench.wait_socket(sock)
            conf = open(bench.ROOT + "/nginx/loopback.conf.template").read()
            conf = conf.replace("__DIR__", tmp).replace("__PORT__", str(http_port)).replace("__UPSTREAM__", "unix:" + sock)
            conf = conf.replace("__CODES_RATE__", "1r/s").replace("__CODES_LIMIT__", "").replace("__SIGNIN_RATE__", "1r/s").replace("__SIGNIN_LIMIT__", "")
            open(tmp + "/nginx-%s.conf" % name, "w").write(conf)
            nginx = start(["nginx", "-c", tmp + "/nginx-%s.conf" % name, "-p", tmp, "-e", tmp + "/nginx-error.log"], "nginx-%s.out" % name)
            bench.wait_port(http_port)
            return pool, nginx

        base = "http://127.0.0.1:%d" % http_port
        pool, nginx = pool_and_nginx({"STEEMAUTH_WORKERS": "2"}, "timed")
        # One session per account, bound through the real watcher (the account pays the memo).
        cookies = {}
        for n, account in accounts.items():
            cookie = bench.cookie_of(bench.http(base + "/")[1])
            page = bench.http(base + "/steemauth", headers={"Cookie": "__Host-steemauth=" + cookie})[2].decode()
            memo = re.search(r'id="memo">([a-z2-7-]+)<', page).group(1)
            bench.rpc(nodes[0], "devchain.push_transfer", {"from": account, "to": "steemauth.demo", "amount": "0.001 STEEM", "memo": memo, "now": True})
            for _ in range(600):
                status, headers, body = bench.http(base + "/steemauth/status", headers={"Cookie": "__Host-steemauth=" + cookie})
                if b'"bound":true' in body: cookie = bench.cookie_of(headers) or cookie; break
                time.sleep(0.05)
            else:
                raise SystemExit("first report: %s never bound" % account)
            cookies[n] = cookie

        def forget(account):
            subprocess.run(["redis-cli", "-p", str(redis_port), "DEL"] + ["steemauth:%s:%s" % (k, account) for k in ("r", "rh", "rz", "rf", "rc")],
                           check=True, capture_output=True)

        def first_report(n):
            forget(accounts[n])
            t0 = time.monotonic()
            status, _, body = bench.http(base + "/steemauth", headers={"Cookie": "__Host-steemauth=" + cookies[n]})
            elapsed = time.monotonic() - t0
            if status != 200 or b"@" + accounts[n].encode() not in body:
                raise SystemExit("first report of %d follows: HTTP %d %r" % (n, status, body[:300]))
            return elapsed

        times, fetch_ms = {}, {}
        timed_log = tmp + "/pool-timed.log"
        for n in SIZES:
            print("  first report, %d follows, %d rounds…" % (n, ROUNDS), flush=True)
            times[n] = []
            for _ in range(ROUNDS):
                # The worker that computed the last report is being replaced: wait for a full pool.
                for _ in range(200):
                    if len(bench.children(pool.pid)) == 2: break
                    time.sleep(0.02)
                times[n].append(first_report(n))
                # The pool's own figure: from the claim to the report built (the chain part), before
                # the page is rendered, compressed and cached.
                logged = re.findall(r"following=%d .*?ms=(\d+)" % n, open(timed_log).read())
                fetch_ms.setdefault(n, []).append(int(logged[-1]) if logged else float("nan"))
        bench.stop(nginx, bench.signal.SIGQUIT); bench.stop(pool)

        # The worker's peak for the largest report: one worker that stays after it.
        pool, nginx = pool_and_nginx({"STEEMAUTH_WORKERS": "1", "STEEMAUTH_RECYCLE_AFTER_REPORT": "false"}, "memory")
        bench.http(base + "/ping")
        worker = bench.children(pool.pid)[0]
        before = bench.memory(worker)
        peak_pss, done = [before[1]], threading.Event()

        def sample():
            while not done.is_set():
                try: peak_pss[0] = max(peak_pss[0], bench.memory(worker)[1])
                except Exception: pass
                time.sleep(0.005)
        sampler = threading.Thread(target=sample)
        sampler.start()
        try: first_report(SIZES[-1])
        finally:
            done.set(); sampler.join()
        peak_rss, after = vm_hwm_mib(worker), bench.memory(worker)
        bench.stop(nginx, bench.signal.SIGQUIT); bench.stop(pool)
        bench.stop(watcher)

        print("\nfirst report at %d ms a round trip (two nodes); floor = (ceil(follows/1000) + 1) round trips x %d ms:" % (LATENCY_MS, LATENCY_MS))
        print("| follows | floor s | first report s (median of %d; range) | x floor | of which the chain part s | target |" % ROUNDS)
        print("|---|---|---|---|---|---|")
        misses = []
        for n in SIZES:
            t = bench.median(times[n])
            ratio = t / floor_seconds(n)
            ok = ratio <= TARGET
            if not ok: misses.append("first report, %d follows" % n)
            print("| %d | %.2f | %.3f (%.3f–%.3f) | %.2f | %.3f | %s (<= %.1fx) |" % (n, floor_seconds(n), t, min(times[n]), max(times[n]), ratio,
                                                                                bench.median(fetch_ms[n]) / 1000, "met" if ok else "MISSED", TARGET))
        print("worker memory for the %d-follow report (MiB): before RSS %.1f PSS %.1f; peak RSS (VmHWM) %.1f, peak PSS (sampled) %.1f; after RSS %.1f PSS %.1f"
              % (SIZES[-1], before[0], before[1], peak_rss, peak_pss[0], after[0], after[1]))
        return misses
    finally:
        for p in reversed(started):
            try: bench.stop(p, bench.signal.SIGKILL)
            except Exception: pass
        shutil.rmtree(tmp, ignore_errors=True)
