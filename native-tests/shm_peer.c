/*
 * shm_peer.c -- C peer for POSIX shared memory tests of ipcbridge.
 *
 * SHM is a shared memory object name with its leading slash ("/ipcb-x").
 * The peer never creates, resizes or unlinks a segment (the Java side does),
 * except truncate / truncate-after (which resize on purpose) and bench-cc
 * (which works on private objects of its own).  Segments are opened with
 * shm_open, sized with fstat and mapped MAP_SHARED.  The bounded buffer
 * ("BB") layout and protocol are defined in include/ipcb_bounded.h.
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
 *   shm_peer spin-ping SHM OFFSET ROUNDS
 *       The other side: for i in 0..ROUNDS-1: store(2i+1, release), spin
 *       until load(acquire) == 2i+2.  Prints "<rounds> <total elapsed ns,
 *       CLOCK_MONOTONIC>".  Exit 0.
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
 *   shm_peer truncate-after SHM MILLIS
 *       Open SHM, sleep MILLIS ms, then ftruncate(fd, 0).  Exit 0.
 *
 *   shm_peer ring-source SHM BYTES
 *       One-way throughput through the bounded buffer SHM, unnamed
 *       semaphores.  BYTES must be a multiple of record_size; sends
 *       BYTES / record_size whole records.  Fills the data area once with
 *       0x5a, then per record writes only the sequence number (bytes 0-7).
 *       Exit 0.
 *
 *   shm_peer ring-sink SHM BYTES
 *       Receives BYTES / record_size records and checks their sequence
 *       numbers (not the rest).  Prints "<bytes> <ns>", ns = CLOCK_MONOTONIC
 *       time from taking the first record to releasing the last.
 *       Pass (exit 0): all in order; otherwise exit 1.
 *
 *   shm_peer bench-cc PINGS BYTES
 *       C<->C baseline on this machine, with fork().  Creates (O_EXCL, 0600)
 *       the named semaphores /ipcb-bench-<pid>-ping and -pong and the
 *       segments /ipcb-bench-<pid>-spin (4096 bytes) and -ring (bounded
 *       buffer, 16 slots of 64 KiB, unnamed semaphores), and unlinks them on
 *       every exit path (normal return, exit(), SIGINT/SIGTERM/SIGHUP).
 *       Every blocking wait of bench-cc (parent and children) gives up after
 *       BENCH_TIMEOUT_S seconds (exit 1), so a dead peer cannot hang it.
 *       (a) semaphores: an echo child waits ping / posts pong; the parent
 *           does 1000 warm-up round trips, then PINGS round trips, each
 *           timed individually (CLOCK_MONOTONIC).
 *       (b) spin: the spin-ping / spin-pong handshake on the int at offset
 *           0 of -spin; 1000 warm-up rounds, then PINGS timed rounds.
 *       (c) ring: a child runs ring-source, the parent ring-sink, BYTES
 *           bytes (a multiple of 64 KiB); elapsed time from just before
 *           fork() to the last record.
 *       Prints (integers):
 *           sem_roundtrip_ns_mean <n>
 *           sem_roundtrip_ns_median <n>
 *           spin_roundtrip_ns_mean <n>
 *           spin_roundtrip_ns_median <n>
 *           ring_bytes_per_sec <n>
 *       Pass (exit 0): every round trip and record completed, children
 *       exited 0.
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
    "       shm_peer spin-ping SHM OFFSET ROUNDS\n"
    "       shm_peer write SHM OFFSET HEX\n"
    "       shm_peer read SHM OFFSET LENGTH\n"
    "       shm_peer truncate SHM\n"
    "       shm_peer truncate-after SHM MILLIS\n"
    "       shm_peer ring-sink SHM BYTES\n"
    "       shm_peer ring-source SHM BYTES\n"
    "       shm_peer bench-cc PINGS BYTES\n";

_Noreturn static void usage(void)
{
    fputs(usage_text, stderr);
    exit(PEER_BROKEN);
}

/* ------------------------------------------------------ semaphore helpers */

/* Per-wait timeout in seconds for blocking waits and spins; 0 = none. */
static int op_timeout_s;

/* Absolute CLOCK_REALTIME deadline op_timeout_s from now. */
static struct timespec op_deadline(void)
{
    struct timespec ts;
    CHECK(clock_gettime(CLOCK_REALTIME, &ts) == 0);
    ts.tv_sec += op_timeout_s;
    return ts;
}

/* sem_wait (sem_timedwait if op_timeout_s > 0), retrying EINTR. */
static void sem_take(sem_t *s, const char *what)
{
    int r;
    do {
        if (op_timeout_s > 0) {
            struct timespec dl = op_deadline();
            r = sem_timedwait(s, &dl);
        } else {
            r = sem_wait(s);
        }
    } while (r != 0 && errno == EINTR);
    if (r != 0 && errno == ETIMEDOUT)
        peer_die(PEER_FAIL, "sem_wait %s: no progress for %d s", what,
                 op_timeout_s);
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

/*
 * Produce records 0..count-1.  whole: the full record (sequence number and
 * filler); otherwise only the sequence number.
 */
static void bb_produce(bb *b, uint64_t count, int whole)
{
    for (uint64_t n = 0; n < count; n++) {
        uint8_t *rec;

        sem_take(b->empty, "empty");
        sem_take(b->mutex, "mutex");
        rec = b->seg.base +
              IPCB_BB_RECORD_OFF(b->h->head, b->slots, b->record_size);
        peer_store_le64(rec, n);
        if (whole)
            memset(rec + IPCB_BB_SEQ_SIZE, (int)(n & 0xff),
                   b->record_size - IPCB_BB_SEQ_SIZE);
        b->h->head++;
        sem_give(b->mutex, "mutex");
        sem_give(b->full, "full");
    }
}

/* Exit 1 unless rec is record n (only its sequence number unless whole). */
static void record_check(const char *who, const uint8_t *rec, uint32_t size,
                         uint64_t n, int whole)
{
    uint64_t got = load_le64(rec);

    if (got != n)
        peer_die(PEER_FAIL, "%s: expected seq %llu, got seq %llu (%s)", who,
                 (unsigned long long)n, (unsigned long long)got,
                 got > n ? "gap: records lost" : "duplicate or out of order");
    if (!whole)
        return;
    for (uint32_t i = IPCB_BB_SEQ_SIZE; i < size; i++)
        if (rec[i] != (uint8_t)n)
            peer_die(PEER_FAIL, "%s: seq %llu: byte %u is 0x%02x, expected "
                     "0x%02x", who, (unsigned long long)n, (unsigned)i,
                     rec[i], (unsigned)(n & 0xff));
}

/*
 * Consume and check records 0..count-1 (whole: sequence number and filler,
 * otherwise the sequence number only).  If t_first != NULL, it receives the
 * time at which the first record was available.
 */
static void bb_consume(bb *b, uint64_t count, int whole, const char *who,
                       uint64_t *t_first)
{
    for (uint64_t n = 0; n < count; n++) {
        sem_take(b->full, "full");
        if (n == 0 && t_first != NULL)
            *t_first = peer_now_ns();
        sem_take(b->mutex, "mutex");
        record_check(who, b->seg.base + IPCB_BB_RECORD_OFF(b->h->tail,
                                                           b->slots,
                                                           b->record_size),
                     b->record_size, n, whole);
        b->h->tail++;
        sem_give(b->mutex, "mutex");
        sem_give(b->empty, "empty");
    }
}

/* ring-source: fill the data area once with 0x5a, then send records
 * 0..records-1 writing only their sequence numbers. */
static void ring_source(bb *b, uint64_t records)
{
    memset(b->h->data, 0x5a, (size_t)b->slots * b->record_size);
    bb_produce(b, records, 0);
}

/* BYTES / record_size, exiting 2 unless BYTES is a multiple of it. */
static uint64_t ring_records(const bb *b, uint64_t bytes, const char *who)
{
    if (bytes % b->record_size != 0)
        peer_die(PEER_BROKEN, "%s: BYTES %llu is not a multiple of the record "
                 "size %u", who, (unsigned long long)bytes,
                 (unsigned)b->record_size);
    return bytes / b->record_size;
}

/* Initialise a zero-filled, mapped segment as a bounded buffer (unnamed). */
static void bb_init_unnamed(shm_seg *s, uint32_t slots, uint32_t record_size)
{
    ipcb_bb_header *h = (ipcb_bb_header *)s->base;

    h->magic = IPCB_BB_MAGIC;
    h->slots = slots;
    h->record_size = record_size;
    h->reserved = 0;
    CHECK(sem_init(&h->empty, 1, slots) == 0);
    CHECK(sem_init(&h->full, 1, 0) == 0);
    CHECK(sem_init(&h->mutex, 1, 1) == 0);
    h->head = 0;
    h->tail = 0;
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

/* Spin until load(acquire) == want; exit 1 after op_timeout_s s (if > 0). */
static void spin_until(atomic_int *a, int want)
{
    uint64_t deadline = 0;
    unsigned k = 0;

    while (atomic_load_explicit(a, memory_order_acquire) != want) {
        cpu_relax();
        if (op_timeout_s > 0 && ++k % 65536 == 0) {
            uint64_t now = peer_now_ns();
            if (deadline == 0)
                deadline = now + (uint64_t)op_timeout_s * UINT64_C(1000000000);
            else if (now > deadline)
                peer_die(PEER_FAIL, "spin: value %d not seen for %d s", want,
                         op_timeout_s);
        }
    }
}

static void spin_ping_round(atomic_int *a, uint64_t i)
{
    atomic_store_explicit(a, (int)(2 * i + 1), memory_order_release);
    spin_until(a, (int)(2 * i + 2));
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
    bb_produce(&b, count, 1);
    bb_close(&b);
    return PEER_PASS;
}

static int mode_bb_consume(const char *name, uint64_t count, int named)
{
    bb b;

    bb_open(&b, name, named);
    bb_consume(&b, count, 1, "bb-consume", NULL);
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

static int mode_spin_ping(const char *name, uint64_t offset, uint64_t rounds)
{
    shm_seg s;
    atomic_int *a = spin_open(&s, name, offset, rounds);
    uint64_t t0, t1;

    t0 = peer_now_ns();
    for (uint64_t i = 0; i < rounds; i++)
        spin_ping_round(a, i);
    t1 = peer_now_ns();
    seg_close(&s);
    printf("%llu %llu\n", (unsigned long long)rounds,
           (unsigned long long)(t1 - t0));
    CHECK(fflush(stdout) == 0);
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

/* truncate-after SHM MILLIS; truncate SHM is MILLIS = 0. */
static int mode_truncate_after(const char *name, uint64_t millis)
{
    struct timespec ts;
    shm_seg s;
    int r;

    seg_open(&s, name, O_RDWR, 0);
    ts.tv_sec = (time_t)(millis / 1000);
    ts.tv_nsec = (long)(millis % 1000) * 1000000L;
    while (nanosleep(&ts, &ts) != 0)
        CHECK(errno == EINTR);
    while ((r = ftruncate(s.fd, 0)) != 0 && errno == EINTR)
        ;
    if (r != 0)
        peer_die(PEER_BROKEN, "ftruncate %s: %s", name, strerror(errno));
    seg_close(&s);
    return PEER_PASS;
}

static int mode_ring_source(const char *name, uint64_t bytes)
{
    bb b;

    bb_open(&b, name, 0);
    ring_source(&b, ring_records(&b, bytes, "ring-source"));
    bb_close(&b);
    return PEER_PASS;
}

static int mode_ring_sink(const char *name, uint64_t bytes)
{
    bb b;
    uint64_t records, t0 = 0, t1;

    bb_open(&b, name, 0);
    records = ring_records(&b, bytes, "ring-sink");
    bb_consume(&b, records, 0, "ring-sink", &t0);
    t1 = peer_now_ns();
    bb_close(&b);
    printf("%llu %llu\n", (unsigned long long)bytes,
           (unsigned long long)(records > 0 ? t1 - t0 : 0));
    CHECK(fflush(stdout) == 0);
    return PEER_PASS;
}

/* ---------------------------------------------------------------- bench-cc */

#define BENCH_WARMUP 1000
#define BENCH_TIMEOUT_S 30
#define BENCH_SLOTS 16
#define BENCH_RECORD_SIZE (64u * 1024u)
#define BENCH_SPIN_SIZE 4096

enum { BENCH_PING, BENCH_PONG, BENCH_SPIN, BENCH_RING, BENCH_NAMES };

static char bench_names[BENCH_NAMES][64]; /* objects to unlink ("" = none) */
static pid_t bench_owner;                 /* only this process cleans up  */
static volatile pid_t bench_child;        /* running child to kill, or 0  */

static void bench_cleanup(void)
{
    if (getpid() != bench_owner)
        return;
    if (bench_child > 0) {
        kill(bench_child, SIGKILL);
        bench_child = 0;
    }
    for (int i = 0; i < BENCH_NAMES; i++)
        if (bench_names[i][0] != '\0') {
            if (i == BENCH_PING || i == BENCH_PONG)
                sem_unlink(bench_names[i]);
            else
                shm_unlink(bench_names[i]);
            bench_names[i][0] = '\0';
        }
}

static void bench_on_signal(int sig)
{
    bench_cleanup();
    signal(sig, SIG_DFL);
    raise(sig);
}

/* Everything the bench children need (inherited across fork). */
typedef struct {
    sem_t *ping, *pong;
    atomic_int *spin;
    bb ring;
} bench_ctx;

/* Flush stdio and fork; the child runs fn(c, arg) and _exits 0. */
static void bench_fork(void (*fn)(bench_ctx *, uint64_t), bench_ctx *c,
                       uint64_t arg)
{
    pid_t pid;

    CHECK(fflush(NULL) == 0);
    CHECK((pid = fork()) >= 0);
    if (pid == 0) {
        fn(c, arg);
        _exit(PEER_PASS);
    }
    bench_child = pid;
}

/* Wait for the current child; 0 if it exited 0, else print and return -1. */
static int bench_wait(const char *what)
{
    int r = peer_wait_child(bench_child, what);

    bench_child = 0;
    return r;
}

static void bench_sem_echo(bench_ctx *c, uint64_t count)
{
    for (uint64_t i = 0; i < count; i++) {
        sem_take(c->ping, "ping");
        sem_give(c->pong, "pong");
    }
}

static void bench_spin_pong(bench_ctx *c, uint64_t rounds)
{
    spin_pong(c->spin, rounds);
}

static void bench_ring_source(bench_ctx *c, uint64_t records)
{
    ring_source(&c->ring, records);
}

/* One round trip of kind `sem` or spin, number i. */
static void bench_sem_round(bench_ctx *c, uint64_t i)
{
    (void)i;
    sem_give(c->ping, "ping");
    sem_take(c->pong, "pong");
}

static void bench_spin_round(bench_ctx *c, uint64_t i)
{
    spin_ping_round(c->spin, i);
}

static int cmp_u64(const void *x, const void *y)
{
    uint64_t u = *(const uint64_t *)x, v = *(const uint64_t *)y;
    return (u > v) - (u < v);
}

/*
 * Fork responder(c, BENCH_WARMUP + pings), run BENCH_WARMUP + pings rounds
 * of round(c, i), timing the last pings individually; print
 * "<label>_roundtrip_ns_mean" and "_median".  Returns 0, or -1 if the child
 * failed.  rt has room for pings values.
 */
static int bench_roundtrips(const char *label, bench_ctx *c, uint64_t *rt,
                            uint64_t pings,
                            void (*responder)(bench_ctx *, uint64_t),
                            void (*round)(bench_ctx *, uint64_t))
{
    uint64_t sum = 0, mean = 0, median = 0;
    int rc;

    bench_fork(responder, c, BENCH_WARMUP + pings);
    for (uint64_t i = 0; i < BENCH_WARMUP + pings; i++) {
        uint64_t s = peer_now_ns();
        round(c, i);
        if (i >= BENCH_WARMUP)
            rt[i - BENCH_WARMUP] = peer_now_ns() - s;
    }
    rc = bench_wait(label);
    if (pings > 0) {
        for (uint64_t i = 0; i < pings; i++)
            sum += rt[i];
        mean = (sum + pings / 2) / pings;
        qsort(rt, (size_t)pings, sizeof *rt, cmp_u64);
        median = pings % 2 ? rt[pings / 2]
                           : (rt[pings / 2 - 1] + rt[pings / 2] + 1) / 2;
    }
    printf("%s_roundtrip_ns_mean %llu\n", label, (unsigned long long)mean);
    printf("%s_roundtrip_ns_median %llu\n", label, (unsigned long long)median);
    return rc;
}

/* Record a bench object name /ipcb-bench-<pid>-<suffix> into slot i. */
static const char *bench_name(int i, const char *suffix)
{
    static char names[BENCH_NAMES][64];
    snprintf(names[i], sizeof names[i], "/ipcb-bench-%ld-%s",
             (long)bench_owner, suffix);
    return names[i];
}

/* Create (O_EXCL) a segment of `size` bytes, track it for unlink, map it. */
static void bench_create_seg(shm_seg *s, int i, const char *suffix,
                             uint64_t size)
{
    const char *name = bench_name(i, suffix);

    seg_open(s, name, O_RDWR | O_CREAT | O_EXCL, 0600);
    memcpy(bench_names[i], name, strlen(name) + 1);
    CHECK(ftruncate(s->fd, (off_t)size) == 0);
    seg_map(s, PROT_READ | PROT_WRITE);
}

static sem_t *bench_create_sem(int i, const char *suffix)
{
    const char *name = bench_name(i, suffix);
    sem_t *s = sem_open_peer(name, O_CREAT | O_EXCL);

    memcpy(bench_names[i], name, strlen(name) + 1);
    return s;
}

static int mode_bench_cc(uint64_t pings, uint64_t bytes)
{
    static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
    struct sigaction sa;
    bench_ctx c;
    shm_seg spin;
    uint64_t *rt, records, t0, t1;
    double throughput;
    int rc = PEER_PASS;

    if (pings > SPIN_MAX_ROUNDS - BENCH_WARMUP)
        peer_die(PEER_BROKEN, "bench-cc: PINGS too large");
    if (bytes % BENCH_RECORD_SIZE != 0)
        peer_die(PEER_BROKEN, "bench-cc: BYTES must be a multiple of %u",
                 BENCH_RECORD_SIZE);
    records = bytes / BENCH_RECORD_SIZE;
    CHECK((rt = malloc(pings ? (size_t)pings * sizeof *rt : 1)) != NULL);

    bench_owner = getpid();
    CHECK(atexit(bench_cleanup) == 0);
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = bench_on_signal;
    sa.sa_flags = SA_RESTART;
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        CHECK(sigaction(sigs[i], &sa, NULL) == 0);

    c.ping = bench_create_sem(BENCH_PING, "ping");
    c.pong = bench_create_sem(BENCH_PONG, "pong");
    bench_create_seg(&spin, BENCH_SPIN, "spin", BENCH_SPIN_SIZE);
    c.spin = (atomic_int *)(void *)spin.base;
    atomic_store(c.spin, 0);
    bench_create_seg(&c.ring.seg, BENCH_RING, "ring",
                     IPCB_BB_SIZE(BENCH_SLOTS, BENCH_RECORD_SIZE));
    bb_init_unnamed(&c.ring.seg, BENCH_SLOTS, BENCH_RECORD_SIZE);
    bb_attach(&c.ring, 0);
    op_timeout_s = BENCH_TIMEOUT_S;

    /* (a) named semaphores, (b) spin */
    if (bench_roundtrips("sem", &c, rt, pings, bench_sem_echo,
                         bench_sem_round) != 0)
        rc = PEER_FAIL;
    if (bench_roundtrips("spin", &c, rt, pings, bench_spin_pong,
                         bench_spin_round) != 0)
        rc = PEER_FAIL;

    /* (c) ring: child -> bounded buffer -> parent */
    t0 = peer_now_ns();
    bench_fork(bench_ring_source, &c, records);
    bb_consume(&c.ring, records, 0, "bench-cc ring", NULL);
    t1 = peer_now_ns();
    if (bench_wait("ring") != 0)
        rc = PEER_FAIL;
    throughput = t1 > t0 ? (double)bytes * 1e9 / (double)(t1 - t0) : 0.0;
    printf("ring_bytes_per_sec %.0f\n", throughput);

    free(rt);
    CHECK(sem_close(c.ping) == 0);
    CHECK(sem_close(c.pong) == 0);
    seg_close(&spin);
    CHECK(sem_destroy(&c.ring.h->empty) == 0);
    CHECK(sem_destroy(&c.ring.h->full) == 0);
    CHECK(sem_destroy(&c.ring.h->mutex) == 0);
    bb_close(&c.ring);
    bench_cleanup();
    CHECK(fflush(stdout) == 0);
    return rc;
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
    if (strcmp(mode, "spin-ping") == 0 && argc == 5)
        return mode_spin_ping(argv[2], parse_u64(argv[3]), parse_u64(argv[4]));
    if (strcmp(mode, "write") == 0 && argc == 5)
        return mode_write(argv[2], parse_u64(argv[3]), argv[4]);
    if (strcmp(mode, "read") == 0 && argc == 5)
        return mode_read(argv[2], parse_u64(argv[3]), parse_u64(argv[4]));
    if (strcmp(mode, "truncate") == 0 && argc == 3)
        return mode_truncate_after(argv[2], 0);
    if (strcmp(mode, "truncate-after") == 0 && argc == 4)
        return mode_truncate_after(argv[2], parse_u64(argv[3]));
    if (strcmp(mode, "ring-sink") == 0 && argc == 4)
        return mode_ring_sink(argv[2], parse_u64(argv[3]));
    if (strcmp(mode, "ring-source") == 0 && argc == 4)
        return mode_ring_source(argv[2], parse_u64(argv[3]));
    if (strcmp(mode, "bench-cc") == 0 && argc == 4)
        return mode_bench_cc(parse_u64(argv[2]), parse_u64(argv[3]));
    usage();
}
