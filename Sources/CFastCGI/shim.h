#ifndef STEEMAUTH_CFASTCGI_SHIM_H
#define STEEMAUTH_CFASTCGI_SHIM_H
#include <fcgiapp.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>

// A worker's SIGTERM/SIGQUIT/SIGHUP handler: ask libfcgi to leave FCGX_Accept_r.
static void steemauth_on_shutdown_signal(int signo) {
    (void)signo;
    FCGX_ShutdownPending();
}

// Installed WITHOUT SA_RESTART so a worker blocked in accept() is interrupted.
static inline int steemauth_install_worker_handlers(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = steemauth_on_shutdown_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;
    if (sigaction(SIGTERM, &sa, 0) != 0) return -1;
    if (sigaction(SIGQUIT, &sa, 0) != 0) return -1;
    if (sigaction(SIGINT, &sa, 0) != 0) return -1;
    signal(SIGHUP, SIG_IGN);
    signal(SIGPIPE, SIG_IGN);
    return 0;
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
#endif
