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
static inline int steemauth_set_accept_timeout(int fd, int timeout_ms) {
    int flags = fcntl(fd, F_GETFL, 0);
    if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0) return -1;
    struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
    return setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
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
/* Gives the heap's free memory back to the system (glibc). */
static inline void steemauth_release_free_memory(void) { malloc_trim(0); }
#endif
