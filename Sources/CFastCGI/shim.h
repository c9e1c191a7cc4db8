#ifndef STEEMAUTH_CFASTCGI_SHIM_H
#define STEEMAUTH_CFASTCGI_SHIM_H
#include <fcgiapp.h>
#include <malloc.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <poll.h>
#include <sys/epoll.h>
#include <unistd.h>
#include <fcntl.h>
#include <errno.h>

// Workers never take a signal asynchronously: an interrupted read or write inside libfcgi would
// cut a request short (and FCGX_ShutdownPending makes libfcgi's reads and writes return 0).
// TERM/INT/QUIT stay blocked and are read from a signalfd, polled next to the listen socket
// between requests. Returns the signalfd, or -1.
static inline int steemauth_worker_signals(void) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGQUIT);
    sigaddset(&set, SIGHUP);
    if (sigprocmask(SIG_SETMASK, &set, 0) != 0) return -1;
    signal(SIGPIPE, SIG_IGN);
    signal(SIGCHLD, SIG_DFL);
    signal(SIGUSR1, SIG_DFL);
    sigdelset(&set, SIGHUP);   /* the master handles reloads; a worker ignores HUP */
    return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

// fcntl is variadic.
static inline int steemauth_set_nonblocking(int fd) {
    int flags = fcntl(fd, F_GETFL, 0);
    return flags < 0 ? -1 : fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

// Is a stop signal waiting? (one cheap syscall: checked before every 16th accept and after each wait)
static inline int steemauth_stop_pending(void) {
    sigset_t pending;
    if (sigpending(&pending) != 0) return 0;
    return sigismember(&pending, SIGTERM) || sigismember(&pending, SIGINT) || sigismember(&pending, SIGQUIT);
}

// Waits until the listen socket has a connection (1), a stop signal is pending (2), both (3),
// or the timeout passes (0); -1 with errno on error.
static inline int steemauth_wait(int listen_fd, int signal_fd, int timeout_ms) {
    struct pollfd fds[2] = { { listen_fd, POLLIN, 0 }, { signal_fd, POLLIN, 0 } };
    int n = poll(fds, 2, timeout_ms);
    if (n <= 0) return n;
    return ((fds[0].revents & (POLLIN | POLLERR | POLLHUP)) ? 1 : 0) | (fds[1].revents ? 2 : 0);
}

// A worker's own epoll instance over the listen socket and its signalfd. The listen socket is added
// with EPOLLEXCLUSIVE, so a new connection wakes one waiting worker rather than every one (as a
// blocking accept would: poll wakes them all, and all but one find nothing to accept). Returns the
// epoll fd, or -1 (the caller then waits with steemauth_wait).
static inline int steemauth_waiter_create(int listen_fd, int signal_fd) {
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0) return -1;
    struct epoll_event listen_event = { .events = EPOLLIN | EPOLLEXCLUSIVE, .data = { .u32 = 1 } };
    struct epoll_event signal_event = { .events = EPOLLIN, .data = { .u32 = 2 } };
    if (epoll_ctl(ep, EPOLL_CTL_ADD, listen_fd, &listen_event) != 0 || epoll_ctl(ep, EPOLL_CTL_ADD, signal_fd, &signal_event) != 0) {
        close(ep);
        return -1;
    }
    return ep;
}

// As steemauth_wait, on a waiter from steemauth_waiter_create.
static inline int steemauth_waiter_wait(int ep, int timeout_ms) {
    struct epoll_event events[2];
    int n = epoll_wait(ep, events, 2, timeout_ms);
    if (n <= 0) return n;
    int ready = 0;
    for (int i = 0; i < n; i++) ready |= (int)events[i].data.u32;
    return ready;
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
