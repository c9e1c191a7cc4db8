import SteemAuthCore

/// The Lua scripts that make every session transition atomic, one round trip each.
/// Keys (all under the configured prefix P): `P s:<id>` session hash, `P c:<memo>` code -> id,
/// `P d:<id>` deny list, `P a:<account>` set of ids bound to an account, `P w:<chain>` watcher state,
/// `P cg:<memo>` -> "id expiresAt": the code's grace, kept for the unbound session's lifetime past
/// the code's expiry, so a transfer made in time (by its block's timestamp) binds however late the
/// watcher reads it. The visitor-facing expiry stays `c:`'s TTL.
///
/// Each script takes the keys it touches in KEYS, derived by the caller, except those named by what
/// it reads (a session's code `c:`, its account's `a:` and `r:`, a login's access tokens `ot:`): no
/// caller knows them before the script reads them, and they are built from the prefix. Each replies
/// with a tag first (`'bound'`, `'none'`, …), read by `TaggedReply`.
enum SessionScripts {
    /// KEYS: s:<id>, d:<id>, the watcher's state[, s:<newID>, c:<newMemo>, cg:<newMemo>] (the last
    /// three only with fresh values: most requests have none).
    /// ARGV: id, newID, newMemo, now, mode(page|pagegz|status|verify|report)
    /// The prefix and the lifetimes are written into its source:
    /// every session request runs this script, and Redis turns each argument into a Lua string, so a
    /// store's constants are not sent with each call.
    /// (newID and newMemo may be empty: when the script would need one it returns {'again'} having
    /// changed nothing, and the caller runs it again with fresh values — rotation and a new code are
    /// rare, and most requests skip drawing random bytes)
    /// Returns {outcome, memo|account, expiresIn, behind, block|codeExpiresAt, tx, time, cached, method, key}
    /// (status mode: a bound session's reply ends after `behind`)
    /// (report mode returns the cached report's JSON. Page modes return no page: a value of 80 KB
    /// costs Redis four times as much through Lua as through a plain GET, so the page is fetched by
    /// GET, pipelined with this script — see RedisSessionStore.viewPage. `pagegz` is page mode for a
    /// client that takes gzip.)
    /// (`report` mode never creates a session; page mode also returns the cached report's rendered
    /// HTML, report mode its JSON.)
    static func view(prefix: String, lifetimes: SessionLifetimes) -> LuaScript {
        LuaScript(name: "view", source: newSessionFunction + "\n" + """
    local p = \(LuaScript.literal(prefix))
    local uttl, cttl, dttl = \(lifetimes.unbound), \(lifetimes.code), \(lifetimes.deny)
    local skey, dkey, wkey = KEYS[1], KEYS[2], KEYS[3]
    local id, newid, newcode, now, mode = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
    local page = mode == 'page' or mode == 'pagegz'
    local behind = redis.call('HGET', wkey, 'behind') or ''
    -- What every mode needs, and a waiting authorization where a page shows it; the proof only
    -- where it is shown (a hash field costs Redis a scan of the hash: a status poll reads five, not
    -- eleven). One HMGET: each redis.call costs the script a call of its own.
    local s
    if page then s = redis.call('HMGET', skey, 'st', 'code', 'acct', 'rot', 'cexp', 'oidc')
    else s = redis.call('HMGET', skey, 'st', 'code', 'acct', 'rot', 'cexp') end
    if not s[1] then
      -- The deny list is read only for an id without a live session: every script that deny-lists an
      -- id deletes or renames its session in the same step, and only newSession (after this check)
      -- gives an id a session again.
      if redis.call('EXISTS', dkey) == 1 then return {'denied', '', -1, behind} end
      if not page then return {'none', '', -1, behind} end
      if newcode == '' then return {'again'} end
      local cexp = newSession(skey, KEYS[5], KEYS[6], id, newcode, now, uttl, cttl)
      return {'unbound', newcode, cttl, behind, cexp, 'new'}
    end
    if s[1] == 'u' then
      if mode == 'report' or mode == 'verify' then return {'unbound', '', -1, behind} end
      local code = s[2]
      local ttl = redis.call('TTL', p .. 'c:' .. code)
      local cexp = tonumber(s[5])
      if ttl <= 0 then
        if newcode == '' then return {'again'} end   -- the caller sends fresh values only when asked
        code = newcode
        ttl = cttl
        cexp = tonumber(now) + cttl
        redis.call('HSET', skey, 'code', code, 'cexp', cexp)
        redis.call('HDEL', skey, 'tries')      -- a new challenge: sign-in attempts start again
        redis.call('SET', KEYS[5], id, 'EX', cttl)
        redis.call('SET', KEYS[6], id .. ' ' .. cexp, 'EX', cttl + uttl)
      elseif not cexp then
        -- a session from before codes carried their expiry
        cexp = tonumber(now) + ttl
        redis.call('HSET', skey, 'cexp', cexp)
      end
      if page then
        redis.call('EXPIRE', skey, uttl)
        return {'unbound', code, ttl, behind, cexp, '', s[6] or ''}
      end
      return {'unbound', code, ttl, behind, cexp}
    end
    local outcome = 'bound'
    -- block, tx, time, method, key: read before a rotation renames the hash
    local f = mode == 'status' and {} or redis.call('HMGET', skey, 'blk', 'tx', 'btime', 'method', 'key')
    if s[4] ~= '1' and mode ~= 'verify' then
      if newid == '' then return {'again'} end
      -- first request after the watcher bound it: a new id for the new privilege (OWASP)
      local nkey = KEYS[4]
      redis.call('RENAME', skey, nkey)
      redis.call('HSET', nkey, 'rot', '1')
      redis.call('SET', dkey, '1', 'EX', dttl)
      -- added before the old id goes, so the set never empties and keeps its expiry
      redis.call('SADD', p .. 'a:' .. s[3], newid)
      redis.call('SREM', p .. 'a:' .. s[3], id)
      outcome = 'rotated'
    end
    local cached = ''
    if mode == 'report' then cached = redis.call('GET', p .. 'r:' .. s[3]) or '' end
    if mode == 'status' then return {outcome, s[3], -1, behind} end
    return {outcome, s[3], -1, behind, f[1] or '', f[2] or '', f[3] or '', cached, f[4] or '', f[5] or '', page and s[6] or ''}
    """)
    }

    /// What `verify` (nginx `auth_request`, on every request to a protected app) reads: whether the
    /// session is bound, and to whom. It never rotates, re-issues or renews anything, so it reads two
    /// fields, not the view script's five and the watcher's lag.
    /// KEYS: s:<id>, d:<id>. Returns {'bound', account}, {'unbound'}, {'denied'} or {'none'}.
    static let verify = LuaScript(name: "verify", source: """
    local s = redis.call('HMGET', KEYS[1], 'st', 'acct')
    if not s[1] then
      if redis.call('EXISTS', KEYS[2]) == 1 then return {'denied'} end
      return {'none'}
    end
    if s[1] == 'u' then return {'unbound'} end
    return {'bound', s[2]}
    """)

    /// A new unbound session with its first login code: what the first view of the ask page and an
    /// OpenID Connect authorization from a new browser both create.
    /// skey, ckey, gkey: the session's `s:`, and its code's `c:` and `cg:`.
    static let newSessionFunction = """
    local function newSession(skey, ckey, gkey, id, code, now, uttl, cttl)
      local cexp = tonumber(now) + cttl
      redis.call('HSET', skey, 'st', 'u', 'code', code, 'created', now, 'cexp', cexp)
      redis.call('EXPIRE', skey, uttl)
      redis.call('SET', ckey, id, 'EX', cttl)
      redis.call('SET', gkey, id .. ' ' .. cexp, 'EX', cttl + uttl)
      return cexp
    end
    """

    /// KEYS: d:<id>, s:<id>. ARGV: prefix, id. Where a sign-in starts: {'none'} | {'bound'} | {'expired'} |
    /// {'unbound', code, codeExpiresAt, attempts, requiredLevel}. A logged-in session asked for a fresh
    /// proof by an authorization signs its fresh-proof code (`rcode`) as an unbound one signs its code.
    /// Reads only.
    static let signInState = LuaScript(name: "signin_state", source: """
    local p, id = ARGV[1], ARGV[2]
    if redis.call('EXISTS', KEYS[1]) == 1 then return {'none'} end
    local s = redis.call('HMGET', KEYS[2], 'st', 'code', 'cexp', 'tries', 'rcode', 'rcexp', 'olvl')
    if not s[1] then return {'none'} end
    if s[1] ~= 'u' then
      if not s[5] or redis.call('GET', p .. 'c:' .. s[5]) ~= id then return {'bound'} end
      return {'unbound', s[5], s[6] or '0', s[4] or '0', s[7] or ''}
    end
    if not s[2] or redis.call('GET', p .. 'c:' .. s[2]) ~= id then return {'expired'} end
    return {'unbound', s[2], s[3] or '0', s[4] or '0', s[7] or ''}
    """)

    /// The OpenID Connect access tokens a session's login gave (its `ot` field), deleted with it.
    static let endTokensFunction = """
    local function endTokens(p, listed)
      for h in string.gmatch(listed or '', '%x+') do redis.call('DEL', p .. 'ot:' .. h) end
    end
    """

    /// KEYS: s:<id>, d:<id>. ARGV: prefix, id, denyTTL. Deletes the session, its codes and its access tokens, and deny-lists
    /// the id only when there was a session to end, and only for the life the session had left (at
    /// most denyTTL): past that the id could only start a new unbound session. So a freshly minted
    /// cookie costs Redis nothing, and a logout never turns a two-hour session into a longer-lived key.
    /// Returns {'ended', account or ''} or {'none'}.
    static let logout = LuaScript(name: "logout", source: endTokensFunction + "\n" + """
    local p, id, dttl = ARGV[1], ARGV[2], tonumber(ARGV[3])
    local skey = KEYS[1]
    local s = redis.call('HMGET', skey, 'st', 'code', 'acct', 'ot', 'rcode')
    if not s[1] then return {'none'} end
    local left = redis.call('TTL', skey)
    if s[2] then redis.call('DEL', p .. 'c:' .. s[2], p .. 'cg:' .. s[2]) end
    if s[5] then redis.call('DEL', p .. 'c:' .. s[5]) end
    if s[3] then redis.call('SREM', p .. 'a:' .. s[3], id) end
    endTokens(p, s[4])
    redis.call('DEL', skey)
    if left > 0 then redis.call('SET', KEYS[2], '1', 'EX', math.min(left, dttl)) end
    return {'ended', s[3] or ''}
    """)

    /// KEYS: s:<id>. ARGV: prefix, id. Counts a sign-in attempt that is about to reach the node, only
    /// for a session that still waits for a proof: unbound, or bound with a live fresh-proof code (an
    /// HINCRBY alone would recreate a deleted session's hash with no TTL). {'counted', count so far},
    /// or {'none'} when there is no such session.
    static let countSignInAttempt = LuaScript(name: "signin_attempt", source: """
    local p, id = ARGV[1], ARGV[2]
    local skey = KEYS[1]
    local s = redis.call('HMGET', skey, 'st', 'rcode')
    if not s[1] then return {'none'} end
    if s[1] ~= 'u' and (not s[2] or redis.call('GET', p .. 'c:' .. s[2]) ~= id) then return {'none'} end
    return {'counted', redis.call('HINCRBY', skey, 'tries', 1)}
    """)

    /// KEYS: a:, r:, rh:, rz: of the account. ARGV: prefix, denyTTL. Deletes every session bound to
    /// the account with the access tokens their logins gave, and deny-lists their ids (after a
    /// compromise or a mistaken login). {'revoked', how many were live}.
    static let revoke = LuaScript(name: "revoke", source: endTokensFunction + "\n" + """
    local p, dttl = ARGV[1], tonumber(ARGV[2])
    local ids = redis.call('SMEMBERS', KEYS[1])
    local live = 0
    for _, id in ipairs(ids) do
      endTokens(p, redis.call('HGET', p .. 's:' .. id, 'ot'))
      live = live + redis.call('DEL', p .. 's:' .. id)
      redis.call('SET', p .. 'd:' .. id, '1', 'EX', dttl)
    end
    redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4])
    return {'revoked', live}
    """)

    /// KEYS: rr:, r:, rh:, rz: of the account. ARGV: seconds. Drops the cached report, at most once
    /// in `seconds` per account: {'dropped'} | {'recent'}.
    static let refresh = LuaScript(name: "refresh", source: """
    if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then
      redis.call('DEL', KEYS[2], KEYS[3], KEYS[4])
      return {'dropped'}
    end
    return {'recent'}
    """)

    /// KEYS: r:, rh:, rz:, rf:, rc: of the account. ARGV: token, milliseconds. {'cached', json, html,
    /// compressed html} when another request cached the report since this one read the session; else
    /// {'failed', milliseconds left} while a failed computation is remembered (the nodes are not asked
    /// again); else {'claimed'} when the claim is now this token's, {'held'} while another request holds it.
    static let claimReport = LuaScript(name: "claimReport", source: """
    local cached = redis.call('MGET', KEYS[1], KEYS[2], KEYS[3])
    if cached[1] and cached[2] and cached[3] then return {'cached', cached[1], cached[2], cached[3]} end
    local failed = redis.call('PTTL', KEYS[4])
    if failed > 0 then return {'failed', failed} end
    if redis.call('SET', KEYS[5], ARGV[1], 'NX', 'PX', ARGV[2]) then return {'claimed'} end
    return {'held'}
    """)

    /// KEYS: rc: of the account. ARGV: token. Deletes the report's computation claim if it is still
    /// this token's: {'released'} | {'held'} (by another, or by nobody).
    static let releaseReportClaim = LuaScript(name: "releaseReportClaim", source: """
    if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) return {'released'} end
    return {'held'}
    """)

    /// The claim rule, shared by the single-claim and the batch scripts. First valid claim wins:
    /// the code is consumed and a bound session is never overwritten, except by the fresh proof an
    /// authorization asked of it (its `rcode`): that proof is a new login, and its id rotates again
    /// (`rot` dropped). `gen` counts a session's bindings; `lvl` is the proof's level (a transfer: active).
    /// A code past its visible expiry still binds a transfer whose block time (`btunix`, unix seconds)
    /// is at or before that expiry (its `cg:` key). ckey, gkey: the code's `c:` and `cg:`.
    private static let claimFunction = """
    local function claim(p, ckey, gkey, memo, acct, blk, tx, btime, bttl, now, method, key, lvl, btunix)
      local id = redis.call('GET', ckey)
      if not id then
        local grace = redis.call('GET', gkey)
        if not grace or not btunix or btunix == '' then return 'unknown_or_expired_code' end
        local space = string.find(grace, ' ', 1, true)
        if not space or tonumber(btunix) > tonumber(string.sub(grace, space + 1)) then return 'unknown_or_expired_code' end
        id = string.sub(grace, 1, space - 1)
      end
      local skey = p .. 's:' .. id
      local s = redis.call('HMGET', skey, 'st', 'rcode', 'acct', 'code')
      if not s[1] then redis.call('DEL', ckey, gkey) return 'session_gone' end
      if s[1] ~= 'u' and s[2] ~= memo then return 'already_bound' end
      if s[1] == 'b' then
        if s[3] ~= acct then
          -- another account's proof: the login it replaces ends, with the access tokens it gave
          redis.call('SREM', p .. 'a:' .. s[3], id)
          for h in string.gmatch(redis.call('HGET', skey, 'ot') or '', '%x+') do redis.call('DEL', p .. 'ot:' .. h) end
          redis.call('HDEL', skey, 'ot')
        end
        redis.call('HDEL', skey, 'rcode', 'rcexp', 'tries', 'rot')
      end
      redis.call('HSET', skey, 'st', 'b', 'acct', acct, 'blk', blk, 'tx', tx, 'btime', btime, 'bound_at', now,
                 'method', method or 'transfer', 'key', key or '', 'lvl', lvl or 'active')
      redis.call('HINCRBY', skey, 'gen', 1)
      redis.call('HDEL', skey, 'code')
      redis.call('EXPIRE', skey, bttl)
      redis.call('DEL', ckey, gkey)
      -- a late claim of an older code: the session's current code is spent too
      if s[4] and s[4] ~= memo then redis.call('DEL', p .. 'c:' .. s[4], p .. 'cg:' .. s[4]) end
      redis.call('SADD', p .. 'a:' .. acct, id)
      redis.call('EXPIRE', p .. 'a:' .. acct, bttl)   -- the newest login is the longest the set holds
      return 'bound'
    end
    """

    /// KEYS: c:<memo>, cg:<memo>. ARGV: prefix, memo, account, block, tx, blockTime, boundTTL, now[,
    /// method, publicKey, level, blockUnixTime]. {outcome}. The watcher's transfers and the sign-in's
    /// signatures bind through this same rule.
    static let claim = LuaScript(name: "claim", source: claimFunction + "\n" + """
    return {claim(ARGV[1], KEYS[1], KEYS[2], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], tonumber(ARGV[7]), ARGV[8], ARGV[9], ARGV[10],
                  ARGV[11], ARGV[12])}
    """)

    /// Runs `claim` for one proof: its outcome.
    static func claimProof(on redis: RedisConnection, prefix: String, memo: String, account: String, block: Int64, transactionID: String,
                      blockTime: String, boundTTL: Int, now: Int64, method: BindingProof.Method, publicKey: String, level: ProofLevel,
                      blockUnixTime: String) throws(RedisError) -> ClaimOutcome {
        let reply = try redis.evalTagged(claim, keys: [prefix + "c:" + memo, prefix + "cg:" + memo], args: [
            prefix, memo, account, String(block), transactionID, blockTime, String(boundTTL), String(now), method.rawValue, publicKey,
            level.rawValue, blockUnixTime])
        guard let outcome = ClaimOutcome(rawValue: reply.tag) else { throw reply.unexpected }
        return outcome
    }

    /// The watcher's whole batch, atomically: refused unless this watcher holds the lease (so a
    /// standby that took over can never be overwritten by a stale leader), then claims in chain
    /// order, the published lag, the checkpoint, and the outcome/rejection counters.
    /// KEYS: checkpointKey, checkpointKey:id, stateKey, stateKey:claims, stateKey:rejections,
    /// leaseKey, then c:<memo> and cg:<memo> per claim.
    /// ARGV: prefix, next, boundTTL, now, head, irreversible, processed, headTime, behind, leaseOwner,
    /// leaseMs, lastBlockID, expectedNext, n, then n (reason, count) pairs, then 6 per claim: memo,
    /// account, block, tx, blockTime, blockUnixTime. {'applied', outcome per claim…}; with an
    /// expectedNext that is not the stored checkpoint (a Redis restored from an older snapshot),
    /// nothing is written: {'rewound', storedNext, storedID}. Applying a batch also renews
    /// the lease. The checkpoint keeps the id of the last block applied (`<checkpoint>:id`): the next
    /// block's `previous` must name it, across restarts too.
    static let applyBatch = LuaScript(name: "apply_batch", source: claimFunction + "\n" + """
    local p, bttl, now = ARGV[1], tonumber(ARGV[3]), ARGV[4]
    if redis.call('GET', KEYS[6]) ~= ARGV[10] then return redis.error_reply('LEASE not held') end
    redis.call('PEXPIRE', KEYS[6], ARGV[11])
    if ARGV[13] ~= '' and redis.call('GET', KEYS[1]) ~= ARGV[13] then
      return {'rewound', redis.call('GET', KEYS[1]), redis.call('GET', KEYS[2])}
    end
    local npairs = tonumber(ARGV[14])
    for i = 15, 14 + 2 * npairs, 2 do
      redis.call('HINCRBY', KEYS[5], ARGV[i], tonumber(ARGV[i + 1]))
    end
    local out = {'applied'}
    local k = 7
    for i = 15 + 2 * npairs, #ARGV, 6 do
      local outcome = claim(p, KEYS[k], KEYS[k + 1], ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4], bttl, now, nil, nil, nil,
                            ARGV[i + 5])
      k = k + 2
      redis.call('HINCRBY', KEYS[4], outcome, 1)
      out[#out + 1] = outcome
    end
    redis.call('HSET', KEYS[3], 'head', ARGV[5], 'irreversible', ARGV[6], 'processed', ARGV[7],
               'head_time', ARGV[8], 'behind', ARGV[9], 'updated', now)
    -- an empty next holds the checkpoint until a replica has the batch (Sentinel: moveCheckpoint)
    if ARGV[2] ~= '' then
      redis.call('SET', KEYS[1], ARGV[2])
      if ARGV[12] ~= '' then redis.call('SET', KEYS[2], ARGV[12]) end
    end
    return out
    """)

    /// KEYS: checkpointKey, checkpointKey:id, leaseKey. ARGV: next, owner, lastBlockID, expectedNext.
    /// Moves the checkpoint, only for the lease holder: {'moved'}, else the error `LEASE not held`;
    /// {'rewound', storedNext, storedID} when the stored checkpoint is not expectedNext.
    static let moveCheckpoint = LuaScript(name: "move_checkpoint", source: """
    if redis.call('GET', KEYS[3]) ~= ARGV[2] then return redis.error_reply('LEASE not held') end
    if ARGV[4] ~= '' and redis.call('GET', KEYS[1]) ~= ARGV[4] then
      return {'rewound', redis.call('GET', KEYS[1]), redis.call('GET', KEYS[2])}
    end
    redis.call('SET', KEYS[1], ARGV[1])
    if ARGV[3] and ARGV[3] ~= '' then redis.call('SET', KEYS[2], ARGV[3]) end
    return {'moved'}
    """)

    /// KEYS: leaseKey. ARGV: owner, ttlMs. Takes the free lease or renews our own: {'held'} when we
    /// hold it now, else {'other'}.
    static let lease = LuaScript(name: "lease", source: """
    local holder = redis.call('GET', KEYS[1])
    if holder == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return {'held'} end
    if not holder then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return {'held'} end
    return {'other'}
    """)

    /// KEYS: leaseKey. ARGV: owner. Gives the lease up, only if we hold it: {'released'} | {'other'}.
    static let releaseLease = LuaScript(name: "release_lease", source: """
    if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) return {'released'} end
    return {'other'}
    """)
}
