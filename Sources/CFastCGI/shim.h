#ifndef STEEMAUTH_CFASTCGI_SHIM_H
#define STEEMAUTH_CFASTCGI_SHIM_H
#include <fcgiapp.h>
#include <malloc.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <fcntl.h>
#include <errno.h>

// Workers never take a signal asynchronously: an interrupted read or write inside libfcgi would
// cut a request short (and FCGX_ShutdownPending makes libfcgi's reads and writes return 0).
// TERM/INT/QUIT stay blocked and are looked for (sigpending) between requests. Returns 0, or -1.
static inline int steemauth_worker_signals(void) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGQUIT);
    if (sigprocmask(SIG_SETMASK, &set, 0) != 0) return -1;
    signal(SIGPIPE, SIG_IGN);
    signal(SIGCHLD, SIG_DFL);
    signal(SIGUSR1, SIG_DFL);
    signal(SIGHUP, SIG_IGN);   /* the master handles reloads; a worker ignores HUP */
    return 0;
}

// The listen socket blocks in accept (one system call a connection, as a C responder's; the kernel
// wakes one waiting worker per connection), but for at most `timeout_ms`: an idle worker then gets
// EAGAIN, and looks for a stop signal and its master. fcntl is variadic, hence the wrapper.
static inline int steemauth_set_receive_timeout(int fd, int timeout_ms) {
    struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
    return setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
}
static inline int steemauth_set_accept_timeout(int fd, int timeout_ms) {
    int flags = fcntl(fd, F_GETFL, 0);
    if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0) return -1;
    return steemauth_set_receive_timeout(fd, timeout_ms);
}

// A worker on a unix socket accepts the connection itself and hands it to libfcgi, which reads the
// request from it as from a kept connection (FCGX_Accept_r first finishes "the previous request":
// keepConnection keeps that from closing the new one; the request's own begin record then sets it).
// libfcgi's accept would ask for the peer's address and poll the connection (up to 2 s) for its
// first byte; instead the connection gets a receive timeout, which bounds every read of the
// request. Returns as FCGX_Accept_r: 0, or minus errno (-EAGAIN when the accept timed out), or
// STEEMAUTH_CONNECTION_DROPPED. This reaches into FCGX_Request's private fields, as
// steemauth_put_direct does into a stream's: libfcgi's layout, unchanged since 2.4.0.
#define STEEMAUTH_CONNECTION_DROPPED (-100000)
static inline int steemauth_serve_accepted(FCGX_Request *request, int fd, int read_timeout_ms);
static inline int steemauth_accept_unix(FCGX_Request *request, int read_timeout_ms) {
    int fd = accept4(request->listen_sock, 0, 0, SOCK_CLOEXEC);
    if (fd < 0) return -errno;
    return steemauth_serve_accepted(request, fd, read_timeout_ms);
}

// Hands a connection this worker accepted to libfcgi (see steemauth_accept_unix).
static inline int steemauth_serve_accepted(FCGX_Request *request, int fd, int read_timeout_ms) {
    if (steemauth_set_receive_timeout(fd, read_timeout_ms) != 0) { int e = errno; close(fd); return -e; }
    request->ipcFd = fd;
    request->keepConnection = 1;
    // A connection libfcgi gives up on (a bad or cut-short begin, a read timed out) is closed at
    // once (detached: no lingering close for a peer that sends nothing), and libfcgi would then
    // accept the next one its own way, without the timeout: with no listen socket it cannot, and
    // the worker accepts it here instead.
    int listen_fd = request->listen_sock;
    request->listen_sock = -1;
    request->detached = 1;
    int rc = FCGX_Accept_r(request);
    request->listen_sock = listen_fd;
    request->detached = 0;
    return rc == -EBADF ? STEEMAUTH_CONNECTION_DROPPED : rc;
}

#include <arpa/inet.h>
#include <netinet/in.h>

// An address as text in one canonical form (inet_ntop's; an IPv4-mapped IPv6 address as IPv4), so
// an allow-list entry and a peer compare as strings. Returns 0, or -1 when `in` is no address.
static inline int steemauth_canonical_address(const char *in, char *out, size_t out_size) {
    struct in_addr v4;
    struct in6_addr v6;
    if (inet_pton(AF_INET, in, &v4) == 1) return inet_ntop(AF_INET, &v4, out, out_size) ? 0 : -1;
    if (inet_pton(AF_INET6, in, &v6) != 1) return -1;
    if (IN6_IS_ADDR_V4MAPPED(&v6)) return inet_ntop(AF_INET, &v6.s6_addr[12], out, out_size) ? 0 : -1;
    return inet_ntop(AF_INET6, &v6, out, out_size) ? 0 : -1;
}

// Accepts one TCP connection and writes its peer's address to `peer` (the canonical form above;
// empty when it has none). Returns the connection's descriptor, or minus errno.
static inline int steemauth_accept_tcp(int listen_fd, char *peer, size_t peer_size) {
    struct sockaddr_storage sa;
    socklen_t length = sizeof sa;
    int fd = accept4(listen_fd, (struct sockaddr *)&sa, &length, SOCK_CLOEXEC);
    if (fd < 0) return -errno;
    peer[0] = 0;
    if (sa.ss_family == AF_INET) {
        inet_ntop(AF_INET, &((struct sockaddr_in *)&sa)->sin_addr, peer, peer_size);
    } else if (sa.ss_family == AF_INET6) {
        struct in6_addr *a = &((struct sockaddr_in6 *)&sa)->sin6_addr;
        if (IN6_IS_ADDR_V4MAPPED(a)) inet_ntop(AF_INET, &a->s6_addr[12], peer, peer_size);
        else inet_ntop(AF_INET6, a, peer, peer_size);
    }
    return fd;
}

// Closes a refused peer's connection without reading a byte of it: a reset (SO_LINGER 0), so
// nothing it sent is read and no lingering close waits on it.
static inline void steemauth_close_unread(int fd) {
    struct linger hard = { 1, 0 };
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
    close(fd);
}

// Is a stop signal waiting? (one cheap syscall: checked before every 16th accept and after each
// accept that timed out)
static inline int steemauth_stop_pending(void) {
    sigset_t pending;
    if (sigpending(&pending) != 0) return 0;
    return sigismember(&pending, SIGTERM) || sigismember(&pending, SIGINT) || sigismember(&pending, SIGQUIT);
}

// Typed wrapper: prctl is variadic.
static inline int steemauth_die_with_parent(void) {
    return prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0);
}

#include <stdint.h>
#include <sys/mman.h>

// Pool-wide counters: one anonymous shared mapping made by the master before fork, so every
// worker (and its replacements) adds to the same numbers. Relaxed atomics: counts, not ordering.
static inline uint64_t *steemauth_counters_map(size_t slots) {
    void *p = mmap(0, slots * sizeof(uint64_t), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? 0 : (uint64_t *)p;
}
static inline void steemauth_counter_add(uint64_t *base, size_t slot, uint64_t value) {
    __atomic_fetch_add(base + slot, value, __ATOMIC_RELAXED);
}
static inline uint64_t steemauth_counter_load(uint64_t *base, size_t slot) {
    return __atomic_load_n(base + slot, __ATOMIC_RELAXED);
}
#include <fastcgi.h>
#include <sys/uio.h>

// A request's stdout written straight from `bytes` to the connection, as FastCGI records of up to
// 65528 bytes, several to a system call. (FCGX_PutStr copies everything into libfcgi's 8 KB buffer
// and writes one record per 8 KB: an 80 KB page costs one more copy and ten system calls.) What
// libfcgi has buffered is flushed first, so the order stays, and FCGX_Finish_r ends the stream as
// usual. Returns 0; on an error the stream is marked failed as libfcgi marks it, and -1.
static inline int steemauth_put_direct(FCGX_Request *request, const unsigned char *bytes, size_t length) {
    FCGX_Stream *out = request->out;
    if (FCGX_FFlush(out) != 0 || out->isClosed) return -1;
    enum { RECORD_BYTES = 65528, RECORDS_PER_CALL = 8 };
    FCGI_Header headers[RECORDS_PER_CALL];
    struct iovec parts[2 * RECORDS_PER_CALL];
    while (length > 0) {
        int n = 0;
        for (int i = 0; i < RECORDS_PER_CALL && length > 0; i++) {
            size_t chunk = length < RECORD_BYTES ? length : RECORD_BYTES;
            headers[i] = (FCGI_Header){ FCGI_VERSION_1, FCGI_STDOUT, (unsigned char)(request->requestId >> 8),
                                        (unsigned char)request->requestId, (unsigned char)(chunk >> 8), (unsigned char)chunk, 0, 0 };
            parts[n++] = (struct iovec){ &headers[i], FCGI_HEADER_LEN };
            parts[n++] = (struct iovec){ (void *)bytes, chunk };
            bytes += chunk;
            length -= chunk;
        }
        struct iovec *next = parts;
        while (n > 0) {
            ssize_t wrote = writev(request->ipcFd, next, n);
            if (wrote < 0) {
                if (errno == EINTR) continue;
                if (out->FCGI_errno == 0) out->FCGI_errno = errno;
                out->isClosed = 1;
                return -1;
            }
            while (n > 0 && (size_t)wrote >= next->iov_len) { wrote -= (ssize_t)next->iov_len; next++; n--; }
            if (n > 0) { next->iov_base = (char *)next->iov_base + wrote; next->iov_len -= (size_t)wrote; }
        }
    }
    return 0;
}

/* Gives the heap's free memory back to the system (glibc). */
static inline void steemauth_release_free_memory(void) { malloc_trim(0); }
#endif
