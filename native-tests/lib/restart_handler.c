/*
 * restart_handler.c -- librestart_handler.so: gives the JVM that loads it a second kind of signal to
 * storm blocked threads with (RELIABILITY.md X-05, FAULT-08): a handler installed with SA_RESTART,
 * as sun.misc.Signal installs its own, beside the JDK's wake-up signal, whose handler has none.
 *
 * int ipcb_restart_handler(int sig)
 *
 * Installs a handler that does nothing for sig, with SA_RESTART. Returns 0, or the errno of
 * sigaction(2). Pass criterion: 0.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>

static void nothing(int sig)
{
    (void)sig;
}

int ipcb_restart_handler(int sig)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = nothing;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    return sigaction(sig, &sa, NULL) == 0 ? 0 : errno;
}
