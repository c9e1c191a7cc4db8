/* The C ceilings of steemauth's routes: what a libfcgi responder doing the same work makes behind the
   same nginx, pre-forked like the pool. Each process opens its own Redis connection after fork.
     fcgi-ceiling status SOCKET PROCESSES REDIS_PORT PREFIX KEYHEX
       finds the steemauth cookie, checks its keyed BLAKE2b (libb2), makes one EVALSHA of a script with
       a status lookup's reads (watcher lag, session hash, code TTL; the deny list only for an id with
       no session, as the pool's script) and prints the small JSON with the challenge, as
       /steemauth/status does for an unbound session.
     fcgi-ceiling page SOCKET PROCESSES REDIS_PORT KEY
       one GET of a cached page's bytes, written as the response (gzip when KEY holds a gzip body).
     fcgi-ceiling ask SOCKET PROCESSES REDIS_PORT PREFIX KEYHEX PAGEFILE
       the ask page of an unbound session: the cookie check, one EVALSHA of the status reads that also
       refreshes the session's TTL (as the page does), then the page's bytes as the pool sent them
       (PAGEFILE, captured by bench/run for this session; gzip when it is gzip).
     fcgi-ceiling verify SOCKET PROCESSES REDIS_PORT PREFIX KEYHEX
       /steemauth/verify, what nginx auth_request asks on every request to a protected app: the cookie
       check, one EVALSHA of a script with verify's reads (the session's state and account; the
       deny list only for an id with no session), then
       200 with the account in X-SteemAuth-Account, or 401, with the pool's headers and no body.
     fcgi-ceiling home SOCKET PROCESSES REDIS_PORT PREFIX KEYHEX
       GET / for a new visitor: 16 bytes from getentropy, their hex signed with keyed BLAKE2b, and the
       redirect to /steemauth with that Set-Cookie and the pool's headers (no Redis I/O, as the pool).
   Each closes a connection as the pool does: at once when the request was read to its end. */
#include <blake2.h>
#include <fcgiapp.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *SCRIPT =
    "local p, id = ARGV[1], ARGV[2] "
    "local w = redis.call('HMGET', ARGV[3], 'behind', 'updated') "
    "local s = redis.call('HMGET', p .. 's:' .. id, 'st', 'code', 'acct', 'rot', 'blk', 'tx', 'btime', 'cexp', 'method', 'key') "
    "if not s[1] then "
    "  if redis.call('EXISTS', p .. 'd:' .. id) == 1 then return {'denied'} end "
    "  return {'none'} "
    "end "
    "local ttl = redis.call('TTL', p .. 'c:' .. s[2]) "
    "return {'unbound', s[2], ttl, w[1] or '', s[8] or ''}";

/* The headers the pool sends with its HTML pages (after Content-Type and Content-Encoding): a
   responder doing the same work sends them too. */
static const char *PAGE_HEADERS =
    "Cache-Control: no-store\r\nVary: Accept-Encoding, Cookie\r\n"
    "Content-Security-Policy: default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'\r\n"
    "X-Content-Type-Options: nosniff\r\nReferrer-Policy: same-origin\r\nX-Frame-Options: DENY\r\n";

/* The ask page's script: the same reads, and the session's TTL refreshed (ARGV[4] seconds). */
static const char *ASK_SCRIPT =
    "local p, id = ARGV[1], ARGV[2] "
    "local w = redis.call('HMGET', ARGV[3], 'behind', 'updated') "
    "local s = redis.call('HMGET', p .. 's:' .. id, 'st', 'code', 'acct', 'rot', 'blk', 'tx', 'btime', 'cexp', 'method', 'key', 'oidc') "
    "if not s[1] then "
    "  if redis.call('EXISTS', p .. 'd:' .. id) == 1 then return {'denied'} end "
    "  return {'none'} "
    "end "
    "local ttl = redis.call('TTL', p .. 'c:' .. s[2]) "
    "redis.call('EXPIRE', p .. 's:' .. id, tonumber(ARGV[4])) "
    "return {'unbound', s[2], ttl, w[1] or '', s[8] or ''}";

/* verify's script: the reads of the pool's verify script (it never rotates): the session's state
   and account, and the deny list only for an id without a session. */
static const char *VERIFY_SCRIPT =
    "local p, id = ARGV[1], ARGV[2] "
    "local s = redis.call('HMGET', p .. 's:' .. id, 'st', 'acct') "
    "if not s[1] then "
    "  if redis.call('EXISTS', p .. 'd:' .. id) == 1 then return {'denied'} end "
    "  return {'none'} "
    "end "
    "if s[1] == 'u' then return {'unbound'} end "
    "return {'bound', s[2]}";

static int hexval(char c) { return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1; }

/* The 32-hex id of a valid `__Host-steemauth=<id>-<mac>` cookie, or 0. */
static int cookie_id(const char *cookie, const unsigned char *key, size_t keylen, char id[33]) {
    if (!cookie) return 0;
    const char *v = strstr(cookie, "__Host-steemauth=");
    if (!v) return 0;
    v += sizeof "__Host-steemauth=" - 1;
    if (strlen(v) < 97 || v[32] != '-') return 0;
    unsigned char mac[32], given[32];
    for (int i = 0; i < 32; i++) {
        int hi = hexval(v[33 + 2 * i]), lo = hexval(v[34 + 2 * i]);
        if (hi < 0 || lo < 0) return 0;
        given[i] = (unsigned char)(hi << 4 | lo);
    }
    blake2b(mac, v, key, 32, 32, keylen);
    unsigned char diff = 0;
    for (int i = 0; i < 32; i++) diff |= mac[i] ^ given[i];
    if (diff) return 0;
    memcpy(id, v, 32); id[32] = 0;
    return 1;
}

int main(int argc, char **argv) {
    if (argc < 6) return 2;
    int ask_mode = strcmp(argv[1], "ask") == 0, home_mode = strcmp(argv[1], "home") == 0, verify_mode = strcmp(argv[1], "verify") == 0;
    int status_mode = strcmp(argv[1], "status") == 0 || ask_mode;
    char *page = NULL; long page_len = 0;
    if (ask_mode) {
        FILE *f = argc > 7 ? fopen(argv[7], "rb") : NULL;
        if (!f) return 2;
        fseek(f, 0, SEEK_END); page_len = ftell(f); fseek(f, 0, SEEK_SET);
        page = malloc(page_len);
        if (fread(page, 1, page_len, f) != (size_t)page_len) return 2;
        fclose(f);
    }
    int page_gz = page_len > 2 && (unsigned char)page[0] == 0x1f && (unsigned char)page[1] == 0x8b;
    FCGX_Init();
    int fd = FCGX_OpenSocket(argv[2], 511);
    if (fd < 0) return 1;
    if (argv[2][0] == '/') chmod(argv[2], 0666);
    unsigned char key[64]; size_t keylen = 0;
    if (status_mode || home_mode || verify_mode) for (const char *k = argv[6]; k[0] && k[1] && keylen < 64; k += 2) key[keylen++] = (unsigned char)(hexval(k[0]) << 4 | hexval(k[1]));
    for (int i = 0; i < atoi(argv[3]); i++) {
        if (fork() != 0) continue;
        redisContext *r = redisConnect("127.0.0.1", atoi(argv[4]));
        /* The best hiredis can do, as the pool does: keep the reader's buffer between replies
           (by default it is freed above 16 KB and regrown for every large page). */
        if (r && !r->err) r->reader->maxbuf = 0;
        if (!r || r->err) _exit(1);
        char sha[41] = "";
        if (status_mode || verify_mode) {
            redisReply *load = redisCommand(r, "SCRIPT LOAD %s", verify_mode ? VERIFY_SCRIPT : ask_mode ? ASK_SCRIPT : SCRIPT);
            snprintf(sha, sizeof sha, "%s", load->str);
            freeReplyObject(load);
        }
        char watcher[128];
        snprintf(watcher, sizeof watcher, "%sw:steem", argv[5]);
        FCGX_Request q;
        FCGX_InitRequest(&q, fd, 0);
        while (FCGX_Accept_r(&q) >= 0) {
            char id[33];
            if (home_mode) {
                if (!cookie_id(FCGX_GetParam("HTTP_COOKIE", q.envp), key, keylen, id)) {
                    static const char hex[] = "0123456789abcdef";
                    unsigned char raw[16], mac[32];
                    char value[32 + 1 + 64 + 1], head[512];
                    if (getentropy(raw, sizeof raw) != 0) _exit(1);
                    for (int i = 0; i < 16; i++) { value[2 * i] = hex[raw[i] >> 4]; value[2 * i + 1] = hex[raw[i] & 15]; }
                    blake2b(mac, value, key, 32, 32, keylen);
                    value[32] = '-';
                    for (int i = 0; i < 32; i++) { value[33 + 2 * i] = hex[mac[i] >> 4]; value[34 + 2 * i] = hex[mac[i] & 15]; }
                    value[97] = 0;
                    int h = snprintf(head, sizeof head, "Status: 302 Found\r\nContent-Length: 0\r\nCache-Control: no-store\r\nVary: Cookie\r\n"
                                     "Location: /steemauth\r\nSet-Cookie: __Host-steemauth=%s; Path=/; Max-Age=2592000; HttpOnly; SameSite=Lax; Secure\r\n\r\n", value);
                    FCGX_PutStr(head, h, q.out);
                } else {
                    FCGX_PutS("Status: 302 Found\r\nContent-Length: 0\r\nCache-Control: no-store\r\nVary: Cookie\r\nLocation: /steemauth\r\n\r\n", q.out);
                }
            } else if (verify_mode) {
                static const char REFUSED[] = "Status: 401 Unauthorized\r\nCache-Control: no-store\r\nVary: Cookie\r\nContent-Length: 0\r\n\r\n";
                if (!cookie_id(FCGX_GetParam("HTTP_COOKIE", q.envp), key, keylen, id)) {
                    FCGX_PutStr(REFUSED, sizeof REFUSED - 1, q.out);
                } else {
                    redisReply *v = redisCommand(r, "EVALSHA %s 0 %s %s", sha, argv[5], id);
                    if (!v || v->type != REDIS_REPLY_ARRAY || v->elements < 1) {
                        FCGX_PutS("Status: 503 Service Unavailable\r\nCache-Control: no-store\r\nVary: Cookie\r\nContent-Length: 0\r\n\r\n", q.out);
                    } else if (v->elements == 2 && strcmp(v->element[0]->str, "bound") == 0) {
                        char head[256];
                        int h = snprintf(head, sizeof head, "Status: 200 OK\r\nCache-Control: no-store\r\nVary: Cookie\r\n"
                                         "X-SteemAuth-Account: %s\r\nContent-Length: 0\r\n\r\n", v->element[1]->str);
                        FCGX_PutStr(head, h, q.out);
                    } else {
                        FCGX_PutStr(REFUSED, sizeof REFUSED - 1, q.out);
                    }
                    if (v) freeReplyObject(v);
                }
            } else if (ask_mode && cookie_id(FCGX_GetParam("HTTP_COOKIE", q.envp), key, keylen, id)) {
                redisReply *v = redisCommand(r, "EVALSHA %s 0 %s %s %s %s", sha, argv[5], id, watcher, "86400");
                int ok = v && v->type == REDIS_REPLY_ARRAY && v->elements == 5;
                if (v) freeReplyObject(v);
                char head[640];
                int h = snprintf(head, sizeof head, "Status: %s\r\nContent-Type: text/html; charset=utf-8\r\n%s%sContent-Length: %ld\r\n\r\n",
                                 ok ? "200 OK" : "502 Bad Gateway", page_gz ? "Content-Encoding: gzip\r\n" : "", PAGE_HEADERS, ok ? page_len : 0);
                FCGX_PutStr(head, h, q.out);
                if (ok) FCGX_PutStr(page, (int)page_len, q.out);
            } else if (status_mode) {
                if (!cookie_id(FCGX_GetParam("HTTP_COOKIE", q.envp), key, keylen, id)) {
                    FCGX_PutS("Status: 401 Unauthorized\r\nContent-Type: application/json\r\nContent-Length: 22\r\n\r\n{\"error\":\"no session\"}", q.out);
                } else {
                    redisReply *v = redisCommand(r, "EVALSHA %s 0 %s %s %s", sha, argv[5], id, watcher);
                    char body[512], head[256];
                    int n = 0;
                    if (v && v->type == REDIS_REPLY_ARRAY && v->elements == 5) {
                        long long ttl = v->element[2]->integer, cexp = atoll(v->element[4]->str ? v->element[4]->str : "0");
                        time_t t = (time_t)cexp; struct tm tm; gmtime_r(&t, &tm);
                        char when[32]; strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
                        const char *host = FCGX_GetParam("HTTP_HOST", q.envp);
                        n = snprintf(body, sizeof body,
                                     "{\"bound\":false,\"account\":null,\"memo\":\"%s\",\"expires_in\":%lld,\"behind_seconds\":%s,"
                                     "\"challenge\":\"steemauth login to %s\\ncode: %s\\nexpires: %s\"}",
                                     v->element[1]->str, ttl, v->element[3]->len ? v->element[3]->str : "null", host ? host : "",
                                     v->element[1]->str, when);
                    }
                    if (v) freeReplyObject(v);
                    int h = snprintf(head, sizeof head, "Status: 200 OK\r\nContent-Type: application/json\r\nCache-Control: no-store\r\n"
                                     "Vary: Cookie\r\nX-Content-Type-Options: nosniff\r\nContent-Length: %d\r\n\r\n", n);
                    FCGX_PutStr(head, h, q.out);
                    FCGX_PutStr(body, n, q.out);
                }
            } else {
                redisReply *v = redisCommand(r, "GET %s", argv[5]);
                /* No page (the key expired): a 502, which wrk counts, never a fast empty 200. */
                int ok = v && v->type == REDIS_REPLY_STRING && v->len > 0;
                int gz = ok && v->len > 2 && (unsigned char)v->str[0] == 0x1f && (unsigned char)v->str[1] == 0x8b;
                char head[640];
                int h = snprintf(head, sizeof head, "Status: %s\r\nContent-Type: text/html; charset=utf-8\r\n%s%sContent-Length: %zu\r\n\r\n",
                                 ok ? "200 OK" : "502 Bad Gateway", gz ? "Content-Encoding: gzip\r\n" : "", PAGE_HEADERS, ok ? v->len : 0);
                FCGX_PutStr(head, h, q.out);
                if (ok) FCGX_PutStr(v->str, (int)v->len, q.out);
                if (v) freeReplyObject(v);
            }
            /* The pool's close: a request read to its end (stdin's end seen) is closed at once,
               without libfcgi's lingering close (shutdown, wait for nginx to close, read). */
            if (FCGX_HasSeenEOF(q.in) || FCGX_GetChar(q.in) == EOF) FCGX_Detach(&q);
            FCGX_Finish_r(&q);
        }
        _exit(0);
    }
    while (wait(NULL) > 0) {}
    return 0;
}
