/// The Lua scripts that make every session transition atomic, one round trip each.
/// Keys (all under the configured prefix P): `P s:<id>` session hash, `P c:<memo>` code -> id,
/// `P d:<id>` deny list, `P a:<account>` set of ids bound to an account, `P w:<chain>` watcher state,
/// `P cg:<memo>` -> "id expiresAt": the code's grace, kept for the unbound session's lifetime past
/// the code's expiry, so a transfer made in time (by its block's timestamp) binds however late the
/// watcher reads it. The visitor-facing expiry stays `c:`'s TTL.
enum SessionScripts {
    /// ARGV: id, newID, newMemo, now, mode(page|pagegz|status|verify|report)
    /// The prefix, the watcher's key and the lifetimes are written into its source:
    /// every session request runs this script, and Redis turns each argument into a Lua string, so a
    /// store's constants are not sent with each call.
    /// (newID and newMemo may be empty: when the script would need one it returns {'again'} having
    /// changed nothing, and the caller runs it again with fresh values — rotation and a new code are
    /// rare, and most requests skip drawing random bytes)
    /// Returns {outcome, memo|account, expiresIn, behind, block|codeExpiresAt, tx, time, cached, method, key}
    /// (status mode: a bound session's reply ends after `behind`)
    /// (report mode returns the cached report's JSON. Page modes return no page: a value of 80 KB
    /// costs Redis four times as much through Lua as through a plain GET, so the page is fetched by
    /// GET, pipelined with this script — see SessionStore.viewPage. `pagegz` is page mode for a
    /// client that takes gzip.)
    /// (`report` mode never creates a session; page mode also returns the cached report's rendered
    /// HTML, report mode its JSON.)
    static func view(prefix: String, watcherKey: String, lifetimes: SessionLifetimes) -> LuaScript {
        LuaScript(name: "view", source: newSessionFunction + "\n" + """
    local p, wkey = \(LuaScript.literal(prefix)), \(LuaScript.literal(watcherKey))
    local uttl, cttl, dttl = \(lifetimes.unbound), \(lifetimes.code), \(lifetimes.deny)
    local id, newid, newcode, now, mode = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
    local page = mode == 'page' or mode == 'pagegz'
    local behind = redis.call('HGET', wkey, 'behind') or ''
    local skey = p .. 's:' .. id
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
      if redis.call('EXISTS', p .. 'd:' .. id) == 1 then return {'denied', '', -1, behind} end
      if not page then return {'none', '', -1, behind} end
      if newcode == '' then return {'again'} end
      local cexp = newSession(p, id, newcode, now, uttl, cttl)
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
        redis.call('SET', p .. 'c:' .. code, id, 'EX', cttl)
        redis.call('SET', p .. 'cg:' .. code, id .. ' ' .. cexp, 'EX', cttl + uttl)
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
      local nkey = p .. 's:' .. newid
      redis.call('RENAME', skey, nkey)
      redis.call('HSET', nkey, 'rot', '1')
      redis.call('SET', p .. 'd:' .. id, '1', 'EX', dttl)
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

    /// A new unbound session with its first login code: what the first view of the ask page and an
    /// OpenID Connect authorization from a new browser both create.
    static let newSessionFunction = """
    local function newSession(p, id, code, now, uttl, cttl)
      local cexp = tonumber(now) + cttl
      redis.call('HSET', p .. 's:' .. id, 'st', 'u', 'code', code, 'created', now, 'cexp', cexp)
      redis.call('EXPIRE', p .. 's:' .. id, uttl)
      redis.call('SET', p .. 'c:' .. code, id, 'EX', cttl)
      redis.call('SET', p .. 'cg:' .. code, id .. ' ' .. cexp, 'EX', cttl + uttl)
      return cexp
    end
    """

    /// ARGV: prefix, id. Where a sign-in starts: {'none'} | {'bound'} | {'expired'} |
    /// {'unbound', code, codeExpiresAt, attempts, requiredLevel}. A logged-in session asked for a fresh
    /// proof by an authorization signs its fresh-proof code (`rcode`) as an unbound one signs its code.
    /// Reads only.
    static let signInState = LuaScript(name: "signin_state", source: """
    local p, id = ARGV[1], ARGV[2]
    if redis.call('EXISTS', p .. 'd:' .. id) == 1 then return {'none'} end
    local s = redis.call('HMGET', p .. 's:' .. id, 'st', 'code', 'cexp', 'tries', 'rcode', 'rcexp', 'olvl')
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

    /// ARGV: prefix, id, denyTTL. Deletes the session, its codes and its access tokens, and deny-lists
    /// the id only when there was a session to end, and only for the life the session had left (at
    /// most denyTTL): past that the id could only start a new unbound session. So a freshly minted
    /// cookie costs Redis nothing, and a logout never turns a two-hour session into a longer-lived key.
    /// Returns {'ended', account or ''} or {'none'}.
    static let logout = LuaScript(name: "logout", source: endTokensFunction + "\n" + """
    local p, id, dttl = ARGV[1], ARGV[2], tonumber(ARGV[3])
    local skey = p .. 's:' .. id
    local s = redis.call('HMGET', skey, 'st', 'code', 'acct', 'ot', 'rcode')
    if not s[1] then return {'none'} end
    local left = redis.call('TTL', skey)
    if s[2] then redis.call('DEL', p .. 'c:' .. s[2], p .. 'cg:' .. s[2]) end
    if s[5] then redis.call('DEL', p .. 'c:' .. s[5]) end
    if s[3] then redis.call('SREM', p .. 'a:' .. s[3], id) end
    endTokens(p, s[4])
    redis.call('DEL', skey)
    if left > 0 then redis.call('SET', p .. 'd:' .. id, '1', 'EX', math.min(left, dttl)) end
    return {'ended', s[3] or ''}
    """)

    /// ARGV: prefix, id. Counts a sign-in attempt that is about to reach the node, only for a session
    /// that still waits for a proof: unbound, or bound with a live fresh-proof code (an HINCRBY alone
    /// would recreate a deleted session's hash with no TTL). Returns the count so far, or -1 when
    /// there is no such session.
    static let countSignInAttempt = LuaScript(name: "signin_attempt", source: """
    local p, id = ARGV[1], ARGV[2]
    local skey = p .. 's:' .. id
    local s = redis.call('HMGET', skey, 'st', 'rcode')
    if not s[1] then return -1 end
    if s[1] ~= 'u' and (not s[2] or redis.call('GET', p .. 'c:' .. s[2]) ~= id) then return -1 end
    return redis.call('HINCRBY', skey, 'tries', 1)
    """)

    /// ARGV: prefix, account, denyTTL. Deletes every session bound to the account with the access
    /// tokens their logins gave, and deny-lists their ids (after a compromise or a mistaken login).
    /// Returns how many were live.
    static let revoke = LuaScript(name: "revoke", source: endTokensFunction + "\n" + """
    local p, acct, dttl = ARGV[1], ARGV[2], tonumber(ARGV[3])
    local ids = redis.call('SMEMBERS', p .. 'a:' .. acct)
    local live = 0
    for _, id in ipairs(ids) do
      endTokens(p, redis.call('HGET', p .. 's:' .. id, 'ot'))
      live = live + redis.call('DEL', p .. 's:' .. id)
      redis.call('SET', p .. 'd:' .. id, '1', 'EX', dttl)
    end
    redis.call('DEL', p .. 'a:' .. acct, p .. 'r:' .. acct, p .. 'rh:' .. acct, p .. 'rz:' .. acct)
    return live
    """)

    /// ARGV: prefix, account. Drops the cached report, at most once a minute per account.
    static let refresh = LuaScript(name: "refresh", source: """
    local p, acct = ARGV[1], ARGV[2]
    if redis.call('SET', p .. 'rr:' .. acct, '1', 'NX', 'EX', 60) then
      redis.call('DEL', p .. 'r:' .. acct, p .. 'rh:' .. acct, p .. 'rz:' .. acct)
      return 1
    end
    return 0
    """)

    /// ARGV: prefix, account, token, milliseconds. The report as cached (its JSON, HTML and compressed
    /// HTML) when another request cached it since this one read the session; else minus the
    /// milliseconds left while a failed computation is remembered (the nodes are not asked again);
    /// else 1 when the claim is now this token's, 0 while another request holds it.
    static let claimReport = LuaScript(name: "claimReport", source: """
    local p, acct = ARGV[1], ARGV[2]
    local cached = redis.call('MGET', p .. 'r:' .. acct, p .. 'rh:' .. acct, p .. 'rz:' .. acct)
    if cached[1] and cached[2] and cached[3] then return cached end
    local failed = redis.call('PTTL', p .. 'rf:' .. acct)
    if failed > 0 then return -failed end
    if redis.call('SET', p .. 'rc:' .. acct, ARGV[3], 'NX', 'PX', ARGV[4]) then return 1 end
    return 0
    """)

    /// ARGV: prefix, account, token. Deletes the report's computation claim if it is still this token's.
    static let releaseReportClaim = LuaScript(name: "releaseReportClaim", source: """
    local key = ARGV[1] .. 'rc:' .. ARGV[2]
    if redis.call('GET', key) == ARGV[3] then return redis.call('DEL', key) end
    return 0
    """)

    /// The claim rule, shared by the single-claim and the batch scripts. First valid claim wins:
    /// the code is consumed and a bound session is never overwritten, except by the fresh proof an
    /// authorization asked of it (its `rcode`): that proof is a new login, and its id rotates again
    /// (`rot` dropped). `gen` counts a session's bindings; `lvl` is the proof's level (a transfer: active).
    /// A code past its visible expiry still binds a transfer whose block time (`btunix`, unix seconds)
    /// is at or before that expiry (its `cg:` key).
    private static let claimFunction = """
    local function claim(p, memo, acct, blk, tx, btime, bttl, now, method, key, lvl, btunix)
      local ckey, gkey = p .. 'c:' .. memo, p .. 'cg:' .. memo
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

    /// ARGV: prefix, memo, account, block, tx, blockTime, boundTTL, now[, method, publicKey, level, blockUnixTime].
    /// The watcher's transfers and the sign-in's signatures bind through this same rule.
    static let claim = LuaScript(name: "claim", source: claimFunction + "\n" + """
    return claim(ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], tonumber(ARGV[7]), ARGV[8], ARGV[9], ARGV[10], ARGV[11], ARGV[12])
    """)

    /// The watcher's whole batch, atomically: refused unless this watcher holds the lease (so a
    /// standby that took over can never be overwritten by a stale leader), then claims in chain
    /// order, the published lag, the checkpoint, and the outcome/rejection counters.
    /// ARGV: prefix, checkpointKey, next, stateKey, boundTTL, now, head, irreversible, processed,
    /// headTime, behind, leaseKey, leaseOwner, leaseMs, lastBlockID, n, then n (reason, count) pairs,
    /// then 6 per claim: memo, account, block, tx, blockTime, blockUnixTime. Applying a batch also
    /// renews the lease. The checkpoint keeps the id of the last block applied (`<checkpoint>:id`):
    /// the next block's `previous` must name it, across restarts too.
    static let applyBatch = LuaScript(name: "apply_batch", source: claimFunction + "\n" + """
    local p, bttl, now = ARGV[1], tonumber(ARGV[5]), ARGV[6]
    if redis.call('GET', ARGV[12]) ~= ARGV[13] then return redis.error_reply('LEASE not held') end
    redis.call('PEXPIRE', ARGV[12], ARGV[14])
    local npairs = tonumber(ARGV[16])
    for i = 17, 16 + 2 * npairs, 2 do
      redis.call('HINCRBY', ARGV[4] .. ':rejections', ARGV[i], tonumber(ARGV[i + 1]))
    end
    local out = {}
    for i = 17 + 2 * npairs, #ARGV, 6 do
      local outcome = claim(p, ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4], bttl, now, nil, nil, nil, ARGV[i + 5])
      redis.call('HINCRBY', ARGV[4] .. ':claims', outcome, 1)
      out[#out + 1] = outcome
    end
    redis.call('HSET', ARGV[4], 'head', ARGV[7], 'irreversible', ARGV[8], 'processed', ARGV[9],
               'head_time', ARGV[10], 'behind', ARGV[11], 'updated', now)
    -- an empty next holds the checkpoint until a replica has the batch (Sentinel: moveCheckpoint)
    if ARGV[3] ~= '' then
      redis.call('SET', ARGV[2], ARGV[3])
      if ARGV[15] ~= '' then redis.call('SET', ARGV[2] .. ':id', ARGV[15]) end
    end
    return out
    """)

    /// ARGV: checkpointKey, next, leaseKey, owner, lastBlockID. Moves the checkpoint, only for the lease holder.
    static let moveCheckpoint = LuaScript(name: "move_checkpoint", source: """
    if redis.call('GET', ARGV[3]) ~= ARGV[4] then return redis.error_reply('LEASE not held') end
    redis.call('SET', ARGV[1], ARGV[2])
    if ARGV[5] and ARGV[5] ~= '' then redis.call('SET', ARGV[1] .. ':id', ARGV[5]) end
    return 1
    """)

    /// ARGV: leaseKey, owner, ttlMs. Takes the free lease or renews our own; 1 if we hold it now.
    static let lease = LuaScript(name: "lease", source: """
    local holder = redis.call('GET', ARGV[1])
    if holder == ARGV[2] then redis.call('PEXPIRE', ARGV[1], ARGV[3]) return 1 end
    if not holder then redis.call('SET', ARGV[1], ARGV[2], 'PX', ARGV[3]) return 1 end
    return 0
    """)

    /// ARGV: leaseKey, owner. Gives the lease up, only if we hold it.
    static let releaseLease = LuaScript(name: "release_lease", source: """
    if redis.call('GET', ARGV[1]) == ARGV[2] then return redis.call('DEL', ARGV[1]) end
    return 0
    """)
}
