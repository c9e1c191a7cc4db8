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
#endif
