"""The watcher's catch-up (bench/run imports it; BENCH_ONLY=catchup runs it alone).

A watcher started cold on a chain it has not seen: every block carries 5 transfers, 1% of them
valid claims (a code paid once); it is timed from its start until its checkpoint passes the head.

- At 0 ms a round trip, BENCH_BLOCKS (20,000) blocks: the watcher's own speed (JSON decoding, the
  scan, the Lua that binds). Target: at least 2,000 blocks/s.
- At 50 ms a round trip (`serve --latency-ms 50`, a node across a continent) through a gateway that
  refuses batches over 50 calls (`--batch-limit 50`, jussi's default), a day of blocks (28,800):
  the watcher that was down a day. Target: current again in under 30 s. The floor is the round
  trips: 576 requests of 50 blocks, 4 in flight at once (BlockSource.requestsInFlight), 7.2 s;
  one at a time they would be 28.8 s before any block is processed.
"""
import os, subprocess, tempfile, time, shutil

DAY = 28800
LATENCY_MS = 50
BATCH_LIMIT = 50
IN_FLIGHT = 4
TARGET_RATE = 2000
TARGET_DAY_SECONDS = 30


def run(bench, bindir):
    """Prints the catch-up rows; returns the targets missed."""
    tmp = tempfile.mkdtemp(prefix="steemauth-bench-catchup-")
    started = []

    def start(args, log, env=None):
        p = bench.start(args, tmp + "/" + log, env)
        started.append(p)
        return p

    try:
        redis_port = bench.free_port()
        start(["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", tmp], "redis.log")
        bench.wait_port(redis_port)
        rows = []
        for name, blocks, latency in (("0 ms", bench.BLOCKS, 0), ("50 ms", DAY, LATENCY_MS)):
            rows.append((name, latency) + catch_up(bench, bindir, start, tmp, redis_port, name.replace(" ", ""), blocks, latency))
    finally:
        for p in reversed(started): bench.stop(p)
        shutil.rmtree(tmp, ignore_errors=True)

    misses = []
    print()
    for name, latency, blocks, claims, bound, elapsed, cpu in rows:
        rate = blocks / elapsed
        if latency == 0:
            met = rate >= TARGET_RATE and bound == claims
            target = "target >= %d blocks/s" % TARGET_RATE
        else:
            met = elapsed < TARGET_DAY_SECONDS and bound == claims
            requests = -(-blocks // BATCH_LIMIT)
            target = "round trips alone: %.1f s at %d in flight, %.1f s one at a time — target < %d s" % (
                requests * latency / 1000 / IN_FLIGHT, IN_FLIGHT, requests * latency / 1000, TARGET_DAY_SECONDS)
        if not met: misses.append("watcher catch-up at " + name)
        print("watcher catch-up at %s a round trip: %d blocks (%d transfers, %d valid claims, %d bound) in %.1f s = %.0f blocks/s, %.1f CPU s — %s: %s"
              % (name, blocks, blocks * 5, claims, bound, elapsed, rate, cpu, target, "met" if met else "MISSED"))
    return misses


def catch_up(bench, bindir, start, tmp, redis_port, tag, blocks, latency):
    """Builds a `blocks`-block chain on a devchain answering `latency` ms late, then times a watcher
    from the first of those blocks to the head. Returns (blocks, claims, bound, seconds, CPU s)."""
    port = bench.free_port()
    start([bindir + "/steemauth-devchain", "serve", "--listen", "127.0.0.1:%d" % port, "--block-interval", "0",
           "--batch-limit", str(BATCH_LIMIT), "--latency-ms", str(latency)], "devchain-%s.log" % tag)
    bench.wait_port(port)
    node = "http://127.0.0.1:%d" % port
    prefix = "bench%s:" % tag
    print("catch-up at %d ms: building a %d-block chain…" % (latency, blocks), flush=True)
    claims = blocks * 5 // 100
    per = max(1, blocks // claims)
    cmds, memos = [], []
    for i in range(claims):
        sid, memo = "%032x" % (i + 1), "bench%011d" % i
        memo = "".join("abcdefghijklmnopqrstuvwxyz234567"[int(c)] for c in memo[5:]) + "abcde"
        memos.append(memo)
        cmds.append("HSET %ss:%s st u code %s" % (prefix, sid, memo))
        cmds.append("SET %sc:%s %s EX 86400" % (prefix, memo, sid))
    subprocess.run(["redis-cli", "-p", str(redis_port)], input="\n".join(cmds) + "\n", text=True, capture_output=True, check=True)
    start_block = bench.rpc(node, "condenser_api.get_dynamic_global_properties", [])["head_block_number"] + 1
    # devchain.* control calls are never delayed: the chain builds at loopback speed.
    for memo in memos:
        bench.rpc(node, "devchain.generate", {"blocks": per - 1, "transfers_per_block": 5})
        bench.rpc(node, "devchain.push_transfer", {"from": "payer", "to": "steemauth.demo", "amount": "0.001 STEEM", "memo": memo, "now": True})
    head = bench.rpc(node, "condenser_api.get_dynamic_global_properties", [])["head_block_number"]
    env = dict(os.environ, STEEMAUTH_ACCOUNT="steemauth.demo", STEEMAUTH_SECRET="ab" * 32, STEEMAUTH_NODES=node,
               STEEMAUTH_REDIS_URL="redis://127.0.0.1:%d/0" % redis_port, STEEMAUTH_REDIS_PREFIX=prefix,
               STEEMAUTH_TEMPLATES=bench.ROOT + "/templates",
               STEEMAUTH_LOG_LEVEL="warning", STEEMAUTH_RPC_BATCH=str(BATCH_LIMIT))
    check = ["redis-cli", "-p", str(redis_port), "GET", prefix + "w:steem:next"]
    t0 = time.time()
    watcher = start([bindir + "/steemauth-watcher", "--from-block", str(start_block)], "watcher-%s.log" % tag, env)
    while int(subprocess.run(check, capture_output=True, text=True).stdout.strip() or 0) <= head:
        time.sleep(0.02)
        if time.time() - t0 > 600: raise SystemExit("catch-up at %d ms did not finish in 10 minutes" % latency)
    elapsed = time.time() - t0
    cpu = bench.cpu_seconds(watcher.pid)
    bound = int(subprocess.run(["redis-cli", "-p", str(redis_port), "HGET", prefix + "w:steem:claims", "bound"],
                               capture_output=True, text=True).stdout.strip() or 0)
    bench.stop(watcher)
    return head - start_block + 1, claims, bound, elapsed, cpu
