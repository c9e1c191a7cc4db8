"""The price of protecting an app: `/steemauth/verify` (what nginx auth_request asks the pool on every
request to a protected app) against its C ceiling, then one static page four ways in one run.

- verify: a bound session's GET /steemauth/verify, behind the pool's own location directives,
  against `fcgi-ceiling verify` behind the same ones: a libfcgi responder that checks the cookie's
  keyed BLAKE2b (libb2), makes one EVALSHA of a script with the reads of the pool's verify (watcher
  lag, the session's fields, a bound session's proof fields) and answers 200 with the account in
  X-SteemAuth-Account, or 401, with the pool's headers. Target: >= 0.95x, p99 within 1.2x.
- the page: a small static page of an app (nginx serving a file on another port, proxied to, as
  the recipe proxies to an app), reached through
    the shipped recipe (nginx/protect-app.conf: its auth_request subrequest asks the pool),
    the same recipe with its subrequest passed to the C verify responder instead,
    the same location without auth_request (the unprotected page),
    the shipped recipe with its optional microcache on (what the cache buys).
  Each is measured BENCH_ROUNDS times, the order rotating every round; the ratios are the medians of
  the rounds'.

Run alone: BENCH_ONLY=verify bench/run (BENCH_WORKERS, BENCH_SECONDS and BENCH_ROUNDS apply).
"""
import os, re, shutil, signal, subprocess, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KEY_HEX = "ab" * 32
PREFIX = "steemauth:"
VERIFY_ROW, VERIFY_CEILING = "/steemauth/verify (bound)", "C verify ceiling"
VERIFY_TARGET = 0.95
PAGE_ROWS = ("page, protected by the pool (shipped recipe)", "page, protected by the C verify responder",
             "page, unprotected", "page, protected by the pool, microcache on")
# The page as an app serves it: about the size of a small app page.
APP_PAGE = "<!doctype html><title>members</title>" + "<p>" + "members only " * 150 + "</p>\n"


def recipe_locations(recipe):
    """The recipe's verify location and its protected location, as text."""
    verify = re.search(r"^location = /_steemauth_verify \{\n.*?^\}\n", recipe, re.M | re.S).group(0)
    protected = re.search(r"^location /members/ \{\n.*?^\}\n", recipe, re.M | re.S).group(0)
    return verify, protected


def microcache_on(verify_location):
    """The verify location with the recipe's commented microcache lines switched on."""
    lines = ("fastcgi_cache steemauth_verify;", "fastcgi_cache_key $http_cookie;", "fastcgi_cache_valid 200 1s;",
             "fastcgi_ignore_headers Cache-Control Expires;")
    for line in lines:
        assert "    # " + line + "\n" in verify_location, "the recipe offers " + line
        verify_location = verify_location.replace("    # " + line + "\n", "    " + line + "\n")
    return verify_location


def nginx_conf(bench, tmp, http_port, pool_sock, ceiling_sock, app_port):
    """The bench's usual nginx (the loopback template), with the C verify ceiling behind the pool's
    directives, the app's static page on its own port, and the shipped recipe included as a site
    includes it; the C-protected, unprotected and microcached pages are copies of its locations."""
    conf = open(ROOT + "/nginx/loopback.conf.template").read()
    conf = conf.replace("__DIR__", tmp).replace("__PORT__", str(http_port)).replace("__UPSTREAM__", "unix:" + pool_sock)
    conf = conf.replace("__CODES_RATE__", "1r/s").replace("__CODES_LIMIT__", "").replace("__SIGNIN_RATE__", "1r/s").replace("__SIGNIN_LIMIT__", "")
    conf = conf.replace("access_log %s/nginx-access.log;" % tmp, "access_log off;")
    pool_location = re.search(r"\n        location / \{\n(.*?)\n        \}\n", conf, re.S).group(1)
    like_pool = "        location = /ceiling/verify {\n%s\n        }\n" % pool_location.replace(
        "fastcgi_pass steemauth_pool;", "fastcgi_pass unix:%s;" % ceiling_sock)
    recipe = open(ROOT + "/nginx/protect-app.conf").read().replace("http://127.0.0.1:3000", "http://127.0.0.1:%d" % app_port)
    open(tmp + "/protect-app.conf", "w").write(recipe)
    shutil.copy("/etc/nginx/fastcgi_params", tmp + "/fastcgi_params")
    verify, protected = recipe_locations(recipe)
    c_verify = verify.replace("/_steemauth_verify", "/_c_verify").replace("fastcgi_pass steemauth_pool;", "fastcgi_pass unix:%s;" % ceiling_sock)
    c_protected = protected.replace("/members/", "/c-members/").replace("/_steemauth_verify", "/_c_verify")
    cached_verify = microcache_on(verify.replace("/_steemauth_verify", "/_cached_verify"))
    cached_protected = protected.replace("/members/", "/cached-members/").replace("/_steemauth_verify", "/_cached_verify")
    open_page = "\n".join(l for l in protected.replace("/members/", "/open-members/").split("\n")
                          if not re.match(r"\s*(auth_request|auth_request_set|error_page|#)", l))
    cache_path = re.search(r"#   (fastcgi_cache_path \S+ .*;)", recipe).group(1)
    cache_path = re.sub(r"fastcgi_cache_path \S+", "fastcgi_cache_path %s/verify-cache" % tmp, cache_path)
    for sub in ("members", "c-members", "open-members", "cached-members"):
        os.makedirs(tmp + "/app/" + sub, exist_ok=True)
        open(tmp + "/app/%s/page.html" % sub, "w").write(APP_PAGE)
    app_server = "    server {\n        listen 127.0.0.1:%d;\n        access_log off;\n        root %s/app;\n    }\n" % (app_port, tmp)
    conf = conf.replace("http {\n", "http {\n    %s\n" % cache_path, 1)
    conf = conf.replace("    upstream steemauth_pool", app_server + "    upstream steemauth_pool", 1)
    conf = conf.replace("        location = /return200", like_pool + "        include %s/protect-app.conf;\n" % tmp
                        + c_verify + c_protected + cached_verify + cached_protected + open_page + "\n        location = /return200")
    return conf


def bind_session(bench, base, node):
    """A session bound by the real watcher (a paid memo), its id rotated as the next page does."""
    cookie = bench.cookie_of(bench.http(base + "/")[1])
    page = bench.http(base + "/steemauth", headers={"Cookie": "__Host-steemauth=" + cookie})[2].decode()
    memo = re.search(r'id="memo">([a-z2-7-]+)<', page).group(1)
    bench.rpc(node, "devchain.push_transfer", {"from": "alice", "to": "steemauth.demo", "amount": "0.001 STEEM", "memo": memo, "now": True})
    for _ in range(400):
        status, headers, body = bench.http(base + "/steemauth/status", headers={"Cookie": "__Host-steemauth=" + cookie})
        if b'"bound":true' in body: return bench.cookie_of(headers) or cookie
        time.sleep(0.05)
    raise SystemExit("the session was never bound (see the watcher's log)")


def run(bench, bindir):
    """Measures verify and the protected page at each of the bench's worker counts; prints its table
    and returns the rows that missed their target at 2 workers."""
    tmp = tempfile.mkdtemp(prefix="steemauth-bench-verify-")
    os.chmod(tmp, 0o755)      # nginx's workers (another user) reach the unix sockets in it
    ceiling_bin = tmp + "/fcgi-ceiling"
    subprocess.run(["gcc", "-O2", "-o", ceiling_bin, ROOT + "/bench/fcgi-ceiling.c", "-lfcgi", "-lhiredis", "-lb2"], check=True)
    started = []

    def start(args, log, env=None):
        p = bench.start(args, tmp + "/" + log, env); started.append(p); return p

    redis_port, chain_port = bench.free_port(), bench.free_port()
    start(["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", tmp], "redis.log")
    bench.wait_port(redis_port)
    node = "http://127.0.0.1:%d" % chain_port
    start([bindir + "/steemauth-devchain", "serve", "--listen", "127.0.0.1:%d" % chain_port, "--block-interval", "0"], "devchain.log")
    bench.wait_port(chain_port)
    bench.rpc(node, "devchain.seed", {"account": "alice", "follows": 50, "stale": 5, "never": 1})
    env = dict(os.environ, STEEMAUTH_ACCOUNT="steemauth.demo", STEEMAUTH_SECRET=KEY_HEX, STEEMAUTH_NODES=node,
               STEEMAUTH_REDIS_URL="redis://127.0.0.1:%d/0" % redis_port, STEEMAUTH_TEMPLATES=ROOT + "/templates",
               STEEMAUTH_LOG_LEVEL="warning")
    start([bindir + "/steemauth-watcher"], "watcher.log", env)
    rows, ratios, misses = {}, {}, []
    try:
        for workers in bench.WORKER_COUNTS:
            http_port, app_port = bench.free_port(), bench.free_port()
            env["STEEMAUTH_PUBLIC_ORIGIN"] = "http://127.0.0.1:%d" % http_port
            pool_sock, ceiling_sock = tmp + "/pool-%d.sock" % workers, tmp + "/verify-%d.sock" % workers
            pool = start([bindir + "/steemauth-web"], "pool-%d.log" % workers,
                         dict(env, STEEMAUTH_WORKERS=str(workers), STEEMAUTH_LISTEN="unix:" + pool_sock, STEEMAUTH_SOCKET_MODE="666"))
            ceiling = start([ceiling_bin, "verify", ceiling_sock, str(workers), str(redis_port), PREFIX, KEY_HEX], "ceiling-verify-%d.log" % workers)
            bench.wait_socket(pool_sock); bench.wait_socket(ceiling_sock)
            open(tmp + "/nginx.conf", "w").write(nginx_conf(bench, tmp, http_port, pool_sock, ceiling_sock, app_port))
            nginx = start(["nginx", "-c", tmp + "/nginx.conf", "-p", tmp, "-e", tmp + "/nginx-error.log"], "nginx.out")
            bench.wait_port(http_port)
            base = "http://127.0.0.1:%d" % http_port
            bound = bind_session(bench, base, node)
            targets = {VERIFY_ROW: "/steemauth/verify", VERIFY_CEILING: "/ceiling/verify",
                       PAGE_ROWS[0]: "/members/page.html", PAGE_ROWS[1]: "/c-members/page.html",
                       PAGE_ROWS[2]: "/open-members/page.html", PAGE_ROWS[3]: "/cached-members/page.html"}
            # Each answers as its row says before it is timed: the account for the bound cookie, a
            # refusal (or the login's redirect) without it.
            jar = {"Cookie": "__Host-steemauth=" + bound}
            for name in (VERIFY_ROW, VERIFY_CEILING):
                status, headers, _ = bench.http(base + targets[name], headers=jar)
                assert status == 200 and headers.get("X-SteemAuth-Account") == "alice", "%s: %d %r" % (name, status, headers)
                assert bench.http(base + targets[name])[0] == 401, name
            for name in PAGE_ROWS:
                status, _, body = bench.http(base + targets[name], headers=jar)
                assert status == 200 and body.decode() == APP_PAGE, "%s: %d" % (name, status)
                assert bench.http(base + targets[name])[0] == (200 if name == PAGE_ROWS[2] else 303), name
            runs = {}

            def measure(name):
                r = bench.wrk(base + targets[name], bound)
                runs.setdefault(name, []).append(r)
                return r

            print("  %d workers: %s against the %s, %d rounds…" % (workers, VERIFY_ROW, VERIFY_CEILING, bench.ROUNDS), flush=True)
            for round in range(bench.ROUNDS):
                if round % 2 == 0: c, r = measure(VERIFY_CEILING), measure(VERIFY_ROW)
                else: r, c = measure(VERIFY_ROW), measure(VERIFY_CEILING)
                ratios.setdefault((workers, VERIFY_ROW), []).append((r["rps"] / c["rps"], r["p99"] / c["p99"]))
            print("    rounds: %s" % " ".join("%.2f" % a for a, _ in ratios[(workers, VERIFY_ROW)]), flush=True)
            print("  %d workers: the page four ways, %d rounds…" % (workers, bench.ROUNDS), flush=True)
            for round in range(bench.ROUNDS):
                order = PAGE_ROWS[round % 4:] + PAGE_ROWS[:round % 4]
                got = {name: measure(name) for name in order}
                for name in PAGE_ROWS:
                    for against in PAGE_ROWS:
                        ratios.setdefault((workers, name, against), []).append(got[name]["rps"] / got[against]["rps"])
            # The rounds in the order they ran: the pool's protection against the C responder's.
            print("    rounds (the pool's protection against the C responder's): %s"
                  % " ".join("%.2f" % a for a in ratios[(workers, PAGE_ROWS[0], PAGE_ROWS[1])]), flush=True)
            for name, rs in runs.items():
                rows[(workers, name)] = {k: bench.median([r[k] for r in rs]) for k in ("rps", "p50", "p99")}
                rows[(workers, name)]["errors"] = sum(r["errors"] for r in rs)
            for child in bench.children(ceiling.pid): os.kill(child, signal.SIGKILL)   # before the parent, or they are orphaned
            bench.stop(nginx, signal.SIGQUIT); bench.stop(ceiling); bench.stop(pool)
    finally:
        for p in reversed(started):
            try: bench.stop(p, signal.SIGKILL)
            except Exception: pass
        shutil.rmtree(tmp, ignore_errors=True)

    print("\nprotected apps — verify against its C ceiling, and one static page four ways (wrk -t2 -c32 -d%ds, %d rounds)\n"
          % (bench.SECONDS, bench.ROUNDS))
    print("| workers | route | req/s | x its reference | p50 ms | p99 ms | p99 x reference's | errors | target (2 workers) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for workers in bench.WORKER_COUNTS:
        c = rows[(workers, VERIFY_CEILING)]
        print("| %d | %s | %.0f | | %.2f | %.2f | | %d | |" % (workers, VERIFY_CEILING, c["rps"], c["p50"], c["p99"], c["errors"]))
        r, pairs = rows[(workers, VERIFY_ROW)], ratios[(workers, VERIFY_ROW)]
        rx, px = bench.median([a for a, _ in pairs]), bench.median([b for _, b in pairs])
        verdict = ""
        if workers == 2:
            ok = rx >= VERIFY_TARGET and px <= 1.2 and r["errors"] == 0
            verdict = ("met" if ok else "MISSED") + " (>= %.2fx, p99 <= 1.2x)" % VERIFY_TARGET
            if not ok: misses.append(VERIFY_ROW)
        print("| %d | %s | %.0f | %.2f (%.2f–%.2f) of the %s | %.2f | %.2f | %.2f | %d | %s |"
              % (workers, VERIFY_ROW, r["rps"], rx, min(a for a, _ in pairs), max(a for a, _ in pairs), VERIFY_CEILING,
                 r["p50"], r["p99"], px, r["errors"], verdict))
        unprotected = PAGE_ROWS[2]
        for name in PAGE_ROWS:
            r = rows[(workers, name)]
            against = unprotected if name != PAGE_ROWS[3] else PAGE_ROWS[0]
            shown = "" if name == unprotected else "%.2f of %s" % (bench.median(ratios[(workers, name, against)]),
                                                                 "the unprotected page" if against == unprotected else "the shipped recipe's, uncached")
            print("| %d | %s | %.0f | %s | %.2f | %.2f | | %d | |" % (workers, name, r["rps"], shown, r["p50"], r["p99"], r["errors"]))
        print("| %d | the pool's protection against the C verify responder's | %.2f | | | | | | |"
              % (workers, bench.median(ratios[(workers, PAGE_ROWS[0], PAGE_ROWS[1])])))
        print("| %d | microcache on, against the unprotected page | %.2f | | | | | | |"
              % (workers, bench.median(ratios[(workers, PAGE_ROWS[3], unprotected)])))
    return misses
