/*
 * owned_peer.c -- C creator for the reaper tests of ipcbridge (RELIABILITY.md
 * SHM-15, SEC-14): objects named after their creator, as io.ipcbridge.Reaper
 * names them, /PREFIX.PID.START.PIDNS.LABEL (START: field 22 of
 * /proc/PID/stat; PIDNS: the inode of /proc/PID/ns/pid).
 *
 *   owned_peer create PREFIX
 *       1. create, named after this process, a shared memory segment
 *          (label "shm", 4096 bytes), a semaphore (label "sem", value 1) and a
 *          message queue (label "mq"), each O_CREAT|O_EXCL, mode 0600;
 *       2. print the three names, one a line, then "ready";
 *       3. wait for stdin to close, then exit 0 without unlinking (the test
 *          kills it before, or unlinks after).
 *   owned_peer zombie PREFIX
 *       fork; the child does step 1 and 2 of create and exits 0 without
 *       unlinking; the parent waits until the child has exited without
 *       reaping it (waitid WNOWAIT), prints "zombie PID", waits for stdin to
 *       close, then reaps the child and exits 0.
 *   owned_peer leader-exit PREFIX
 *       step 1 and 2 of create, then the main thread ends (pthread_exit)
 *       while a second thread waits for stdin to close and exits 0: the
 *       process runs on, its /proc/PID/stat saying "Z" (the leader's state).
 *   Pass (exit 0).  A failed call: exit 2 with the call and strerror.
 */
#include "peer.h"

#include <mqueue.h>
#include <pthread.h>
#include <semaphore.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>

/* The owner part of a name, "PID.START.PIDNS", of the calling process. */
static void owner(char *out, size_t size)
{
    char line[1024];
    struct stat ns;
    unsigned long long start = 0;
    FILE *f = fopen("/proc/self/stat", "r");
    CHECK(f != NULL);
    size_t n = fread(line, 1, sizeof line - 1, f);
    CHECK(fclose(f) == 0);
    line[n] = '\0';
    char *p = strrchr(line, ')');
    CHECK(p != NULL);
    /* the spaces before fields 3 .. 22: the start time follows the last */
    for (int field = 3; field <= 22; field++) {
        p = strchr(p + 1, ' ');
        CHECK(p != NULL);
    }
    CHECK(sscanf(p + 1, "%llu", &start) == 1);
    CHECK(stat("/proc/self/ns/pid", &ns) == 0);
    CHECK(snprintf(out, size, "%ld.%llu.%llu", (long)getpid(), start, (unsigned long long)ns.st_ino) < (int)size);
}

static void create(const char *prefix)
{
    char me[96], name[300];
    struct mq_attr attr = {.mq_maxmsg = 1, .mq_msgsize = 8};

    owner(me, sizeof me);
    CHECK(snprintf(name, sizeof name, "%s.%s.shm", prefix, me) < (int)sizeof name);
    int fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
    CHECK(fd >= 0);
    CHECK(ftruncate(fd, 4096) == 0);
    CHECK(close(fd) == 0);
    puts(name);

    CHECK(snprintf(name, sizeof name, "%s.%s.sem", prefix, me) < (int)sizeof name);
    sem_t *sem = sem_open(name, O_CREAT | O_EXCL, 0600, 1);
    CHECK(sem != SEM_FAILED);
    CHECK(sem_close(sem) == 0);
    puts(name);

    CHECK(snprintf(name, sizeof name, "%s.%s.mq", prefix, me) < (int)sizeof name);
    mqd_t q = mq_open(name, O_RDWR | O_CREAT | O_EXCL, 0600, &attr);
    CHECK(q != (mqd_t)-1);
    CHECK(mq_close(q) == 0);
    puts(name);

    puts("ready");
    CHECK(fflush(stdout) == 0);
}

static void await_stdin_closed(void)
{
    char buf[64];
    while (fread(buf, 1, sizeof buf, stdin) > 0) {
    }
}

static void *exit_when_stdin_closes(void *unused)
{
    (void)unused;
    await_stdin_closed();
    exit(PEER_PASS);
}

int main(int argc, char **argv)
{
    if (argc != 3 || (strcmp(argv[1], "create") != 0 && strcmp(argv[1], "zombie") != 0
                      && strcmp(argv[1], "leader-exit") != 0))
        peer_die(PEER_BROKEN, "usage: owned_peer create|zombie|leader-exit PREFIX");
    if (strcmp(argv[1], "leader-exit") == 0) {
        pthread_t other;
        create(argv[2]);
        CHECK(pthread_create(&other, NULL, exit_when_stdin_closes, NULL) == 0);
        pthread_exit(NULL);
    }
    if (strcmp(argv[1], "create") == 0) {
        create(argv[2]);
        await_stdin_closed();
        return PEER_PASS;
    }
    pid_t child = fork();
    CHECK(child >= 0);
    if (child == 0) {
        create(argv[2]);
        _exit(0);
    }
    siginfo_t info;
    CHECK(waitid(P_PID, (id_t)child, &info, WEXITED | WNOWAIT) == 0);
    if (info.si_code != CLD_EXITED || info.si_status != 0)
        peer_die(PEER_BROKEN, "the creating child failed (si_code %d, status %d)", info.si_code, info.si_status);
    printf("zombie %ld\n", (long)child);
    CHECK(fflush(stdout) == 0);
    await_stdin_closed();
    CHECK(waitpid(child, NULL, 0) == child);
    return PEER_PASS;
}
