/*
 * owned_peer.c -- C creator for the reaper tests of ipcbridge (RELIABILITY.md
 * SHM-15, SEC-14): objects named after their creator, as io.ipcbridge.Reaper
 * names them, /PREFIX.PID.START.PIDNS.LABEL, through include/ipcb_owner.h.
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
 *   owned_peer name PREFIX LABEL
 *       print what ipcb_owner_name gives: the name, or "refused EINVAL" /
 *       "refused ENAMETOOLONG".
 *   Pass (exit 0).  A failed call: exit 2 with the call and strerror.
 */
#include "peer.h"
#include "ipcb_owner.h"

#include <mqueue.h>
#include <pthread.h>
#include <semaphore.h>
#include <sys/mman.h>
#include <sys/wait.h>

static void create(const char *prefix)
{
    char name[IPCB_OWNER_NAME_MAX + 2];
    struct mq_attr attr = {.mq_maxmsg = 1, .mq_msgsize = 8};

    CHECK(ipcb_owner_name(name, sizeof name, prefix, "shm") == 0);
    int fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
    CHECK(fd >= 0);
    CHECK(ftruncate(fd, 4096) == 0);
    CHECK(close(fd) == 0);
    puts(name);

    CHECK(ipcb_owner_name(name, sizeof name, prefix, "sem") == 0);
    sem_t *sem = sem_open(name, O_CREAT | O_EXCL, 0600, 1);
    CHECK(sem != SEM_FAILED);
    CHECK(sem_close(sem) == 0);
    puts(name);

    CHECK(ipcb_owner_name(name, sizeof name, prefix, "mq") == 0);
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
    if (argc == 4 && strcmp(argv[1], "name") == 0) {
        char name[IPCB_OWNER_NAME_MAX + 2];
        if (ipcb_owner_name(name, sizeof name, argv[2], argv[3]) == 0)
            puts(name);
        else if (errno == EINVAL || errno == ENAMETOOLONG)
            printf("refused %s\n", errno == EINVAL ? "EINVAL" : "ENAMETOOLONG");
        else
            peer_die(PEER_BROKEN, "ipcb_owner_name: %s", strerror(errno));
        return PEER_PASS;
    }
    if (argc != 3 || (strcmp(argv[1], "create") != 0 && strcmp(argv[1], "zombie") != 0
                      && strcmp(argv[1], "leader-exit") != 0))
        peer_die(PEER_BROKEN, "usage: owned_peer create|zombie|leader-exit PREFIX, or name PREFIX LABEL");
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
