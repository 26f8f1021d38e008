/*
 * sem_peer.c -- C peer for POSIX named semaphore tests of ipcbridge.
 *
 * NAME is a semaphore name with its leading slash ("/ipcb-x"; glibc keeps
 * it as /dev/shm/sem.ipcb-x).  The peer opens existing semaphores with
 * sem_open(NAME, 0) and never creates or unlinks one (the Java side does).
 * Every mode closes its semaphores (except hold-and-die).
 *
 * Modes:
 *   sem_peer post NAME [COUNT]
 *       sem_post COUNT times (default 1).  Pass (exit 0): all posted.
 *       EOVERFLOW (value at SEM_VALUE_MAX): one line on stderr saying how
 *       many posts succeeded, exit 1.
 *
 *   sem_peer wait NAME
 *       sem_wait once (blocking, EINTR retried).  Exit 0.
 *
 *   sem_peer trywait NAME
 *       sem_trywait once.  Exit 0 if it decremented the semaphore, 3 if it
 *       was 0 (EAGAIN).
 *
 *   sem_peer value NAME
 *       Print sem_getvalue's value and a newline.  Exit 0.
 *
 *   sem_peer hold-and-die NAME
 *       sem_wait once, then raise(SIGKILL): the unit taken is never given
 *       back (POSIX semaphores are not robust; nothing undoes it).  The
 *       process ends killed by signal 9.
 *
 *   sem_peer count NAME SHM COUNT
 *       NL-10's critical section: SIGUSR1 gets a handler without SA_RESTART
 *       (so signals make sem_wait fail with EINTR, which is retried); then
 *       prints "ready" and COUNT times: sem_wait(NAME); add 1 to the u64 at
 *       offset 0 of shared memory object SHM with a plain (non-atomic) load
 *       and store; sem_post(NAME).  Exit 0.  The test checks the total.
 *
 * Environment or syscall errors exit 2; sem_open failing with ENOSYS exits
 * 4.  Usage errors exit 2 with a usage line on stderr.
 */
#include "peer.h"

#include <semaphore.h>
#include <signal.h>
#include <sys/mman.h>

/* Exit code of trywait when the semaphore was 0. */
#define SEM_PEER_WOULD_BLOCK 3

static const char usage_text[] =
    "usage: sem_peer post NAME [COUNT]\n"
    "       sem_peer wait NAME\n"
    "       sem_peer trywait NAME\n"
    "       sem_peer value NAME\n"
    "       sem_peer hold-and-die NAME\n"
    "       sem_peer count NAME SHM COUNT\n";

_Noreturn static void usage(void)
{
    fputs(usage_text, stderr);
    exit(PEER_BROKEN);
}

/* ------------------------------------------------------ semaphore helpers */

typedef struct {
    sem_t *s;
    const char *name;
} peer_sem;

/* sem_open(name, 0): the semaphore must exist. */
static void sem_open_peer(peer_sem *p, const char *name)
{
    if (name[0] != '/')
        peer_die(PEER_BROKEN, "semaphore name '%s' must start with '/'", name);
    p->s = sem_open(name, 0);
    if (p->s == SEM_FAILED)
        peer_die(errno == ENOSYS ? PEER_UNSUPPORTED : PEER_BROKEN,
                 "sem_open %s: %s", name, strerror(errno));
    p->name = name;
}

static void sem_close_peer(peer_sem *p)
{
    CHECK(sem_close(p->s) == 0);
}

/* sem_wait, retrying EINTR; errors exit 2. */
static void take(peer_sem *p)
{
    int r;
    while ((r = sem_wait(p->s)) != 0 && errno == EINTR)
        ;
    if (r != 0)
        peer_die(PEER_BROKEN, "sem_wait %s: %s", p->name, strerror(errno));
}

/* sem_post; EOVERFLOW exits 1 (after `done` earlier posts), others 2. */
static void give(peer_sem *p, uint64_t done)
{
    if (sem_post(p->s) == 0)
        return;
    if (errno == EOVERFLOW)
        peer_die(PEER_FAIL, "sem_post %s: %s (after %llu posts)", p->name,
                 strerror(errno), (unsigned long long)done);
    peer_die(PEER_BROKEN, "sem_post %s: %s", p->name, strerror(errno));
}

/* ------------------------------------------------------------------- modes */

static int mode_post(const char *name, uint64_t count)
{
    peer_sem p;

    sem_open_peer(&p, name);
    for (uint64_t i = 0; i < count; i++)
        give(&p, i);
    sem_close_peer(&p);
    return PEER_PASS;
}

static int mode_wait(const char *name)
{
    peer_sem p;

    sem_open_peer(&p, name);
    take(&p);
    sem_close_peer(&p);
    return PEER_PASS;
}

static int mode_trywait(const char *name)
{
    peer_sem p;
    int r;

    sem_open_peer(&p, name);
    while ((r = sem_trywait(p.s)) != 0 && errno == EINTR)
        ;
    if (r != 0 && errno != EAGAIN)
        peer_die(PEER_BROKEN, "sem_trywait %s: %s", name, strerror(errno));
    sem_close_peer(&p);
    return r == 0 ? PEER_PASS : SEM_PEER_WOULD_BLOCK;
}

static int mode_value(const char *name)
{
    peer_sem p;
    int v;

    sem_open_peer(&p, name);
    CHECK(sem_getvalue(p.s, &v) == 0);
    sem_close_peer(&p);
    printf("%d\n", v);
    CHECK(fflush(stdout) == 0);
    return PEER_PASS;
}

static int mode_hold_and_die(const char *name)
{
    peer_sem p;

    sem_open_peer(&p, name);
    take(&p);
    CHECK(fflush(NULL) == 0);
    raise(SIGKILL);
    peer_die(PEER_BROKEN, "hold-and-die: still alive after SIGKILL");
}

static void on_signal(int sig)
{
    (void)sig;
}

static int mode_count(const char *name, const char *shm, uint64_t count)
{
    peer_sem p;
    struct sigaction sa;
    volatile uint64_t *counter;
    int fd;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal; /* no SA_RESTART: sem_wait returns EINTR */
    CHECK(sigemptyset(&sa.sa_mask) == 0);
    CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
    sem_open_peer(&p, name);
    CHECK((fd = shm_open(shm, O_RDWR, 0)) >= 0);
    counter = mmap(NULL, sizeof *counter, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    CHECK(counter != MAP_FAILED);
    CHECK(close(fd) == 0);
    puts("ready");
    CHECK(fflush(stdout) == 0);
    for (uint64_t i = 0; i < count; i++) {
        take(&p);
        *counter = *counter + 1;
        give(&p, i);
    }
    CHECK(munmap((void *)counter, sizeof *counter) == 0);
    sem_close_peer(&p);
    return PEER_PASS;
}

int main(int argc, char **argv)
{
    const char *mode;

    if (argc < 2)
        usage();
    mode = argv[1];

    if (strcmp(mode, "post") == 0 && (argc == 3 || argc == 4))
        return mode_post(argv[2], argc == 4 ? parse_u64(argv[3]) : 1);
    if (strcmp(mode, "wait") == 0 && argc == 3)
        return mode_wait(argv[2]);
    if (strcmp(mode, "trywait") == 0 && argc == 3)
        return mode_trywait(argv[2]);
    if (strcmp(mode, "value") == 0 && argc == 3)
        return mode_value(argv[2]);
    if (strcmp(mode, "hold-and-die") == 0 && argc == 3)
        return mode_hold_and_die(argv[2]);
    if (strcmp(mode, "count") == 0 && argc == 5)
        return mode_count(argv[2], argv[3], parse_u64(argv[4]));
    usage();
}
