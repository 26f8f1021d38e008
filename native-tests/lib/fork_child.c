/*
 * fork_child.c -- libfork_child.so: a C library that forks inside the process that loaded it
 * (RELIABILITY.md X-11). The Java test loads it into the JVM through JNA and calls
 * ipcb_fork_child with ipcbridge's own objects.
 *
 * int ipcb_fork_child(unsigned char *bytes, size_t len, sem_t *sem, int *report, int mqd,
 *                     const char *msg, size_t msg_len, int held_fd, int go_fd)
 *
 * fork(2)s; the child, which may only make async-signal-safe calls (the JVM has many threads),
 * then:
 *   1. complements the len bytes at bytes (a MAP_SHARED mapping of a shm segment);
 *   2. asks mq_notify(SIGEV_NONE) on mqd, which must fail with EBUSY: the JVM holds the queue's
 *      registration, and the child is another process;
 *   3. sets O_NONBLOCK on mqd with mq_setattr (shared with the JVM's descriptor: one open message
 *      queue description);
 *   4. sends msg_len bytes of msg on mqd at priority 7;
 *   5. sem_post(sem) (a process-shared sem_t in the segment);
 *   6. writes one byte to held_fd (a pipe's write end), so the JVM knows it holds that end;
 *   7. waits (poll, at most 60 s) for one byte on go_fd and reads it;
 * then _exit(PEER_PASS). A step that goes wrong stores its number in report[0] and errno in
 * report[1] (report is in shared memory too) and the child _exits PEER_FAIL.
 *
 * glibc's mq_notify, mq_setattr and mq_send are not in signal-safety(7)'s list, so the child makes
 * those system calls itself through syscall(2), which only traps into the kernel. sem_post, write,
 * read, poll and _exit are on the list.
 *
 * Returns, in the JVM: the child's exit status (PEER_PASS, PEER_FAIL), 128 + the signal that
 * killed it, or -errno if fork or waitpid failed. Pass criterion: PEER_PASS.
 */
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <poll.h>
#include <semaphore.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "peer.h"

#define CHILD_PRIORITY 7
#define GO_TIMEOUT_MS 60000

_Noreturn static void child_failed(int *report, int step, int err)
{
    report[1] = err;
    report[0] = step;
    _exit(PEER_FAIL);
}

_Noreturn static void child(unsigned char *bytes, size_t len, sem_t *sem, int *report, int mqd,
                            const char *msg, size_t msg_len, int held_fd, int go_fd)
{
    struct sigevent none;
    struct mq_attr attr;
    struct pollfd go = {.fd = go_fd, .events = POLLIN};
    unsigned char one = 'x';
    ssize_t n;
    int r;

    for (size_t i = 0; i < len; i++)
        bytes[i] = (unsigned char)~bytes[i];

    memset(&none, 0, sizeof none);
    none.sigev_notify = SIGEV_NONE;
    if (syscall(SYS_mq_notify, mqd, &none) == 0)
        child_failed(report, 2, 0);
    if (errno != EBUSY)
        child_failed(report, 2, errno);

    memset(&attr, 0, sizeof attr);
    attr.mq_flags = O_NONBLOCK;
    if (syscall(SYS_mq_getsetattr, mqd, &attr, NULL) != 0)
        child_failed(report, 3, errno);

    if (syscall(SYS_mq_timedsend, mqd, msg, msg_len, CHILD_PRIORITY, NULL) != 0)
        child_failed(report, 4, errno);

    if (sem_post(sem) != 0)
        child_failed(report, 5, errno);

    while ((n = write(held_fd, &one, 1)) < 0 && errno == EINTR)
        ;
    if (n != 1)
        child_failed(report, 6, n < 0 ? errno : 0);

    while ((r = poll(&go, 1, GO_TIMEOUT_MS)) < 0 && errno == EINTR)
        ;
    if (r != 1)
        child_failed(report, 7, r < 0 ? errno : ETIMEDOUT);
    while ((n = read(go_fd, &one, 1)) < 0 && errno == EINTR)
        ;
    if (n != 1)
        child_failed(report, 7, n < 0 ? errno : 0);

    _exit(PEER_PASS);
}

int ipcb_fork_child(unsigned char *bytes, size_t len, sem_t *sem, int *report, int mqd,
                    const char *msg, size_t msg_len, int held_fd, int go_fd)
{
    int status;
    pid_t pid = fork();

    if (pid < 0)
        return -errno;
    if (pid == 0)
        child(bytes, len, sem, report, mqd, msg, msg_len, held_fd, go_fd);
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR)
            return -errno;
    }
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return WEXITSTATUS(status);
}
