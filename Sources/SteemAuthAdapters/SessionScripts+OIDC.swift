/// The OpenID Connect provider's scripts: an authorization parked in the visitor's session until a
/// proof binds it (a first one, or a fresh one beside a login), its one-time codes and the access
/// tokens a login gives. Keys as in `SessionScripts`, plus `P oc:<hash>` codes, `P ocu:<hash>` used
/// codes and `P ot:<hash>` access tokens.
extension SessionScripts {
    /// KEYS: d:<id>, s:<id>. Where an OpenID Connect authorization finds the session, reading only:
    /// {'denied'} | {'none'} | {'unbound'} | {'bound', account, method, boundAt, level}.
    static let oidcLook = LuaScript(name: "oidc_look", source: """
    if redis.call('EXISTS', KEYS[1]) == 1 then return {'denied'} end
    local s = redis.call('HMGET', KEYS[2], 'st', 'acct', 'method', 'bound_at', 'lvl')
    if s[1] == 'b' then return {'bound', s[2], s[3] or 'transfer', s[4] or '0', s[5] or ''} end
    if s[1] then return {'unbound'} end
    return {'none'}
    """)

    /// The fields of an authorization parked in a session: the request (JSON), the hash of its
    /// browser's flow cookie, the binding generation and level it waits for, its expiry; and the
    /// fresh-proof code (`rcode`) a logged-in session gets beside its login when one is asked for.
    private static let parkedFields = "'oidc', 'oflow', 'ogen', 'olvl', 'oexp', 'rcode', 'rcexp'"

    /// KEYS: d:<id>, s:<id>, c:<newCode>, cg:<newCode>.
    /// ARGV: prefix, id, newCode, now, unboundTTL, codeTTL, pending, flowHash, fresh ('1' or ''),
    /// level, expiresAt. Parks an authorization until a proof binds: a new session when there is none
    /// (a new browser), the unbound one as it is, or, for a logged-in one asked for a fresh proof, a
    /// code of its own beside the login, which stays valid for everything else meanwhile.
    /// {'denied'} (a dead id: the caller starts a new session) | {'parked'}.
    static let oidcPark = LuaScript(name: "oidc_park", source: newSessionFunction + "\n" + """
    local p, id, code, now = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
    local cttl = tonumber(ARGV[6])
    if redis.call('EXISTS', KEYS[1]) == 1 then return {'denied'} end
    local skey = KEYS[2]
    local s = redis.call('HMGET', skey, 'st', 'gen', 'rcode', 'oflow')
    local gen = 1
    if not s[1] then newSession(skey, KEYS[3], KEYS[4], id, code, now, tonumber(ARGV[5]), cttl)
    elseif s[1] == 'b' and ARGV[9] == '1' then
      gen = (tonumber(s[2]) or 1) + 1
      local live = s[3] and redis.call('GET', p .. 'c:' .. s[3]) == id
      -- Another browser flow (another site's navigation) parks here: the code shown for the first
      -- request must not answer the second one, so it is replaced.
      if live and s[4] ~= ARGV[8] then redis.call('DEL', p .. 'c:' .. s[3]) live = false end
      if not live then
        redis.call('HSET', skey, 'rcode', code, 'rcexp', tonumber(now) + cttl)
        redis.call('HDEL', skey, 'tries')
        redis.call('SET', KEYS[3], id, 'EX', cttl)
      end
    end
    redis.call('HSET', skey, 'oidc', ARGV[7], 'oflow', ARGV[8], 'ogen', gen, 'olvl', ARGV[10], 'oexp', ARGV[11])
    return {'parked'}
    """)

    /// KEYS: s:<id>, c:<newCode>. ARGV: prefix, id, flowHash, newCode, now, codeTTL. The page view of a bound session with a
    /// parked authorization: {'none'} | {'expired', pending} (dropped) | {'elsewhere', pending} (this
    /// browser did not start it: left alone) | {'fresh', account, code, codeExpiresAt, pending, level} (it
    /// waits for a fresh proof: the code for it, renewed when it expired) | {'ok', account, method,
    /// boundAt, level, pending} (taken: exactly one page view continues it).
    static let oidcTake = LuaScript(name: "oidc_take", source: """
    local p, id, now, cttl = ARGV[1], ARGV[2], tonumber(ARGV[5]), tonumber(ARGV[6])
    local skey = KEYS[1]
    local s = redis.call('HMGET', skey, 'st', 'acct', 'method', 'bound_at', 'lvl', 'gen', \(parkedFields))
    if s[1] ~= 'b' or not s[7] then return {'none'} end
    local function drop()
      redis.call('HDEL', skey, \(parkedFields))
      if s[12] and redis.call('GET', p .. 'c:' .. s[12]) == id then redis.call('DEL', p .. 'c:' .. s[12]) end
    end
    if (tonumber(s[11]) or 0) <= now then drop() return {'expired', s[7]} end
    if s[8] ~= ARGV[3] then return {'elsewhere', s[7]} end
    local lvl = s[5] or (s[3] == 'signature' and 'posting' or 'active')
    if (tonumber(s[6]) or 1) < (tonumber(s[9]) or 1) or (s[10] == 'active' and lvl ~= 'active') then
      local code, cexp = s[12], tonumber(s[13])
      if not (code and redis.call('GET', p .. 'c:' .. code) == id) then
        code = ARGV[4]
        cexp = now + cttl
        redis.call('HSET', skey, 'rcode', code, 'rcexp', cexp)
        redis.call('HDEL', skey, 'tries')
        redis.call('SET', KEYS[2], id, 'EX', cttl)
      end
      return {'fresh', s[2], code, cexp, s[7], s[10] or ''}
    end
    drop()
    return {'ok', s[2], s[3] or 'transfer', s[4] or '0', lvl, s[7]}
    """)

    /// KEYS: s:<id>. ARGV: prefix, id, flowHash. The visitor cancels the authorization parked in the
    /// session (the one their browser started): it and its fresh-proof code are dropped.
    /// {'cancelled', pending} | {'none'}.
    static let oidcCancel = LuaScript(name: "oidc_cancel", source: """
    local p, id = ARGV[1], ARGV[2]
    local skey = KEYS[1]
    local s = redis.call('HMGET', skey, 'oidc', 'oflow', 'rcode')
    if not s[1] or s[2] ~= ARGV[3] then return {'none'} end
    redis.call('HDEL', skey, \(parkedFields))
    if s[3] and redis.call('GET', p .. 'c:' .. s[3]) == id then redis.call('DEL', p .. 'c:' .. s[3]) end
    return {'cancelled', s[1]}
    """)

    /// KEYS: d:<id>, s:<id>. ARGV: prefix. The fresh-proof page's poll: {'none'} (no session) |
    /// {'done', account} (no fresh proof is waited for now) | {'waiting', account, code, codeTTL,
    /// codeExpiresAt}. Reads only.
    static let oidcFreshState = LuaScript(name: "oidc_fresh_state", source: """
    local p = ARGV[1]
    if redis.call('EXISTS', KEYS[1]) == 1 then return {'none'} end
    local s = redis.call('HMGET', KEYS[2], 'st', 'acct', 'rcode', 'rcexp')
    if s[1] ~= 'b' then return {'none'} end
    if not s[3] then return {'done', s[2]} end
    return {'waiting', s[2], s[3], redis.call('TTL', p .. 'c:' .. s[3]), s[4] or '0'}
    """)

    /// KEYS: s:<session>, ot:<tokenHash>, ocu:<codeHash>. ARGV: prefix, tokenHash, grant, ttl,
    /// account. Keeps an access token for `ttl` seconds, only while the login it came from lives,
    /// listed in that session (field `ot`) so that its logout or revocation ends it; remembers which
    /// token the code gave. {'stored'}, or {'ended'} when the login ended.
    static let oidcToken = LuaScript(name: "oidc_token", source: """
    local p, h, ttl = ARGV[1], ARGV[2], tonumber(ARGV[4])
    local skey = KEYS[1]
    local s = redis.call('HMGET', skey, 'st', 'acct', 'ot')
    -- the login that gave the code must still be this account's (a fresh proof may have changed it)
    if s[1] ~= 'b' or s[2] ~= ARGV[5] then return {'ended'} end
    redis.call('SET', KEYS[2], ARGV[3], 'EX', ttl)
    redis.call('SET', KEYS[3], h, 'EX', ttl, 'XX')
    local kept = {}
    for old in string.gmatch(s[3] or '', '%x+') do
      if redis.call('EXISTS', p .. 'ot:' .. old) == 1 then kept[#kept + 1] = old end
    end
    -- at most 32 live tokens a login: the oldest ends first (each token request reads the list)
    while #kept >= 32 do
      redis.call('DEL', p .. 'ot:' .. table.remove(kept, 1))
    end
    kept[#kept + 1] = h
    redis.call('HSET', skey, 'ot', table.concat(kept, ' '))
    return {'stored'}
    """)

    /// KEYS: oc:<hash>, ocu:<hash>. ARGV: tokenPrefix, usedTTL. Redeems a one-time authorization code:
    /// {'ok', grant} once; then {'replayed'} (and the access token issued for it is revoked, as
    /// RFC 6749 §4.1.2 advises); {'unknown'} for a code never issued or expired.
    static let oidcRedeem = LuaScript(name: "oidc_redeem", source: """
    local grant = redis.call('GET', KEYS[1])
    if grant then
      redis.call('DEL', KEYS[1])
      redis.call('SET', KEYS[2], '-', 'EX', tonumber(ARGV[2]))
      return {'ok', grant}
    end
    local used = redis.call('GET', KEYS[2])
    if used then
      if used ~= '-' then redis.call('DEL', ARGV[1] .. used) end
      return {'replayed'}
    end
    return {'unknown'}
    """)
}
