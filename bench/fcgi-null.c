/* A no-op FastCGI responder: the most any route behind nginx + FastCGI can reach on this machine.
   usage: fcgi-null HOST:PORT|/SOCKET PROCESSES  (pre-forked like the pool, backlog 511, fixed 200 "ok";
   it closes a connection as the pool does) */
#include <fcgiapp.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 3) return 2;
    FCGX_Init();
    int fd = FCGX_OpenSocket(argv[1], 511);
    if (fd < 0) return 1;
    if (argv[1][0] == '/') chmod(argv[1], 0666);   /* a unix socket nginx's workers can use */
    for (int i = 0; i < atoi(argv[2]); i++) {
        if (fork() == 0) {
            FCGX_Request r;
            FCGX_InitRequest(&r, fd, 0);
            while (FCGX_Accept_r(&r) >= 0) {
                FCGX_PutS("Status: 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n\r\nok\n", r.out);
                /* The pool's close: a request read to its end (stdin's end seen) is closed at
                   once, without libfcgi's lingering close (shutdown, wait for nginx, read). */
                if (FCGX_HasSeenEOF(r.in) || FCGX_GetChar(r.in) == EOF) FCGX_Detach(&r);
                FCGX_Finish_r(&r);
            }
            _exit(0);
        }
    }
    while (wait(NULL) > 0) {}
    return 0;
}
