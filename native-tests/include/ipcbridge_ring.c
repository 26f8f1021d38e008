/*
 * ipcbridge_ring.c -- the C API of the ipcbridge shared-memory message ring;
 * the layout, the protocol and the API are documented in ipcbridge_ring.h.
 *
 * Needs C11 <stdatomic.h> and Linux (futex, pidfd); links with -pthread (the
 * peer watcher) and, on old glibc, -lrt (shm_open). Compiles on its own:
 * cc -std=c11 -c ipcbridge_ring.c
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

#include "ipcbridge_ring.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* A spinning waiter reads the clock (deadline, pid check) and gives its CPU
 * away (sched_yield) every SPIN_ROUNDS rounds, so that spinning on a CPU
 * shared with its peer still makes progress (measured: 1024 rounds made a
 * round trip on one CPU ~10 times slower, and were no faster on two). */
#define SPIN_ROUNDS 64u

/* A blocking waiter first yields the CPU once: a peer sharing the CPU
 * answers meanwhile and, as this side never registered as a waiter, needs
 * no FUTEX_WAKE, nor this side a FUTEX_WAIT (measured on one CPU: a round
 * trip of two sched_yield calls, 2.8 us, against 4.2 us for two wake-ups
 * and two waits, as sem_post/sem_wait do). Then it spins this many rounds
 * when it may have a CPU of its own to spin on (more than one CPU allowed):
 * a stream of records then flows without a futex wake-up per record, which
 * would keep the consumer starved and asleep. Then it sleeps. */
#define BLOCK_SPIN_ROUNDS 64u

static unsigned block_spin_rounds(void)
{
    /* atomic: handles of several threads ask at once (a plain int was a data race, UB in C11) */
    static _Atomic int rounds = -1;
    int n = atomic_load_explicit(&rounds, memory_order_relaxed);
    if (n < 0) {
        cpu_set_t set;
        n = sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 1 ? (int)BLOCK_SPIN_ROUNDS : 0;
        atomic_store_explicit(&rounds, n, memory_order_relaxed);
    }
    return (unsigned)n;
}

enum side { PRODUCER, CONSUMER };

/* ------------------------------------------------------------------ helpers */

__attribute__((format(printf, 3, 4)))
static int fail(struct ipcb_ring *r, int err, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(r->error, sizeof r->error, fmt, ap);
    va_end(ap);
    errno = err;
    return -1;
}

static int64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

static int is_power_of_two(uint64_t v)
{
    return v != 0 && (v & (v - 1)) == 0;
}

/* Also resets the handle: a failed create / open leaves header NULL. */
static int check_name(struct ipcb_ring *r, const char *name)
{
    size_t n = name == NULL ? 0 : strlen(name);

    r->error[0] = '\0';
    r->header = NULL;
    if (n >= 2 && n <= NAME_MAX && name[0] == '/' && strchr(name + 1, '/') == NULL)
        return 0;
    return fail(r, EINVAL, "ring name '%s': expected '/' and 1 to %d other characters, no other '/'",
                name ? name : "(null)", NAME_MAX - 1);
}

/* The header fields a creator chooses; a bad one fails with err. */
static int check_geometry(struct ipcb_ring *r, const char *name, uint64_t capacity, uint32_t max_message,
                          uint32_t flags, int err)
{
    if (!is_power_of_two(capacity) || capacity < IPCB_RING_MIN_CAPACITY || capacity > IPCB_RING_MAX_CAPACITY)
        return fail(r, err, "ring %s: capacity %llu is not a power of two in [%u, %u]", name,
                    (unsigned long long)capacity, IPCB_RING_MIN_CAPACITY, IPCB_RING_MAX_CAPACITY);
    if (max_message > IPCB_RING_MAX_MESSAGE_LIMIT(capacity))
        return fail(r, err, "ring %s: max_message %u above %u, the limit for capacity %llu", name,
                    max_message, IPCB_RING_MAX_MESSAGE_LIMIT(capacity), (unsigned long long)capacity);
    if ((flags & ~IPCB_RING_MULTI_PRODUCER) != 0)
        return fail(r, err, "ring %s: unknown flags 0x%x", name, flags);
    return 0;
}

static struct ipcb_ring_record *record_at(const struct ipcb_ring *r, uint64_t position)
{
    return (struct ipcb_ring_record *)(void *)(r->data + (position & (r->capacity - 1)));
}

/* Bytes from `position` to the end of the data area. */
static uint64_t tail_room(const struct ipcb_ring *r, uint64_t position)
{
    return r->capacity - (position & (r->capacity - 1));
}

/* Padding needed before a record of `len` payload bytes at `position`. */
static uint64_t padding_before(const struct ipcb_ring *r, uint64_t position, uint32_t len)
{
    uint64_t room = tail_room(r, position);

    return IPCB_RING_RECORD_SIZE(len) > room ? room : 0;
}

static int futex(_Atomic uint32_t *word, int op, uint32_t val, const struct timespec *timeout)
{
    return (int)syscall(SYS_futex, (void *)word, op, val, timeout, NULL, 0);
}

/* The waker's half of the event count: after the publishing store. */
static void wake(_Atomic uint32_t *word, _Atomic uint32_t *waiters)
{
    atomic_thread_fence(memory_order_seq_cst);
    if (atomic_load_explicit(waiters, memory_order_relaxed) != 0) {
        atomic_fetch_add(word, 1);
        futex(word, FUTEX_WAKE, INT_MAX, NULL);
    }
}

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

/* Whether pid names a thread-group leader (a process), per the Tgid line of
 * /proc/PID/status; 1 when that cannot be read (a /proc that hides it). */
static int leads_its_process(pid_t pid)
{
    char path[40], line[128];
    FILE *status;
    long tgid = pid;

    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    if ((status = fopen(path, "re")) == NULL)
        return 1;
    while (fgets(line, sizeof line, status) != NULL)
        if (strncmp(line, "Tgid:", 5) == 0) {
            tgid = strtol(line + 5, NULL, 10);
            break;
        }
    fclose(status);
    return tgid == pid;
}

/* Whether pid still runs: kill(pid, 0) finds it and it is not a zombie (a
 * killed child its parent has not reaped yet is gone but for its pid), or
 * its zombie is only its main thread's, ended with threads still running.
 * A pidfd tells: it polls readable once every thread has ended, and needs no
 * /proc, which may hide another user's processes (hidepid). Without one,
 * /proc/PID/stat does (num_threads, field 20, counts the zombie too). A pid
 * that now names a thread not leading its process (pidfd_open fails with
 * ENOENT, EINVAL before Linux 6.9; kill(2) and /proc/PID still find the
 * thread) was reused: the process has ended. */
static int alive(pid_t pid)
{
    char path[32], stat[512], *close_paren, *field;
    ssize_t n;
    int fd;

    if (pid <= 0)
        return 1;
    if (kill(pid, 0) != 0 && errno == ESRCH)
        return 0;
    if ((fd = (int)syscall(SYS_pidfd_open, pid, 0)) >= 0) {
        struct pollfd ended = { fd, POLLIN, 0 };
        n = poll(&ended, 1, 0);
        close(fd);
        return n != 1;
    }
    if (errno == ESRCH || ((errno == ENOENT || errno == EINVAL) && !leads_its_process(pid)))
        return 0;
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        return errno != ENOENT;
    n = read(fd, stat, sizeof stat - 1);
    close(fd);
    if (n <= 0) /* ESRCH: reaped after the open; kill(2) then no longer finds it */
        return kill(pid, 0) == 0 || errno != ESRCH;
    stat[n] = '\0';
    close_paren = strrchr(stat, ')');
    if (close_paren == NULL || close_paren[1] == '\0' || (close_paren[2] != 'Z' && close_paren[2] != 'X'))
        return 1;
    if (close_paren[2] == 'X')
        return 0;
    field = close_paren + 2; /* field 3, the state */
    for (int i = 3; i < 20 && field != NULL; i++)
        if ((field = strchr(field, ' ')) != NULL)
            field++;
    return field != NULL && strtol(field, NULL, 10) > 1;
}

/* Clears the pid word if it still holds our pid (not after a fork). */
static void release_pid_word(_Atomic int32_t *word, int32_t me)
{
    atomic_compare_exchange_strong(word, &me, 0);
}

/* ------------------------------------------------------------ peer watcher
 *
 * One thread per process, started by the first blocking wait that has a
 * peer to watch, polls a pidfd per watched (handle, side, pid) and an
 * eventfd that tells it the set changed. When a watched process ends it
 * counts a death in the handle, adds one to that side's futex word and
 * FUTEX_WAKEs it, as a waker does: a blocking wait can then sleep without a
 * timeout (a timed futex wait costs about 0.7 us more per hand-off on the
 * benchmark VM) and still learn of a dead peer at once. Where pidfd_open or
 * the thread is not available, waits fall back to a 100 ms timeout and look
 * at the pids themselves. The thread lives until the process ends; a child
 * of fork starts its own. */

#define WATCH_MAX 64

struct watch_entry {
    struct ipcb_ring *ring;                /* NULL = free */
    int side;
    int32_t pid;
    int pidfd;
    unsigned generation;                   /* bumped when the entry is freed */
};

static pthread_mutex_t watch_lock = PTHREAD_MUTEX_INITIALIZER;
static struct watch_entry watch_entries[WATCH_MAX];
static int watch_wake = -1;                /* eventfd; -1 = no thread */
static unsigned watch_epoch = 1;           /* bumped in a child of fork: nothing is watched there */
static int watch_atfork;

static void watch_forked(void)
{
    for (int i = 0; i < WATCH_MAX; i++) {
        if (watch_entries[i].ring != NULL)
            close(watch_entries[i].pidfd);
        watch_entries[i].ring = NULL;
    }
    if (watch_wake >= 0)
        close(watch_wake);
    watch_wake = -1;
    watch_epoch++;
    pthread_mutex_init(&watch_lock, NULL);
}

static void watch_poke(void)
{
    uint64_t one = 1;
    ssize_t n = write(watch_wake, &one, sizeof one);
    (void)n; /* EAGAIN: the counter is far from zero, a wake-up is pending anyway */
}

/* Under watch_lock: frees entry i. */
static void watch_free(int i)
{
    close(watch_entries[i].pidfd);
    watch_entries[i].ring = NULL;
    watch_entries[i].generation++;
}

/* Under watch_lock: the side's waiters learn that a watched pid ended. */
static void watch_died(struct ipcb_ring *r, int side)
{
    _Atomic uint32_t *word = side == 1 ? &r->header->data_futex : &r->header->space_futex;

    atomic_fetch_add(&r->deaths[side], 1);
    atomic_fetch_add(word, 1);
    syscall(SYS_futex, (void *)word, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

static void *watcher(void *arg)
{
    struct pollfd fds[WATCH_MAX + 1];
    int index[WATCH_MAX + 1];
    unsigned generation[WATCH_MAX + 1];

    (void)arg;
    for (;;) {
        int n = 1;

        pthread_mutex_lock(&watch_lock);
        fds[0].fd = watch_wake;
        fds[0].events = POLLIN;
        for (int i = 0; i < WATCH_MAX; i++) {
            if (watch_entries[i].ring == NULL)
                continue;
            fds[n].fd = watch_entries[i].pidfd;
            fds[n].events = POLLIN;
            index[n] = i;
            generation[n] = watch_entries[i].generation;
            n++;
        }
        pthread_mutex_unlock(&watch_lock);
        if (poll(fds, (nfds_t)n, -1) <= 0)
            continue;
        if (fds[0].revents != 0) {
            uint64_t count;
            ssize_t got = read(fds[0].fd, &count, sizeof count);
            (void)got;
        }
        pthread_mutex_lock(&watch_lock);
        for (int k = 1; k < n; k++) {
            struct watch_entry *e = &watch_entries[index[k]];
            /* an entry freed meanwhile may have lost its fd number to another */
            if ((fds[k].revents & POLLIN) != 0 && e->ring != NULL && e->generation == generation[k]) {
                struct ipcb_ring *r = e->ring;
                int side = e->side;
                watch_free(index[k]);
                watch_died(r, side);
            }
        }
        pthread_mutex_unlock(&watch_lock);
    }
    return NULL;
}

/* Under watch_lock: starts the thread if it does not run; 0 if it cannot. */
static int watch_start(void)
{
    pthread_attr_t attr;
    pthread_t thread;
    sigset_t all, old;
    int ok;

    if (watch_wake >= 0)
        return 1;
    if (!watch_atfork)
        watch_atfork = pthread_atfork(NULL, NULL, watch_forked) == 0;
    if (!watch_atfork || (watch_wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
        return 0;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old); /* the program's signals are not for the watcher */
    ok = pthread_attr_init(&attr) == 0;
    ok = ok && pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED) == 0
         && pthread_create(&thread, &attr, watcher, NULL) == 0;
    pthread_attr_destroy(&attr);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (!ok) {
        close(watch_wake);
        watch_wake = -1;
    }
    return ok;
}

/* Under watch_lock: drops the entries of r's side (both sides if side < 0). */
static int unwatch(struct ipcb_ring *r, int side)
{
    int dropped = 0;

    for (int i = 0; i < WATCH_MAX; i++) {
        if (watch_entries[i].ring == r && (side < 0 || watch_entries[i].side == side)) {
            watch_free(i);
            dropped = 1;
        }
    }
    return dropped;
}

static void unwatch_all(struct ipcb_ring *r)
{
    if (r->watched_count[0] <= 0 && r->watched_count[1] <= 0)
        return;
    pthread_mutex_lock(&watch_lock);
    if (r->watch_epoch[0] == watch_epoch || r->watch_epoch[1] == watch_epoch) {
        if (unwatch(r, -1) && watch_wake >= 0)
            watch_poke();
    }
    pthread_mutex_unlock(&watch_lock);
}

/* pidfd_open failed with ENOSYS: no pid is ever watched in this process. */
static _Atomic int pidfd_missing;

/*
 * Makes the watcher watch exactly the `n` pids of `pids` for r's side; cheap
 * when they are those followed already and watched. A pid gone already counts
 * as a death at once. Returns 1 if they are watched, 0 if the waiter must look
 * itself; then the next call tries again (a pidfd or the thread may be had
 * now: EMFILE passes), unless pidfd_open is missing (ENOSYS).
 */
static int follow(struct ipcb_ring *r, int side, const int32_t *pids, int n)
{
    int same = r->watched_count[side] == n && r->watch_epoch[side] == watch_epoch;

    for (int i = 0; same && i < n; i++) {
        int found = 0;
        for (int j = 0; j < n && !found; j++)
            found = r->watched[side][j] == pids[i];
        same = found;
    }
    if (same && (r->watch_ok[side] || pidfd_missing))
        return r->watch_ok[side];

    pthread_mutex_lock(&watch_lock);
    int ok = 1;
    if (r->watch_epoch[side] == watch_epoch)
        unwatch(r, side);
    for (int i = 0; i < n && ok; i++) {
        int pidfd = (int)syscall(SYS_pidfd_open, (pid_t)pids[i], 0);
        int slot = -1;

        if (pidfd < 0) {
            int failed = errno;

            if (failed == ESRCH || !alive(pids[i])) { /* also a pid that names another process's thread now */
                watch_died(r, side);
            } else {
                pidfd_missing |= failed == ENOSYS;
                ok = 0;
            }
            continue;
        }
        for (int k = 0; k < WATCH_MAX && slot < 0; k++)
            if (watch_entries[k].ring == NULL)
                slot = k;
        if (slot < 0 || !watch_start()) {
            close(pidfd);
            ok = 0;
            continue;
        }
        watch_entries[slot].ring = r;
        watch_entries[slot].side = side;
        watch_entries[slot].pid = pids[i];
        watch_entries[slot].pidfd = pidfd;
    }
    if (!ok)
        unwatch(r, side);
    if (watch_wake >= 0)
        watch_poke();
    pthread_mutex_unlock(&watch_lock);
    memcpy(r->watched[side], pids, sizeof(int32_t) * (size_t)n);
    r->watched_count[side] = n;
    r->watch_epoch[side] = watch_epoch;
    r->watch_ok[side] = ok;
    return ok;
}

/*
 * After a death the watcher counted, with no peer found dead that blocks the
 * waiter: whether a pid followed lost its pidfd to a death and runs again
 * (the kernel gave it to another process). If so, drops the side's pidfds,
 * so that the next follow() opens them on the processes that hold the pids
 * now, and returns 1.
 */
static int forget_reused(struct ipcb_ring *r, int side)
{
    int reused = 0;

    pthread_mutex_lock(&watch_lock);
    if (r->watch_epoch[side] == watch_epoch) {
        for (int i = 0; i < r->watched_count[side] && !reused; i++) {
            int32_t pid = r->watched[side][i];
            int watched = 0;

            for (int k = 0; k < WATCH_MAX && !watched; k++)
                watched = watch_entries[k].ring == r && watch_entries[k].side == side && watch_entries[k].pid == pid;
            reused = !watched && alive(pid);
        }
        if (reused && unwatch(r, side) && watch_wake >= 0)
            watch_poke();
    }
    pthread_mutex_unlock(&watch_lock);
    if (reused)
        r->watched_count[side] = -1;
    return reused;
}

/* ------------------------------------------------------- create, open, close */

/* Bumped in every child of fork: a handle's registrations are its parent's
 * there (its pid, its announcements), so the child registers anew. */
static _Atomic unsigned fork_generation;
static pthread_once_t fork_hook = PTHREAD_ONCE_INIT;

static void count_fork(void)
{
    atomic_fetch_add(&fork_generation, 1);
}

static void hook_fork(void)
{
    pthread_atfork(NULL, NULL, count_fork);
}

/* In a child of fork, forgets what r holds for the parent: its registrations,
 * and its pending claim and read, which stay the parent's to commit, give up
 * or release. Nothing in shared memory is written. */
static void forget_parents(struct ipcb_ring *r)
{
    if (r->forks != atomic_load_explicit(&fork_generation, memory_order_relaxed)) {
        r->producer_slot = -1;
        r->consumer_registered = 0;
        r->claim_at = r->claim_end = r->read_end = 0;
        r->self = 0;
        r->suspect = 0;
        r->forks = atomic_load(&fork_generation);
    }
}

/* geometry: the checked capacity, max_message and flags (not the shared header) */
static void init_handle(struct ipcb_ring *r, void *base, size_t mapped, const struct ipcb_ring_header *geometry)
{
    pthread_once(&fork_hook, hook_fork);
    r->forks = atomic_load(&fork_generation);
    r->header = base;
    r->data = (uint8_t *)base + IPCB_RING_HEADER_SIZE;
    r->mapped = mapped;
    r->capacity = geometry->capacity;
    r->max_message = geometry->max_message;
    r->flags = geometry->flags;
    r->producer_slot = -1;
    r->consumer_registered = 0;
    r->next_write = r->next_read = r->cached_consumer = r->cached_producer = 0;
    r->claim_at = r->claim_end = r->read_end = 0;
    r->liveness_due = 0;
    r->suspect = 0;
    r->self = 0;
    for (int side = 0; side < 2; side++) {
        r->watched_count[side] = -1;
        r->watch_epoch[side] = 0;
        r->watch_ok[side] = 0;
        atomic_init(&r->deaths[side], 0);
        r->deaths_seen[side] = 0;
    }
}

/* The ring is made whole before it has its name: created without a name in
 * /dev/shm (O_TMPFILE), sized, allocated and given its header, then linked to
 * NAME (linkat fails with EEXIST if NAME exists), so no opener maps it
 * half-made, and a creator killed half-way leaves nothing behind. A NAME that
 * exists is told before anything is allocated, as shm_open(O_EXCL) told it:
 * a create-or-open of an existing ring must not fail for want of room for a
 * second one. */
int ipcb_ring_create(struct ipcb_ring *r, const char *name, uint64_t capacity,
                     uint32_t max_message, uint32_t flags, mode_t mode)
{
    uint64_t size = IPCB_RING_SEGMENT_SIZE(capacity);
    struct ipcb_ring_header *h, geometry;
    char path[sizeof "/dev/shm" + NAME_MAX], self[64];
    struct stat st;
    void *base = MAP_FAILED;
    int fd, err;

    if (check_name(r, name) != 0 || check_geometry(r, name, capacity, max_message, flags, EINVAL) != 0)
        return -1;
    snprintf(path, sizeof path, "/dev/shm%s", name);
    if (lstat(path, &st) == 0)
        return fail(r, EEXIST, "shm_open(%s, O_CREAT|O_EXCL): %s", name, strerror(EEXIST));
    fd = open("/dev/shm", O_TMPFILE | O_RDWR | O_CLOEXEC, mode);
    if (fd < 0)
        return fail(r, errno, "shm_open(%s, O_CREAT|O_EXCL): %s", name, strerror(errno));
    if (ftruncate(fd, (off_t)size) != 0) {
        err = errno;
        fail(r, err, "ftruncate(%s, %llu): %s", name, (unsigned long long)size, strerror(err));
        goto undo;
    }
    if ((err = posix_fallocate(fd, 0, (off_t)size)) != 0) {
        fail(r, err, "posix_fallocate(%s, %llu): %s", name, (unsigned long long)size, strerror(err));
        goto undo;
    }
    base = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (base == MAP_FAILED) {
        err = errno;
        fail(r, err, "mmap(%s, %llu): %s", name, (unsigned long long)size, strerror(err));
        goto undo;
    }

    h = base; /* all zero after ftruncate: positions, futex words, pids */
    h->version = IPCB_RING_VERSION;
    h->flags = flags;
    h->capacity = capacity;
    h->max_message = max_message;
    h->header_size = IPCB_RING_HEADER_SIZE;
    atomic_store_explicit((_Atomic uint64_t *)&h->magic, IPCB_RING_MAGIC, memory_order_release);
    snprintf(self, sizeof self, "/proc/self/fd/%d", fd); /* AT_EMPTY_PATH would need CAP_DAC_READ_SEARCH */
    if (linkat(AT_FDCWD, self, AT_FDCWD, path, AT_SYMLINK_FOLLOW) != 0) {
        err = errno;
        fail(r, err, "shm_open(%s, O_CREAT|O_EXCL): %s", name, strerror(err));
        goto undo;
    }
    close(fd);
    geometry.capacity = capacity;
    geometry.max_message = max_message;
    geometry.flags = flags;
    init_handle(r, base, (size_t)size, &geometry);
    return 0;

undo:
    if (base != MAP_FAILED)
        munmap(base, (size_t)size);
    close(fd);
    errno = err;
    return -1;
}

/* Is the header in a mapping of `size` bytes that of a ring we can use? Each
 * field is read once, into *copy, which the handle is then made from: a peer
 * changing the header meanwhile cannot slip a capacity past the checks. */
static int check_header(struct ipcb_ring *r, const char *name, struct ipcb_ring_header *h, uint64_t size,
                        struct ipcb_ring_header *copy)
{
    volatile struct ipcb_ring_header *v = h;
    uint64_t magic = atomic_load_explicit((_Atomic uint64_t *)&h->magic, memory_order_acquire);
    uint32_t version = v->version, header_size = v->header_size;

    copy->capacity = v->capacity;
    copy->max_message = v->max_message;
    copy->flags = v->flags;
    if (magic != IPCB_RING_MAGIC)
        return fail(r, EPROTO, "ring %s: magic 0x%016llx, expected 0x%016llx (not a ring, or not initialised yet)",
                    name, (unsigned long long)magic, (unsigned long long)IPCB_RING_MAGIC);
    if (version != IPCB_RING_VERSION)
        return fail(r, EPROTO, "ring %s: version %u, expected %u", name, version, IPCB_RING_VERSION);
    if (header_size != IPCB_RING_HEADER_SIZE)
        return fail(r, EPROTO, "ring %s: header_size %u, expected %d", name, header_size,
                    IPCB_RING_HEADER_SIZE);
    if (check_geometry(r, name, copy->capacity, copy->max_message, copy->flags, EPROTO) != 0)
        return -1;
    if (size < IPCB_RING_SEGMENT_SIZE(copy->capacity))
        return fail(r, EPROTO, "ring %s: %llu bytes, smaller than the %llu of capacity %llu", name,
                    (unsigned long long)size, (unsigned long long)IPCB_RING_SEGMENT_SIZE(copy->capacity),
                    (unsigned long long)copy->capacity);
    return 0;
}

/* Maps the ring open on fd (which stays open) and checks its header; `name`
 * is for messages. */
static int open_mapped(struct ipcb_ring *r, const char *name, int fd)
{
    struct ipcb_ring_header geometry;
    struct stat st;
    void *base;
    int err;

    if (fstat(fd, &st) != 0)
        return fail(r, errno, "fstat(%s): %s", name, strerror(errno));
    if (st.st_size < IPCB_RING_HEADER_SIZE || (uint64_t)st.st_size > SIZE_MAX)
        return fail(r, EPROTO, "ring %s: %lld bytes, no room for the %d-byte header", name,
                    (long long)st.st_size, IPCB_RING_HEADER_SIZE);
    base = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (base == MAP_FAILED) {
        err = errno;
        return fail(r, err, "mmap(%s, %lld): %s", name, (long long)st.st_size, strerror(err));
    }
    if (check_header(r, name, base, (uint64_t)st.st_size, &geometry) != 0) {
        munmap(base, (size_t)st.st_size);
        errno = EPROTO;
        return -1;
    }
    init_handle(r, base, (size_t)st.st_size, &geometry);
    return 0;
}

int ipcb_ring_open(struct ipcb_ring *r, const char *name)
{
    int fd, rc, err;

    if (check_name(r, name) != 0)
        return -1;
    fd = shm_open(name, O_RDWR | O_CLOEXEC, 0);
    if (fd < 0)
        return fail(r, errno, "shm_open(%s): %s", name, strerror(errno));
    rc = open_mapped(r, name, fd);
    err = errno;
    close(fd);
    errno = err;
    return rc;
}

int ipcb_ring_open_fd(struct ipcb_ring *r, int fd)
{
    char name[32];

    r->error[0] = '\0';
    r->header = NULL;
    snprintf(name, sizeof name, "fd %d", fd);
    return open_mapped(r, name, fd);
}

void ipcb_ring_close(struct ipcb_ring *r)
{
    struct ipcb_ring_header *h = r->header;
    int32_t me = (int32_t)getpid();

    if (h == NULL)
        return;
    forget_parents(r);
    unwatch_all(r); /* before the unmap: the watcher writes to the futex words */
    /* A multi-producer claim never committed would stop the consumer there for
     * good: give it up (its length was stored at the claim). */
    if (r->claim_end != 0 && (r->flags & IPCB_RING_MULTI_PRODUCER) != 0) {
        atomic_store_explicit(&record_at(r, r->claim_at)->type, IPCB_RING_ABANDONED, memory_order_release);
        wake(&h->data_futex, &h->data_waiters);
    }
    r->claim_end = 0;
    if (r->producer_slot >= 0)
        release_pid_word(&h->producer_pids[r->producer_slot], me);
    if (r->consumer_registered)
        release_pid_word(&h->consumer_pid, me);
    munmap((void *)h, r->mapped);
    r->header = NULL;
    r->data = NULL;
}

const char *ipcb_ring_error(const struct ipcb_ring *r)
{
    return r->error;
}

/* ------------------------------------------------------------- registration */

/* Takes the pid word from 0, or from a pid that is gone, to our pid. */
static int take_pid_word(_Atomic int32_t *word, int32_t me)
{
    int32_t seen = atomic_load(word);

    return (seen == 0 || !alive(seen)) && atomic_compare_exchange_strong(word, &seen, me);
}

/* Takes producer slot i as take_pid_word does, but not from a dead pid
 * whose last claim the consumer has not passed yet: the consumer needs its
 * announcement to know the claim (see Claims in the header). */
static int take_producer_slot(struct ipcb_ring *r, int i, int32_t me)
{
    struct ipcb_ring_header *h = r->header;
    int32_t seen = atomic_load(&h->producer_pids[i]);

    if (seen != 0) {
        uint64_t end = atomic_load_explicit(&h->claim_end[i], memory_order_acquire);
        uint64_t released = atomic_load_explicit(&h->consumer_position, memory_order_acquire);

        if (alive(seen) || (end != 0 && (int64_t)(end - released) > 0))
            return 0;
    }
    return atomic_compare_exchange_strong(&h->producer_pids[i], &seen, me);
}

/* A live producer other than in slot `mine`, or 0. */
static int32_t other_producer(const struct ipcb_ring *r, int mine)
{
    for (int i = 0; i < IPCB_RING_MAX_PRODUCERS; i++) {
        int32_t pid = atomic_load(&r->header->producer_pids[i]);
        if (i != mine && pid != 0 && alive(pid))
            return pid;
    }
    return 0;
}

static int register_producer(struct ipcb_ring *r)
{
    struct ipcb_ring_header *h = r->header;
    int single = (r->flags & IPCB_RING_MULTI_PRODUCER) == 0;
    int32_t me = (int32_t)getpid(), other;
    uint64_t p;

    if (single && (other = other_producer(r, -1)) != 0)
        return fail(r, EBUSY, "single-producer ring: producer pid %d is attached", (int)other);
    for (int i = 0; i < IPCB_RING_MAX_PRODUCERS && r->producer_slot < 0; i++)
        if (take_producer_slot(r, i, me))
            r->producer_slot = i;
    if (r->producer_slot < 0)
        return fail(r, EBUSY, "all %d producer slots hold live pids, or dead ones whose last claim is not consumed yet",
                    IPCB_RING_MAX_PRODUCERS);
    p = atomic_load_explicit(&h->producer_position, memory_order_acquire);
    if (single && (other = other_producer(r, r->producer_slot)) != 0)
        fail(r, EBUSY, "single-producer ring: producer pid %d is attached", (int)other); /* lost a race */
    else if (p % IPCB_RING_ALIGNMENT != 0)
        fail(r, EPROTO, "producer_position %llu is not 8-byte aligned", (unsigned long long)p);
    else {
        r->next_write = p;
        r->cached_consumer = atomic_load_explicit(&h->consumer_position, memory_order_acquire);
        r->self = me;
        wake(&h->data_futex, &h->data_waiters); /* a sleeping consumer starts watching us */
        return 0;
    }
    release_pid_word(&h->producer_pids[r->producer_slot], me);
    r->producer_slot = -1;
    return -1;
}

static int register_consumer(struct ipcb_ring *r)
{
    struct ipcb_ring_header *h = r->header;
    uint64_t c;

    if (!take_pid_word(&h->consumer_pid, (int32_t)getpid()))
        return fail(r, EBUSY, "consumer pid %d is attached", (int)atomic_load(&h->consumer_pid));
    c = atomic_load_explicit(&h->consumer_position, memory_order_acquire);
    if (c % IPCB_RING_ALIGNMENT != 0) {
        release_pid_word(&h->consumer_pid, (int32_t)getpid());
        return fail(r, EPROTO, "consumer_position %llu is not 8-byte aligned", (unsigned long long)c);
    }
    r->consumer_registered = 1;
    r->next_read = c;
    r->cached_producer = c;
    r->self = (int32_t)getpid();
    wake(&h->space_futex, &h->space_waiters); /* sleeping producers start watching us */
    return 0;
}

/* ------------------------------------------------------------------ waiting */

/* Producer: does a record of len bytes fit at the current position? */
static int space_ready(struct ipcb_ring *r, uint32_t len)
{
    uint64_t p = (r->flags & IPCB_RING_MULTI_PRODUCER) != 0
                     ? atomic_load_explicit(&r->header->producer_position, memory_order_relaxed)
                     : r->next_write;
    uint64_t need = p + padding_before(r, p, len) + IPCB_RING_RECORD_SIZE(len);

    if (need - r->cached_consumer <= r->capacity)
        return 1;
    r->cached_consumer = atomic_load_explicit(&r->header->consumer_position, memory_order_acquire);
    return need - r->cached_consumer <= r->capacity;
}

/* Consumer: is there a published (single) or committed (multi) record? */
static int data_ready(struct ipcb_ring *r)
{
    if ((r->flags & IPCB_RING_MULTI_PRODUCER) != 0)
        return atomic_load_explicit(&record_at(r, r->next_read)->type, memory_order_acquire) != 0;
    if (r->cached_producer != r->next_read)
        return 1;
    r->cached_producer = atomic_load_explicit(&r->header->producer_position, memory_order_acquire);
    return r->cached_producer != r->next_read;
}

static int ready(struct ipcb_ring *r, enum side side, uint32_t len)
{
    return side == CONSUMER ? data_ready(r) : space_ready(r, len);
}

/*
 * Whether a claim announced as [at, end) starts at the consumer's head: at
 * the head itself, or before the padding that ends at the start of the data
 * area where the head is. It must also be a claim the ring could hold: 8-byte
 * aligned, no larger than a record of max_message and the padding before it,
 * and within producer_position (the announcement is untrusted, and the
 * consumer zeroes what it covers).
 */
static int claim_starts_head(const struct ipcb_ring *r, uint64_t at, uint64_t end, uint64_t published)
{
    uint64_t head = r->next_read, room = tail_room(r, at);

    if (at % IPCB_RING_ALIGNMENT != 0 || end % IPCB_RING_ALIGNMENT != 0 || (int64_t)(end - head) <= 0
        || (int64_t)(published - end) < 0)
        return 0;
    if (at != head && !((head & (r->capacity - 1)) == 0 && head - at == room))
        return 0;
    /* padded: the record starts the data area */
    return (end - at > room ? end - at - room : end - at) <= IPCB_RING_RECORD_SIZE(r->max_message);
}

/*
 * Consumer of a multi-producer ring, at a record not committed: finds who
 * claimed it (see Claims in the header). 1: all claimers are dead and agree,
 * so the claim was zeroed and released; 0: a claimer lives (or none is
 * known), wait; -1: dead claimers disagree, *dead_pid is one.
 */
static int skip_dead_claim(struct ipcb_ring *r, uint64_t published, int32_t *dead_pid)
{
    struct ipcb_ring_header *h = r->header;
    uint64_t head = r->next_read, at = 0, end = 0;
    int found = 0;

    for (int i = 0; i < IPCB_RING_MAX_PRODUCERS; i++) {
        int32_t pid = atomic_load(&h->producer_pids[i]);
        uint64_t e = atomic_load_explicit(&h->claim_end[i], memory_order_acquire);
        uint64_t a = atomic_load_explicit(&h->claim_at[i], memory_order_acquire);

        if (!claim_starts_head(r, a, e, published))
            continue;
        if (pid == 0 || pid == r->self || alive(pid))
            return 0; /* a live claimer; or a handle closed while its offer still commits */
        if (found && (e != end || a != at)) {
            *dead_pid = pid;
            return -1;
        }
        found = 1;
        at = a;
        end = e;
    }
    /* A live claimer that committed meanwhile and announced its next claim
     * is not among them: its announcements come after its commit (release),
     * which these acquire loads make visible now. */
    if (!found || data_ready(r))
        return 0;
    if (at == head && end - at > tail_room(r, at)) { /* its padding was never committed */
        memset(r->data + (at & (r->capacity - 1)), 0, tail_room(r, at));
        memset(r->data, 0, end - at - tail_room(r, at));
    } else {
        memset(r->data + (head & (r->capacity - 1)), 0, end - head);
    }
    r->next_read = end;
    atomic_store_explicit(&h->consumer_position, end, memory_order_release);
    wake(&h->space_futex, &h->space_waiters);
    return 1;
}

/*
 * The pid of a registered peer that is gone and blocks the waiter, or 0. A
 * dead producer of a multi-producer ring blocks the consumer when no live
 * producer is left and nothing is left to read; the records dead producers
 * claimed and never committed are skipped (skip_dead_claim), and r->suspect
 * asks the waiter to look again every IPCB_RING_LIVENESS_NS while a claim at
 * the head may be a dead one's.
 */
static int32_t dead_peer(struct ipcb_ring *r, enum side side)
{
    int multi = (r->flags & IPCB_RING_MULTI_PRODUCER) != 0;
    int registered = 0, dead = 0;
    int32_t dead_pid = 0;
    uint64_t published;

    if (side == PRODUCER) {
        int32_t pid = atomic_load(&r->header->consumer_pid);
        return alive(pid) ? 0 : pid;
    }
    for (int i = 0; i < (multi ? IPCB_RING_MAX_PRODUCERS : 1); i++) {
        int32_t pid = atomic_load(&r->header->producer_pids[i]);
        if (pid != 0) {
            registered++; /* our own process's producer counts too: it lives */
            if (pid != r->self && !alive(pid)) {
                dead++;
                dead_pid = pid;
            }
        }
    }
    r->suspect = 0;
    if (dead == 0)
        return 0;
    if (multi) {
        /* the records dead producers claimed and never committed, one after
         * the other; a claim a live one holds is looked at again later */
        published = atomic_load_explicit(&r->header->producer_position, memory_order_acquire);
        while (published != r->next_read && !data_ready(r)) {
            int skipped = skip_dead_claim(r, published, &dead_pid);
            if (skipped < 0) {
                r->suspect = 1; /* dead claimers disagree: reported at every look */
                return dead_pid;
            }
            if (skipped == 0) {
                r->suspect = 1;
                break;
            }
        }
        if (dead < registered)
            return 0; /* live producers to wait for */
    }
    return data_ready(r) ? 0 : dead_pid; /* published before it died: read first */
}

/* The registered pids of the side `side` waits for, but ours; returns how many. */
static int peers_of(const struct ipcb_ring *r, enum side side, int32_t *pids)
{
    int n = 0;

    if (side == PRODUCER) {
        int32_t pid = atomic_load(&r->header->consumer_pid);
        if (pid != 0 && pid != r->self)
            pids[n++] = pid;
        return n;
    }
    for (int i = 0; i < IPCB_RING_MAX_PRODUCERS; i++) {
        int32_t pid = atomic_load(&r->header->producer_pids[i]);
        if (pid != 0 && pid != r->self)
            pids[n++] = pid;
    }
    return n;
}

/*
 * Waits until ready(r, side, len): 0; or -1 (EAGAIN for NOWAIT, ETIMEDOUT),
 * or IPCB_RING_PEER_DIED. BLOCK follows the event-count protocol of the
 * header on data_* (consumer) or space_* (producer), sleeping without a
 * timeout while the peer watcher watches the peers.
 */
static int wait_for(struct ipcb_ring *r, enum side side, uint32_t len, int wait, int64_t timeout_ns)
{
    struct ipcb_ring_header *h = r->header;
    _Atomic uint32_t *word = side == CONSUMER ? &h->data_futex : &h->space_futex;
    _Atomic uint32_t *waiters = side == CONSUMER ? &h->data_waiters : &h->space_waiters;
    const char *what = side == CONSUMER ? "a record" : "space";
    int64_t deadline = timeout_ns < 0 ? INT64_MAX : -1;

    if (wait != IPCB_RING_NOWAIT && wait != IPCB_RING_SPIN && wait != IPCB_RING_BLOCK)
        return fail(r, EINVAL, "unknown wait strategy %d", wait);
    for (unsigned round = 0;; round++) {
        int64_t now = 0;
        int32_t dead, pids[IPCB_RING_MAX_PRODUCERS];
        int watched = 0;
        uint32_t deaths = 0;

        if (ready(r, side, len))
            return 0;
        if (wait == IPCB_RING_SPIN && round % SPIN_ROUNDS != 0) {
            cpu_relax();
            continue;
        }
        if (wait == IPCB_RING_BLOCK && timeout_ns != 0 && round <= block_spin_rounds()) {
            if (round == 0)
                sched_yield();
            else
                cpu_relax();
            continue;
        }
        if (wait == IPCB_RING_BLOCK) {
            deaths = atomic_load(&r->deaths[side]);
            watched = follow(r, side, pids, peers_of(r, side, pids));
        }
        /* a claim at the head a dead producer may hold (r->suspect): looked at
         * again every IPCB_RING_LIVENESS_NS, as without the watcher (see dead_peer) */
        int suspect = side == CONSUMER && r->suspect;
        if (!watched || suspect || deadline != INT64_MAX || deaths != r->deaths_seen[side]) {
            now = now_ns();
            if (deadline < 0) /* a timeout past INT64_MAX ns from now is for ever */
                deadline = timeout_ns > INT64_MAX - now ? INT64_MAX : now + timeout_ns;
        }
        /* Without the watcher, look at the pids every IPCB_RING_LIVENESS_NS;
         * with it, when it counted a death. */
        if ((watched && deaths != r->deaths_seen[side]) || ((!watched || suspect) && now >= r->liveness_due)) {
            r->deaths_seen[side] = deaths;
            r->liveness_due = now + IPCB_RING_LIVENESS_NS;
            dead = dead_peer(r, side);
            suspect = side == CONSUMER && r->suspect;
            if (dead != 0) {
                fail(r, EOWNERDEAD, "%s died: pid %d is gone", side == CONSUMER ? "producer" : "consumer", (int)dead);
                return IPCB_RING_PEER_DIED;
            }
            if (ready(r, side, len)) /* a dead producer's claim skipped: what follows it */
                return 0;
            if (watched && forget_reused(r, side))
                continue;
        }
        if (wait == IPCB_RING_NOWAIT)
            return fail(r, EAGAIN, "no %s now", side == CONSUMER ? "record" : "space");
        if (deadline != INT64_MAX && now >= deadline)
            return fail(r, ETIMEDOUT, "timed out waiting for %s", what);
        if (wait == IPCB_RING_SPIN) {
            if (round != 0)
                sched_yield();
            continue;
        }

        uint32_t seq = atomic_load(word);
        atomic_fetch_add(waiters, 1);
        if (!ready(r, side, len) && atomic_load(&r->deaths[side]) == deaths) {
            int64_t ns = watched && !suspect ? deadline - now : IPCB_RING_LIVENESS_NS;
            if (deadline - now < ns)
                ns = deadline - now;
            struct timespec ts = { (time_t)(ns / 1000000000), (long)(ns % 1000000000) };
            /* woken, EAGAIN, EINTR, ETIMEDOUT: look again */
            futex(word, FUTEX_WAIT, seq, watched && !suspect && deadline == INT64_MAX ? NULL : &ts);
        }
        atomic_fetch_sub(waiters, 1);
    }
}

/* ----------------------------------------------------------------- producer */

/* An unknown wait strategy: EINVAL before anything else, whether or not the call would wait. */
static int check_wait(struct ipcb_ring *r, int wait)
{
    if (wait != IPCB_RING_NOWAIT && wait != IPCB_RING_SPIN && wait != IPCB_RING_BLOCK)
        return fail(r, EINVAL, "unknown wait strategy %d", wait);
    return 0;
}

/* Claims a record of len bytes if it fits now; 1 if claimed. */
static int try_claim(struct ipcb_ring *r, uint32_t len)
{
    struct ipcb_ring_header *h = r->header;
    int multi = (r->flags & IPCB_RING_MULTI_PRODUCER) != 0;
    uint64_t p, pad, end;

    if (!multi) {
        if (!space_ready(r, len))
            return 0;
        p = r->next_write;
        pad = padding_before(r, p, len);
        end = p + pad + IPCB_RING_RECORD_SIZE(len);
    } else {
        p = atomic_load_explicit(&h->producer_position, memory_order_relaxed);
        do {
            if (p % IPCB_RING_ALIGNMENT != 0)
                return fail(r, EPROTO, "producer_position %llu is not 8-byte aligned", (unsigned long long)p);
            pad = padding_before(r, p, len);
            end = p + pad + IPCB_RING_RECORD_SIZE(len);
            if (end - r->cached_consumer > r->capacity) {
                r->cached_consumer = atomic_load_explicit(&h->consumer_position, memory_order_acquire);
                if (end - r->cached_consumer > r->capacity) {
                    /* withdraws an announcement of a claim another producer won:
                     * were its winner to die, it would keep the consumer waiting
                     * at that claim while we wait for room */
                    atomic_store_explicit(&h->claim_end[r->producer_slot], 0, memory_order_release);
                    return 0;
                }
            }
            /* the announcement (see Claims in the header), ordered before the claim by its release */
            atomic_store_explicit(&h->claim_at[r->producer_slot], p, memory_order_release);
            atomic_store_explicit(&h->claim_end[r->producer_slot], end, memory_order_release);
        } while (!atomic_compare_exchange_weak_explicit(&h->producer_position, &p, end,
                                                        memory_order_acq_rel, memory_order_relaxed));
    }
    if (pad != 0) {
        struct ipcb_ring_record *padding = record_at(r, p);
        padding->length = (int32_t)(pad - IPCB_RING_RECORD_HEADER);
        atomic_store_explicit(&padding->type, IPCB_RING_PADDING,
                              multi ? memory_order_release : memory_order_relaxed);
    }
    r->claim_at = p + pad;
    r->claim_end = end;
    record_at(r, r->claim_at)->length = (int32_t)len;
    return 1;
}

int ipcb_ring_claim(struct ipcb_ring *r, uint32_t len, void **payload, int wait, int64_t timeout_ns)
{
    int rc;

    if (check_wait(r, wait) != 0)
        return -1;
    forget_parents(r);
    if (r->claim_end != 0)
        return fail(r, EINVAL, "claim: the previous claim is not committed");
    if (len > r->max_message)
        return fail(r, EMSGSIZE, "message of %u bytes, above max_message %u", len, r->max_message);
    if (r->producer_slot < 0 && register_producer(r) != 0)
        return -1;
    while ((rc = try_claim(r, len)) == 0)
        if ((rc = wait_for(r, PRODUCER, len, wait, timeout_ns)) != 0)
            return rc;
    if (rc < 0)
        return rc;
    *payload = (uint8_t *)record_at(r, r->claim_at) + IPCB_RING_RECORD_HEADER;
    return 0;
}

int ipcb_ring_commit(struct ipcb_ring *r)
{
    struct ipcb_ring_header *h = r->header;
    struct ipcb_ring_record *rec;

    forget_parents(r);
    if (r->claim_end == 0)
        return fail(r, EINVAL, "commit: nothing claimed");
    rec = record_at(r, r->claim_at);
    if ((r->flags & IPCB_RING_MULTI_PRODUCER) != 0) {
        atomic_store_explicit(&rec->type, IPCB_RING_MESSAGE, memory_order_release);
    } else {
        atomic_store_explicit(&rec->type, IPCB_RING_MESSAGE, memory_order_relaxed);
        r->next_write = r->claim_end;
        atomic_store_explicit(&h->producer_position, r->claim_end, memory_order_release);
    }
    r->claim_end = 0;
    wake(&h->data_futex, &h->data_waiters);
    return 0;
}

int ipcb_ring_offer(struct ipcb_ring *r, const void *data, uint32_t len, int wait, int64_t timeout_ns)
{
    void *payload;
    int rc = ipcb_ring_claim(r, len, &payload, wait, timeout_ns);

    if (rc != 0)
        return rc;
    if (len != 0) /* data may be NULL for an empty message (memcpy with NULL is UB even for 0 bytes) */
        memcpy(payload, data, len);
    return ipcb_ring_commit(r);
}

/* ----------------------------------------------------------------- consumer */

/* Zeroes a consumed record (multi) and releases its space up to `end`. */
static void release_to(struct ipcb_ring *r, struct ipcb_ring_record *rec, uint64_t end)
{
    struct ipcb_ring_header *h = r->header;

    if ((r->flags & IPCB_RING_MULTI_PRODUCER) != 0) {
        memset((uint8_t *)rec + IPCB_RING_RECORD_HEADER, 0, end - r->next_read - IPCB_RING_RECORD_HEADER);
        rec->length = 0;
        atomic_store_explicit(&rec->type, 0, memory_order_relaxed);
    }
    r->next_read = end;
    atomic_store_explicit(&h->consumer_position, end, memory_order_release);
    wake(&h->space_futex, &h->space_waiters);
}

int ipcb_ring_read(struct ipcb_ring *r, const void **payload, uint32_t *len, int wait, int64_t timeout_ns)
{
    int single = (r->flags & IPCB_RING_MULTI_PRODUCER) == 0;
    int rc;

    if (check_wait(r, wait) != 0)
        return -1;
    forget_parents(r);
    if (r->read_end != 0)
        return fail(r, EINVAL, "read: the previous record is not released");
    if (!r->consumer_registered && register_consumer(r) != 0)
        return -1;
    for (;;) {
        struct ipcb_ring_record *rec;
        uint64_t room, published;
        int32_t type, length;

        if (!data_ready(r) && (rc = wait_for(r, CONSUMER, 0, wait, timeout_ns)) != 0)
            return rc;
        /* Single producer: producer_position is untrusted too. It is never
         * more than a capacity ahead, and a record never reaches past it (the
         * producer publishes whole records, padding included): otherwise a
         * consumer would run past the producer, e.g. around a ring of padding
         * records for ever. */
        published = single ? r->cached_producer - r->next_read : UINT64_MAX;
        if (published > (single ? r->capacity : UINT64_MAX))
            return fail(r, EPROTO, "producer_position %llu is not within capacity %llu of consumer position %llu",
                        (unsigned long long)r->cached_producer, (unsigned long long)r->capacity,
                        (unsigned long long)r->next_read);
        rec = record_at(r, r->next_read);
        room = tail_room(r, r->next_read);
        type = atomic_load_explicit(&rec->type, memory_order_acquire);
        length = rec->length;
        if (type == IPCB_RING_PADDING && (uint64_t)length + IPCB_RING_RECORD_HEADER == room && room <= published) {
            release_to(r, rec, r->next_read + room);
            continue;
        }
        if ((type != IPCB_RING_MESSAGE && type != IPCB_RING_ABANDONED) || length < 0
            || (uint32_t)length > r->max_message || IPCB_RING_RECORD_SIZE(length) > room
            || IPCB_RING_RECORD_SIZE(length) > published)
            return fail(r, EPROTO, "corrupt record at position %llu: type %d, length %d%s",
                        (unsigned long long)r->next_read, (int)type, (int)length,
                        single && length >= 0 && IPCB_RING_RECORD_SIZE(length) > published
                            ? ", beyond producer_position" : "");
        if (type == IPCB_RING_ABANDONED) { /* a claim its producer gave up */
            release_to(r, rec, r->next_read + IPCB_RING_RECORD_SIZE(length));
            continue;
        }
        *payload = (uint8_t *)rec + IPCB_RING_RECORD_HEADER;
        *len = (uint32_t)length;
        r->read_end = r->next_read + IPCB_RING_RECORD_SIZE(length);
        return 0;
    }
}

int ipcb_ring_release(struct ipcb_ring *r)
{
    struct ipcb_ring_record *rec;

    forget_parents(r);
    if (r->read_end == 0)
        return fail(r, EINVAL, "release: nothing read");
    rec = record_at(r, r->next_read);
    if ((r->flags & IPCB_RING_MULTI_PRODUCER) != 0) {
        /* abandoned before it is zeroed: a consumer killed while zeroing it
         * leaves a record the next one skips, not a message torn by the zeroes */
        atomic_store_explicit(&rec->type, IPCB_RING_ABANDONED, memory_order_relaxed);
        atomic_signal_fence(memory_order_seq_cst); /* ...and before the zeroes in program order */
    }
    release_to(r, rec, r->read_end);
    r->read_end = 0;
    return 0;
}

int ipcb_ring_poll(struct ipcb_ring *r, void *buf, uint32_t cap, uint32_t *len, int wait, int64_t timeout_ns)
{
    const void *payload;
    int rc = ipcb_ring_read(r, &payload, len, wait, timeout_ns);

    if (rc != 0)
        return rc;
    if (*len > cap) {
        r->read_end = 0; /* the record stays for the next read */
        return fail(r, EMSGSIZE, "record of %u bytes, buffer of %u", *len, cap);
    }
    if (*len != 0) /* buf may be NULL with cap 0 */
        memcpy(buf, payload, *len);
    return ipcb_ring_release(r);
}
