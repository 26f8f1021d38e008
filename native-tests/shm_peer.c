/*
 * shm_peer.c -- C peer for POSIX shared memory tests of ipcbridge.
 *
 * SHM is a shared memory object name with its leading slash ("/ipcb-x").
 * The peer never creates, resizes or unlinks a segment (the Java side does),
 * except truncate (which resizes on purpose).  Segments are
 * opened with shm_open, sized with fstat and mapped MAP_SHARED.  The
 * bounded buffer ("BB") layout and protocol are defined in
 * include/ipcb_bounded.h.
 *
 * Modes:
 *   shm_peer bb-produce SHM COUNT named|unnamed
 *       Open the bounded buffer SHM (checks magic, slots >= 1,
 *       record_size >= 8, segment size; exit 2 if wrong) with its named
 *       semaphores SHM-empty/-full/-mutex or the unnamed ones in the header.
 *       COUNT times: wait(empty); wait(mutex); write record n (n = 0..COUNT-1:
 *       seq n as 8 bytes little-endian, then (n & 0xff) filler) at head;
 *       head++; post(mutex); post(full).  Pass (exit 0): all written.
 *
 *   shm_peer bb-consume SHM COUNT named|unnamed
 *       The consumer side: COUNT times wait(full); wait(mutex); check the
 *       record at tail; tail++; post(mutex); post(empty).  Prints
 *       "received COUNT".  Pass (exit 0): records 0..COUNT-1 in order.
 *       First wrong sequence number or filler byte: one line on stderr,
 *       exit 1.
 *
 *   shm_peer spin-pong SHM OFFSET ROUNDS
 *       The 4-byte int at OFFSET (4-aligned, inside the segment, initially
 *       0) is used as a C11 atomic_int.  For i in 0..ROUNDS-1: spin (with a
 *       CPU pause) until load(acquire) == 2i+1, then store(2i+2, release).
 *       Exit 0.
 *
 *   shm_peer write SHM OFFSET HEX
 *       Write the bytes given in HEX ("" = none) at OFFSET.  A range past
 *       the end of the segment: exit 2.  Exit 0.
 *
 *   shm_peer read SHM OFFSET LENGTH
 *       Print LENGTH bytes at OFFSET as lowercase hex and a newline.  A range
 *       past the end: exit 2.  Exit 0.
 *
 *   shm_peer truncate SHM
 *       ftruncate(fd, 0).  Exit 0.
 *
 *   shm_peer probe-fd FD LENGTH
 *       Probes the segment open on FD (e.g. a memfd handed over on fd 3)
 *       as an untrusted receiver would, printing one line each:
 *       "seals 0xN" (fcntl F_GET_SEALS), "size N" (fstat), then the errno
 *       name of each attempt to change it, or "ok": "pwrite E",
 *       "ftruncate E" (to 0), "mmap-write E" (PROT_WRITE, MAP_SHARED),
 *       "add-seals E" (F_SEAL_FUTURE_WRITE), and last the first LENGTH
 *       bytes as lowercase hex through a read-only mapping.  Exit 0.
 *
 * Environment or syscall errors exit 2; shm_open / sem_open failing with
 * ENOSYS exits 4.  Usage errors exit 2 with a usage line on stderr.
 */
#include "peer.h"
#include "ipcb_bounded.h"

#include <limits.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "atomic_int must be lock-free");
_Static_assert(sizeof(atomic_int) == 4, "atomic_int must be 4 bytes");

static const char usage_text[] =
    "usage: shm_peer bb-produce SHM COUNT named|unnamed\n"
    "       shm_peer bb-consume SHM COUNT named|unnamed\n"
    "       shm_peer spin-pong SHM OFFSET ROUNDS\n"
    "       shm_peer write SHM OFFSET HEX\n"
    "       shm_peer read SHM OFFSET LENGTH\n"
    "       shm_peer truncate SHM\n"
    "       shm_peer probe-fd FD LENGTH\n";

_Noreturn static void usage(void)
{
    fputs(usage_text, stderr);
    exit(PEER_BROKEN);
}

/* ------------------------------------------------------ semaphore helpers */

/* sem_wait, retrying EINTR. */
static void sem_take(sem_t *s, const char *what)
{
    int r;
    do {
        r = sem_wait(s);
    } while (r != 0 && errno == EINTR);
    if (r != 0)
        peer_die(PEER_BROKEN, "sem_wait %s: %s", what, strerror(errno));
}

static void sem_give(sem_t *s, const char *what)
{
    if (sem_post(s) != 0)
        peer_die(PEER_BROKEN, "sem_post %s: %s", what, strerror(errno));
}

static void check_name(const char *name)
{
    if (name[0] != '/')
        peer_die(PEER_BROKEN, "name '%s' must start with '/'", name);
}

/* sem_open(name, oflag[, 0600, 0]); exits 4 on ENOSYS, 2 on other errors. */
static sem_t *sem_open_peer(const char *name, int oflag)
{
    sem_t *s;

    check_name(name);
    s = sem_open(name, oflag, 0600, 0u);
    if (s == SEM_FAILED)
        peer_die(errno == ENOSYS ? PEER_UNSUPPORTED : PEER_BROKEN,
                 "sem_open %s: %s", name, strerror(errno));
    return s;
}

/* ----------------------------------------------------------- segment helpers */

typedef struct {
    const char *name;
    int fd;
    uint8_t *base; /* NULL when not mapped or size 0 */
    size_t size;
} shm_seg;

/* shm_open(name, oflag, mode) without mapping. */
static void seg_open(shm_seg *s, const char *name, int oflag, mode_t mode)
{
    check_name(name);
    s->fd = shm_open(name, oflag, mode);
    if (s->fd < 0)
        peer_die(errno == ENOSYS ? PEER_UNSUPPORTED : PEER_BROKEN,
                 "shm_open %s: %s", name, strerror(errno));
    s->name = name;
    s->base = NULL;
    s->size = 0;
}

/* Map the whole object (size from fstat) MAP_SHARED with prot. */
static void seg_map(shm_seg *s, int prot)
{
    struct stat st;
    void *p;

    CHECK(fstat(s->fd, &st) == 0);
    if ((uint64_t)st.st_size > SIZE_MAX)
        peer_die(PEER_BROKEN, "%s: size %lld too large", s->name,
                 (long long)st.st_size);
    s->size = (size_t)st.st_size;
    if (s->size == 0)
        return;
    p = mmap(NULL, s->size, prot, MAP_SHARED, s->fd, 0);
    if (p == MAP_FAILED)
        peer_die(PEER_BROKEN, "mmap %s (%zu bytes): %s", s->name, s->size,
                 strerror(errno));
    s->base = p;
}

static void seg_open_map(shm_seg *s, const char *name, int writable)
{
    seg_open(s, name, writable ? O_RDWR : O_RDONLY, 0);
    seg_map(s, writable ? PROT_READ | PROT_WRITE : PROT_READ);
}

static void seg_close(shm_seg *s)
{
    if (s->base != NULL)
        CHECK(munmap(s->base, s->size) == 0);
    CHECK(close(s->fd) == 0);
}

/* Exit 2 unless [off, off + len) lies inside the segment. */
static void seg_check_range(const shm_seg *s, uint64_t off, uint64_t len,
                            const char *what)
{
    if (off > s->size || len > s->size - off)
        peer_die(PEER_BROKEN, "%s: %llu bytes at offset %llu are past the end "
                 "of %s (%zu bytes)", what, (unsigned long long)len,
                 (unsigned long long)off, s->name, s->size);
}

/* ---------------------------------------------------------- bounded buffer */

typedef struct {
    shm_seg seg;
    ipcb_bb_header *h;
    sem_t *empty, *full, *mutex;
    int named; /* semaphores come from sem_open (to sem_close) */
    uint32_t slots, record_size;
} bb;

/* Open the named semaphore shm + suffix (must exist). */
static sem_t *bb_open_named_sem(const char *shm, const char *suffix)
{
    char name[NAME_MAX + 2];
    int n = snprintf(name, sizeof name, "%s%s", shm, suffix);

    if (n < 0 || (size_t)n >= sizeof name)
        peer_die(PEER_BROKEN, "semaphore name %s%s too long", shm, suffix);
    return sem_open_peer(name, 0);
}

/* Validate the header of the mapped b->seg and set up the semaphores. */
static void bb_attach(bb *b, int named)
{
    const shm_seg *s = &b->seg;

    if (s->size < IPCB_BB_OFF_DATA)
        peer_die(PEER_BROKEN, "%s: %zu bytes, too small for a bounded buffer "
                 "header", s->name, s->size);
    b->h = (ipcb_bb_header *)s->base;
    if (b->h->magic != IPCB_BB_MAGIC)
        peer_die(PEER_BROKEN, "%s: bad magic 0x%08x (expected 0x%08x)",
                 s->name, (unsigned)b->h->magic, (unsigned)IPCB_BB_MAGIC);
    b->slots = b->h->slots;
    b->record_size = b->h->record_size;
    if (b->slots < 1 || b->record_size < IPCB_BB_MIN_RECORD_SIZE)
        peer_die(PEER_BROKEN, "%s: bad header: slots %u, record_size %u",
                 s->name, (unsigned)b->slots, (unsigned)b->record_size);
    if (s->size < IPCB_BB_SIZE(b->slots, b->record_size))
        peer_die(PEER_BROKEN, "%s: %zu bytes, need %llu for %u slots of %u "
                 "bytes", s->name, s->size,
                 (unsigned long long)IPCB_BB_SIZE(b->slots, b->record_size),
                 (unsigned)b->slots, (unsigned)b->record_size);
    b->named = named;
    if (named) {
        b->empty = bb_open_named_sem(s->name, IPCB_BB_SUFFIX_EMPTY);
        b->full = bb_open_named_sem(s->name, IPCB_BB_SUFFIX_FULL);
        b->mutex = bb_open_named_sem(s->name, IPCB_BB_SUFFIX_MUTEX);
    } else {
        b->empty = &b->h->empty;
        b->full = &b->h->full;
        b->mutex = &b->h->mutex;
    }
}

static void bb_open(bb *b, const char *name, int named)
{
    seg_open_map(&b->seg, name, 1);
    bb_attach(b, named);
}

static void bb_close(bb *b)
{
    if (b->named) {
        CHECK(sem_close(b->empty) == 0);
        CHECK(sem_close(b->full) == 0);
        CHECK(sem_close(b->mutex) == 0);
    }
    seg_close(&b->seg);
}

static uint64_t load_le64(const uint8_t *p)
{
    return (uint64_t)peer_load_le32(p) | (uint64_t)peer_load_le32(p + 4) << 32;
}

/* Produce records 0..count-1 (sequence number and filler). */
static void bb_produce(bb *b, uint64_t count)
{
    for (uint64_t n = 0; n < count; n++) {
        uint8_t *rec;

        sem_take(b->empty, "empty");
        sem_take(b->mutex, "mutex");
        rec = b->seg.base +
              IPCB_BB_RECORD_OFF(b->h->head, b->slots, b->record_size);
        peer_store_le64(rec, n);
        memset(rec + IPCB_BB_SEQ_SIZE, (int)(n & 0xff),
               b->record_size - IPCB_BB_SEQ_SIZE);
        b->h->head++;
        sem_give(b->mutex, "mutex");
        sem_give(b->full, "full");
    }
}

/* Exit 1 unless rec is record n. */
static void record_check(const char *who, const uint8_t *rec, uint32_t size,
                         uint64_t n)
{
    uint64_t got = load_le64(rec);

    if (got != n)
        peer_die(PEER_FAIL, "%s: expected seq %llu, got seq %llu (%s)", who,
                 (unsigned long long)n, (unsigned long long)got,
                 got > n ? "gap: records lost" : "duplicate or out of order");
    for (uint32_t i = IPCB_BB_SEQ_SIZE; i < size; i++)
        if (rec[i] != (uint8_t)n)
            peer_die(PEER_FAIL, "%s: seq %llu: byte %u is 0x%02x, expected "
                     "0x%02x", who, (unsigned long long)n, (unsigned)i,
                     rec[i], (unsigned)(n & 0xff));
}

/* Consume and check records 0..count-1 (sequence number and filler). */
static void bb_consume(bb *b, uint64_t count, const char *who)
{
    for (uint64_t n = 0; n < count; n++) {
        sem_take(b->full, "full");
        sem_take(b->mutex, "mutex");
        record_check(who, b->seg.base + IPCB_BB_RECORD_OFF(b->h->tail,
                                                           b->slots,
                                                           b->record_size),
                     b->record_size, n);
        b->h->tail++;
        sem_give(b->mutex, "mutex");
        sem_give(b->empty, "empty");
    }
}

/* -------------------------------------------------------------------- spin */

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__) || defined(__arm__)
    __asm__ __volatile__("yield" ::: "memory");
#endif
}

/* Largest ROUNDS whose values 2i+1, 2i+2 fit in an int. */
#define SPIN_MAX_ROUNDS ((uint64_t)(INT_MAX - 2) / 2)

/* Spin until load(acquire) == want. */
static void spin_until(atomic_int *a, int want)
{
    while (atomic_load_explicit(a, memory_order_acquire) != want)
        cpu_relax();
}

static void spin_pong(atomic_int *a, uint64_t rounds)
{
    for (uint64_t i = 0; i < rounds; i++) {
        spin_until(a, (int)(2 * i + 1));
        atomic_store_explicit(a, (int)(2 * i + 2), memory_order_release);
    }
}

/* Open SHM and return the atomic int at offset (checked); exits 2 if bad. */
static atomic_int *spin_open(shm_seg *s, const char *name, uint64_t offset,
                             uint64_t rounds)
{
    if (rounds > SPIN_MAX_ROUNDS)
        peer_die(PEER_BROKEN, "ROUNDS must be <= %llu",
                 (unsigned long long)SPIN_MAX_ROUNDS);
    if (offset % 4 != 0)
        peer_die(PEER_BROKEN, "OFFSET %llu is not 4-aligned",
                 (unsigned long long)offset);
    seg_open_map(s, name, 1);
    seg_check_range(s, offset, 4, "spin");
    return (atomic_int *)(void *)(s->base + offset);
}

/* ------------------------------------------------------------------- modes */

/* "named" -> 1, "unnamed" -> 0, else usage error. */
static int parse_sem_mode(const char *s)
{
    if (strcmp(s, "named") == 0)
        return 1;
    if (strcmp(s, "unnamed") == 0)
        return 0;
    usage();
}

static int mode_bb_produce(const char *name, uint64_t count, int named)
{
    bb b;

    bb_open(&b, name, named);
    bb_produce(&b, count);
    bb_close(&b);
    return PEER_PASS;
}

static int mode_bb_consume(const char *name, uint64_t count, int named)
{
    bb b;

    bb_open(&b, name, named);
    bb_consume(&b, count, "bb-consume");
    bb_close(&b);
    printf("received %llu\n", (unsigned long long)count);
    CHECK(fflush(stdout) == 0);
    return PEER_PASS;
}

static int mode_spin_pong(const char *name, uint64_t offset, uint64_t rounds)
{
    shm_seg s;

    spin_pong(spin_open(&s, name, offset, rounds), rounds);
    seg_close(&s);
    return PEER_PASS;
}

static int mode_write(const char *name, uint64_t offset, const char *hex)
{
    size_t len;
    uint8_t *buf = peer_parse_hex(hex, &len, "write");
    shm_seg s;

    seg_open_map(&s, name, 1);
    seg_check_range(&s, offset, len, "write");
    if (len > 0)
        memcpy(s.base + offset, buf, len);
    seg_close(&s);
    free(buf);
    return PEER_PASS;
}

static int mode_read(const char *name, uint64_t offset, uint64_t length)
{
    shm_seg s;

    seg_open_map(&s, name, 0);
    seg_check_range(&s, offset, length, "read");
    for (uint64_t i = 0; i < length; i++)
        printf("%02x", (unsigned)s.base[offset + i]);
    putchar('\n');
    seg_close(&s);
    CHECK(fflush(stdout) == 0);
    return PEER_PASS;
}

/* truncate SHM: resizes it to 0 under the Java side's mapping. */
static int mode_truncate(const char *name)
{
    shm_seg s;
    int r;

    seg_open(&s, name, O_RDWR, 0);
    while ((r = ftruncate(s.fd, 0)) != 0 && errno == EINTR)
        ;
    if (r != 0)
        peer_die(PEER_BROKEN, "ftruncate %s: %s", name, strerror(errno));
    seg_close(&s);
    return PEER_PASS;
}

static const char *outcome(int r)
{
    return r == 0 ? "ok" : strerrorname_np(errno);
}

static int mode_probe_fd(int fd, uint64_t length)
{
    struct stat st;
    const uint8_t byte = 0x55;
    void *w;
    uint8_t *r;
    int seals = fcntl(fd, F_GET_SEALS);

    CHECK(seals >= 0);
    CHECK(fstat(fd, &st) == 0);
    if (length > (uint64_t)st.st_size)
        peer_die(PEER_BROKEN, "probe-fd: %llu bytes asked of %lld",
                 (unsigned long long)length, (long long)st.st_size);
    printf("seals 0x%x\nsize %lld\n", (unsigned)seals, (long long)st.st_size);
    printf("pwrite %s\n", outcome(pwrite(fd, &byte, 1, 0) == 1 ? 0 : -1));
    printf("ftruncate %s\n", outcome(ftruncate(fd, 0)));
    w = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    printf("mmap-write %s\n", outcome(w == MAP_FAILED ? -1 : 0));
    if (w != MAP_FAILED)
        CHECK(munmap(w, (size_t)st.st_size) == 0);
    printf("add-seals %s\n", outcome(fcntl(fd, F_ADD_SEALS, F_SEAL_FUTURE_WRITE)));
    CHECK(fstat(fd, &st) == 0);
    r = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
    CHECK(r != MAP_FAILED);
    for (uint64_t i = 0; i < length; i++)
        printf("%02x", (unsigned)r[i]);
    putchar('\n');
    CHECK(munmap(r, (size_t)st.st_size) == 0);
    CHECK(fflush(stdout) == 0);
    return PEER_PASS;
}

int main(int argc, char **argv)
{
    const char *mode;

    if (argc < 2)
        usage();
    mode = argv[1];

    if (strcmp(mode, "bb-produce") == 0 && argc == 5)
        return mode_bb_produce(argv[2], parse_u64(argv[3]),
                               parse_sem_mode(argv[4]));
    if (strcmp(mode, "bb-consume") == 0 && argc == 5)
        return mode_bb_consume(argv[2], parse_u64(argv[3]),
                               parse_sem_mode(argv[4]));
    if (strcmp(mode, "spin-pong") == 0 && argc == 5)
        return mode_spin_pong(argv[2], parse_u64(argv[3]), parse_u64(argv[4]));
    if (strcmp(mode, "write") == 0 && argc == 5)
        return mode_write(argv[2], parse_u64(argv[3]), argv[4]);
    if (strcmp(mode, "read") == 0 && argc == 5)
        return mode_read(argv[2], parse_u64(argv[3]), parse_u64(argv[4]));
    if (strcmp(mode, "truncate") == 0 && argc == 3)
        return mode_truncate(argv[2]);
    if (strcmp(mode, "probe-fd") == 0 && argc == 4)
        return mode_probe_fd(parse_fd(argv[2]), parse_u64(argv[3]));
    usage();
}
