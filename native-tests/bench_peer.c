/*
 * bench_peer.c -- the C side of every pair of `ipcbridge bench`.
 *
 * One program for all mechanisms, so that C <-> C and Java <-> C run the very
 * same C code on the C side: C <-> C is two bench_peer processes (an active
 * one, ping or source, and a passive one, echo or sink), Java <-> C is Java
 * against one passive bench_peer.  The Java side creates every object
 * (pipes, socket pairs, FIFOs, queues, semaphores, segments) and unlinks it;
 * bench_peer only opens what it is given.
 *
 * ENDPOINT (how one direction is reached):
 *   N              file descriptor N: a pipe end, a FIFO or a socket of any
 *                  type (read(2) / write(2); a datagram or seqpacket read
 *                  returns one message)
 *   fifo:PATH      open(PATH) read-only (IN) or write-only (OUT)
 *   conn:N         socket N, with the framing of Python's
 *                  multiprocessing.connection: a 4-byte big-endian length,
 *                  then the payload (one write up to 16 KiB, two beyond,
 *                  as Python does)
 *   mq:NAME        mq_open(NAME) read-only (IN) or write-only (OUT);
 *                  one message per send / receive
 *   sem:NAME       sem_open(NAME): a send is sem_post, a receive sem_wait
 *                  (no data moves: latency only)
 *   spin:SHM:OFF   the 4-byte atomic counter at OFF of the segment SHM: a send
 *                  stores the next value (release), a receive spins until the
 *                  value changes (acquire) -- with a CPU pause, and
 *                  sched_yield() after SPIN_YIELD_AFTER turns so that two
 *                  spinners sharing a CPU still progress (latency only).
 *                  The counters start at 0: the segment must be fresh.
 *   ring:SHM:W     the shared-memory message ring SHM of
 *                  include/ipcbridge_ring.h, one record per send / receive,
 *                  waiting with strategy W (spin or block); a receive copies
 *                  the record out (ipcb_ring_poll)
 *   bb:SHM         the bounded buffer of include/ipcb_bounded.h (unnamed
 *                  semaphores): a send copies the data into the record at
 *                  head, a receive copies the record at tail out
 *                  (throughput only)
 *
 * Modes:
 *   bench_peer echo IN OUT SIZE TOTAL
 *       TOTAL times: receive SIZE bytes on IN, send them back on OUT.
 *   bench_peer ping OUT IN SIZE WARMUP COUNT
 *       WARMUP + COUNT times: send SIZE bytes (the round number in the first
 *       8 bytes) on OUT, receive SIZE bytes on IN and compare; the last COUNT
 *       round trips are timed one by one (CLOCK_MONOTONIC).  Prints
 *       "<median ns> <p99 ns> <mean ns>" (p99: the ceil(0.99 COUNT)-th
 *       smallest).
 *   bench_peer source OUT BYTES CHUNK
 *       Sends BYTES bytes in CHUNK-byte sends (the last one shorter) from one
 *       buffer filled once with pattern(1), CHUNK + 8 SEND_STARTS bytes: send
 *       k starts at byte 8 (k mod SEND_STARTS), so that one message differs
 *       from the next.  Then closes OUT.
 *   bench_peer sink IN BYTES CHUNK
 *       Receives until BYTES bytes have arrived; prints "<bytes> <ns>", ns
 *       from the return of the first receive to that of the last, bytes
 *       those that arrived in that time (all but the first receive's: they
 *       were in before the clock started).  An early end, more than BYTES
 *       (the last receive went past it), or a byte at a multiple of
 *       SAMPLE_STRIDE of the data that differs from what source sends there,
 *       exits 1 with a message.
 *
 * Every mode gives up after ALARM_S seconds (SIGALRM), so a peer whose other
 * side died never hangs a benchmark.  Exit codes: 0 pass, 1 a check failed
 * (a wrong echo, an early end of data), 2 usage or environment error.
 */
#include "peer.h"
#include "ipcb_bounded.h"
#include "ipcbridge_ring.h"

#include <limits.h>
#include <mqueue.h>
#include <sched.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/stat.h>

#define ALARM_S 300
#define SPIN_YIELD_AFTER 4096
#define CONN_SPLIT 16384
/* the sources' send k starts at byte 8 (k mod SEND_STARTS) of their pattern buffer */
#define SEND_STARTS 512
/* a sink checks one byte in SAMPLE_STRIDE, a few additions each (a prime: the byte checked moves
 * through every offset of a message) */
#define SAMPLE_STRIDE 4099

static const char usage_text[] =
    "usage: bench_peer echo IN OUT SIZE TOTAL\n"
    "       bench_peer ping OUT IN SIZE WARMUP COUNT\n"
    "       bench_peer source OUT BYTES CHUNK\n"
    "       bench_peer sink IN BYTES CHUNK\n";

_Noreturn static void usage(void)
{
    fputs(usage_text, stderr);
    exit(PEER_BROKEN);
}

enum kind { K_FD, K_CONN, K_MQ, K_SEM, K_SPIN, K_BB, K_RING };

typedef struct {
    enum kind kind;
    int fd;
    mqd_t mq;
    size_t mq_msgsize;
    sem_t *sem;
    _Atomic uint32_t *counter;
    uint32_t seen;
    ipcb_bb_header *bb;
    struct ipcb_ring *ring;
    int ring_wait;
    unsigned char *frame; /* conn: header + payload of a small message */
} endpoint;

/* Maps the whole of segment NAME read-write. */
static void *map_segment(const char *name, size_t *size)
{
    struct stat st;
    int fd;
    void *p;

    CHECK((fd = shm_open(name, O_RDWR | O_CLOEXEC, 0)) >= 0);
    CHECK(fstat(fd, &st) == 0);
    p = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    CHECK(p != MAP_FAILED);
    CHECK(close(fd) == 0);
    *size = (size_t)st.st_size;
    return p;
}

/* Opens ENDPOINT spec for receiving (in != 0) or sending. */
static endpoint ep_open(const char *spec, int in)
{
    endpoint e;

    memset(&e, 0, sizeof e);
    e.fd = -1;
    if (strncmp(spec, "fifo:", 5) == 0) {
        e.kind = K_FD;
        CHECK((e.fd = open(spec + 5, (in ? O_RDONLY : O_WRONLY) | O_CLOEXEC)) >= 0);
    } else if (strncmp(spec, "conn:", 5) == 0) {
        e.kind = K_CONN;
        e.fd = parse_fd(spec + 5);
        CHECK((e.frame = malloc(4 + CONN_SPLIT)) != NULL);
    } else if (strncmp(spec, "mq:", 3) == 0) {
        struct mq_attr attr;
        e.kind = K_MQ;
        CHECK((e.mq = mq_open(spec + 3, in ? O_RDONLY : O_WRONLY)) != (mqd_t)-1);
        CHECK(mq_getattr(e.mq, &attr) == 0);
        e.mq_msgsize = (size_t)attr.mq_msgsize;
    } else if (strncmp(spec, "sem:", 4) == 0) {
        e.kind = K_SEM;
        CHECK((e.sem = sem_open(spec + 4, 0)) != SEM_FAILED);
    } else if (strncmp(spec, "spin:", 5) == 0) {
        char name[256];
        const char *colon = strrchr(spec + 5, ':');
        size_t size, len;
        uint64_t off;
        void *base;
        if (colon == NULL || (len = (size_t)(colon - (spec + 5))) >= sizeof name)
            usage();
        memcpy(name, spec + 5, len);
        name[len] = '\0';
        off = parse_u64(colon + 1);
        base = map_segment(name, &size);
        if (off % 4 != 0 || off > size || size - off < 4) /* not off + 4 > size: it wraps */
            peer_die(PEER_BROKEN, "%s: offset %llu outside the segment or not 4-aligned", spec,
                     (unsigned long long)off);
        e.kind = K_SPIN;
        e.counter = (_Atomic uint32_t *)((unsigned char *)base + off);
        e.seen = 0; /* a fresh segment: the other side may have stored already */
    } else if (strncmp(spec, "ring:", 5) == 0) {
        char name[256];
        const char *colon = strrchr(spec + 5, ':');
        size_t len;
        if (colon == NULL || (len = (size_t)(colon - (spec + 5))) >= sizeof name)
            usage();
        memcpy(name, spec + 5, len);
        name[len] = '\0';
        if (strcmp(colon + 1, "spin") == 0)
            e.ring_wait = IPCB_RING_SPIN;
        else if (strcmp(colon + 1, "block") == 0)
            e.ring_wait = IPCB_RING_BLOCK;
        else
            usage();
        e.kind = K_RING;
        CHECK((e.ring = malloc(sizeof *e.ring)) != NULL);
        if (ipcb_ring_open(e.ring, name) != 0)
            peer_die(PEER_BROKEN, "%s: %s", spec, ipcb_ring_error(e.ring));
    } else if (strncmp(spec, "bb:", 3) == 0) {
        size_t size;
        e.kind = K_BB;
        e.bb = map_segment(spec + 3, &size);
        if (e.bb->magic != IPCB_BB_MAGIC || e.bb->slots < 1 || e.bb->record_size < IPCB_BB_MIN_RECORD_SIZE
            || size < IPCB_BB_SIZE(e.bb->slots, e.bb->record_size))
            peer_die(PEER_BROKEN, "%s: not a bounded buffer", spec);
    } else {
        e.kind = K_FD;
        e.fd = parse_fd(spec);
        peer_check_fd(e.fd);
    }
    return e;
}

static void ep_close(endpoint *e)
{
    switch (e->kind) {
    case K_FD:
    case K_CONN:
        CHECK(close(e->fd) == 0);
        free(e->frame);
        break;
    case K_MQ:
        CHECK(mq_close(e->mq) == 0);
        break;
    case K_SEM:
        CHECK(sem_close(e->sem) == 0);
        break;
    case K_RING:
        ipcb_ring_close(e->ring);
        free(e->ring);
        break;
    default: /* mappings go with the process */
        break;
    }
}

static void sem_wait_full(sem_t *s)
{
    while (sem_wait(s) != 0)
        CHECK(errno == EINTR);
}

/* Whether a receive on e delivers data (false: a bare signal, sem or spin). */
static int ep_carries_data(const endpoint *e)
{
    return e->kind != K_SEM && e->kind != K_SPIN;
}

static void ep_send(endpoint *e, const void *buf, size_t n)
{
    unsigned char header[4];

    switch (e->kind) {
    case K_FD:
        if (n == 0)
            return;
        if (write_full(e->fd, buf, n) != 0)
            peer_die(errno == EPIPE ? PEER_FAIL : PEER_BROKEN, "send: %s", strerror(errno));
        return;
    case K_CONN:
        header[0] = (unsigned char)(n >> 24);
        header[1] = (unsigned char)(n >> 16);
        header[2] = (unsigned char)(n >> 8);
        header[3] = (unsigned char)n;
        if (n <= CONN_SPLIT) {
            memcpy(e->frame, header, 4);
            memcpy(e->frame + 4, buf, n);
            CHECK(write_full(e->fd, e->frame, n + 4) == 0);
        } else {
            CHECK(write_full(e->fd, header, 4) == 0);
            CHECK(write_full(e->fd, buf, n) == 0);
        }
        return;
    case K_MQ:
        while (mq_send(e->mq, buf, n, 0) != 0)
            CHECK(errno == EINTR);
        return;
    case K_SEM:
        CHECK(sem_post(e->sem) == 0);
        return;
    case K_SPIN:
        atomic_store_explicit(e->counter, ++e->seen, memory_order_release);
        return;
    case K_RING:
        if (ipcb_ring_offer(e->ring, buf, (uint32_t)n, e->ring_wait, -1) != 0)
            peer_die(PEER_FAIL, "ring offer: %s", ipcb_ring_error(e->ring));
        return;
    case K_BB: {
        ipcb_bb_header *h = e->bb;
        if (n > h->record_size)
            peer_die(PEER_BROKEN, "bb: %zu bytes do not fit a record of %u", n, h->record_size);
        sem_wait_full(&h->empty);
        sem_wait_full(&h->mutex);
        memcpy((unsigned char *)h + IPCB_BB_RECORD_OFF(h->head, h->slots, h->record_size), buf, n);
        h->head++;
        CHECK(sem_post(&h->mutex) == 0);
        CHECK(sem_post(&h->full) == 0);
        return;
    }
    }
}

/* One receive of at most cap bytes; returns its size, 0 at the end of the data. */
static size_t ep_recv(endpoint *e, void *buf, size_t cap)
{
    ssize_t r;
    unsigned char header[4];
    uint32_t len;

    switch (e->kind) {
    case K_FD:
        while ((r = read(e->fd, buf, cap)) < 0)
            CHECK(errno == EINTR);
        return (size_t)r;
    case K_CONN:
        if ((r = read_full(e->fd, header, 4)) == 0)
            return 0;
        CHECK(r == 4);
        len = (uint32_t)header[0] << 24 | (uint32_t)header[1] << 16 | (uint32_t)header[2] << 8 | header[3];
        if (len > cap)
            peer_die(PEER_FAIL, "conn: a message of %u bytes, room for %zu", len, cap);
        if (read_full(e->fd, buf, len) != (ssize_t)len)
            peer_die(PEER_FAIL, "conn: the stream ended inside a message");
        return len;
    case K_MQ:
        if (cap < e->mq_msgsize)
            peer_die(PEER_BROKEN, "mq: a buffer of %zu bytes, below mq_msgsize %zu", cap, e->mq_msgsize);
        while ((r = mq_receive(e->mq, buf, cap, NULL)) < 0)
            CHECK(errno == EINTR);
        return (size_t)r;
    case K_SEM:
        sem_wait_full(e->sem);
        return cap;
    case K_SPIN: {
        uint32_t v;
        unsigned spins = 0;
        while ((v = atomic_load_explicit(e->counter, memory_order_acquire)) == e->seen) {
            if (++spins > SPIN_YIELD_AFTER)
                sched_yield();
            else
                __builtin_ia32_pause();
        }
        e->seen = v;
        return cap;
    }
    case K_RING:
        if (ipcb_ring_poll(e->ring, buf, (uint32_t)cap, &len, e->ring_wait, -1) != 0)
            peer_die(PEER_FAIL, "ring poll: %s", ipcb_ring_error(e->ring));
        return len;
    case K_BB: {
        ipcb_bb_header *h = e->bb;
        size_t n = cap < h->record_size ? cap : h->record_size;
        sem_wait_full(&h->full);
        sem_wait_full(&h->mutex);
        memcpy(buf, (unsigned char *)h + IPCB_BB_RECORD_OFF(h->tail, h->slots, h->record_size), n);
        h->tail++;
        CHECK(sem_post(&h->mutex) == 0);
        CHECK(sem_post(&h->empty) == 0);
        return n;
    }
    }
    return 0;
}

/* Receives exactly size bytes (a byte stream may cut them); exits 1 at an early end. */
static void ep_recv_exact(endpoint *e, unsigned char *buf, size_t cap, size_t size)
{
    size_t got = 0;
    while (got < size) {
        size_t n = ep_recv(e, buf + got, e->kind == K_FD ? size - got : cap - got);
        if (n == 0)
            peer_die(PEER_FAIL, "the data ended after %zu of %zu bytes", got, size);
        got += n;
    }
    if (got != size)
        peer_die(PEER_FAIL, "a message of %zu bytes, expected %zu", got, size);
}

/* A buffer of at least size bytes, and of the queue's message size for mq. */
static unsigned char *buffer(const endpoint *e, size_t size, size_t *cap)
{
    unsigned char *b;
    *cap = e->kind == K_MQ && e->mq_msgsize > size ? e->mq_msgsize : size;
    CHECK((b = calloc(1, *cap)) != NULL);
    return b;
}

static int mode_echo(const char *in_spec, const char *out_spec, uint64_t size, uint64_t total)
{
    endpoint in = ep_open(in_spec, 1);
    endpoint out = ep_open(out_spec, 0);
    size_t cap;
    unsigned char *buf = buffer(&in, (size_t)size, &cap);

    for (uint64_t i = 0; i < total; i++) {
        ep_recv_exact(&in, buf, cap, (size_t)size);
        ep_send(&out, buf, (size_t)size);
    }
    ep_close(&in);
    if (out_spec != in_spec && strcmp(out_spec, in_spec) != 0)
        ep_close(&out);
    free(buf);
    return PEER_PASS;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int mode_ping(const char *out_spec, const char *in_spec, uint64_t size, uint64_t warmup, uint64_t count)
{
    endpoint out = ep_open(out_spec, 0);
    endpoint in = ep_open(in_spec, 1);
    size_t cap;
    unsigned char *msg = calloc(1, (size_t)size);
    unsigned char *buf = buffer(&in, (size_t)size, &cap);
    uint64_t *t = calloc((size_t)count, sizeof *t);
    long double sum = 0;

    CHECK(msg != NULL);
    CHECK(t != NULL);
    for (uint64_t i = 0; i < warmup + count; i++) {
        uint64_t t0, t1;
        if (size >= 8)
            peer_store_le64(msg, i);
        t0 = peer_now_ns();
        ep_send(&out, msg, (size_t)size);
        ep_recv_exact(&in, buf, cap, (size_t)size);
        t1 = peer_now_ns();
        if (ep_carries_data(&in) && memcmp(msg, buf, (size_t)size) != 0)
            peer_die(PEER_FAIL, "round trip %llu: the echo differs", (unsigned long long)i);
        if (i >= warmup)
            t[i - warmup] = t1 - t0;
    }
    qsort(t, (size_t)count, sizeof *t, cmp_u64);
    for (uint64_t i = 0; i < count; i++)
        sum += t[i];
    printf("%.1f %llu %.1f\n",
           count % 2 ? (double)t[count / 2] : (t[count / 2 - 1] + t[count / 2]) / 2.0,
           (unsigned long long)t[(count * 99 + 99) / 100 - 1], (double)(sum / count));
    ep_close(&out);
    if (strcmp(out_spec, in_spec) != 0)
        ep_close(&in);
    free(msg);
    free(buf);
    free(t);
    return PEER_PASS;
}

/* The buffer the CHUNK-byte sends of source are taken from: pattern(1), 8 SEND_STARTS bytes longer. */
static unsigned char *source_pattern(uint64_t chunk)
{
    unsigned char *buf = malloc((size_t)chunk + 8 * SEND_STARTS);
    peer_pattern p;

    CHECK(buf != NULL);
    pattern_init(&p, 1);
    pattern_fill(&p, buf, (size_t)chunk + 8 * SEND_STARTS);
    return buf;
}

static int mode_source(const char *out_spec, uint64_t bytes, uint64_t chunk)
{
    endpoint out = ep_open(out_spec, 0);
    unsigned char *buf = source_pattern(chunk);

    for (uint64_t left = bytes, k = 0; left > 0; k++) {
        size_t n = left < chunk ? (size_t)left : (size_t)chunk;
        ep_send(&out, buf + k % SEND_STARTS * 8, n);
        left -= n;
    }
    ep_close(&out);
    free(buf);
    return PEER_PASS;
}

static int mode_sink(const char *in_spec, uint64_t bytes, uint64_t chunk)
{
    endpoint in = ep_open(in_spec, 1);
    size_t cap;
    unsigned char *buf = buffer(&in, (size_t)chunk, &cap);
    unsigned char *pattern = source_pattern(chunk);
    uint64_t got = 0, first = 0, t0 = 0, t1 = 0;
    /* the next byte checked, byte j of send k; the step to the next without a division per sample */
    uint64_t sample = 0, k = 0, j = 0, q = SAMPLE_STRIDE / chunk, r = SAMPLE_STRIDE % chunk;

    while (got < bytes) {
        size_t n = ep_recv(&in, buf, cap);
        t1 = peer_now_ns();
        if (n == 0)
            peer_die(PEER_FAIL, "the data ended after %llu of %llu bytes", (unsigned long long)got,
                     (unsigned long long)bytes);
        if (got == 0) {
            t0 = t1;
            first = n;
        }
        for (; sample < got + n; sample += SAMPLE_STRIDE) {
            unsigned char want = pattern[k % SEND_STARTS * 8 + j];
            if (buf[sample - got] != want)
                peer_die(PEER_FAIL, "%s: byte %llu of the data is 0x%02x, expected 0x%02x", in_spec,
                         (unsigned long long)sample, buf[sample - got], want);
            k += q;
            j += r;
            if (j >= chunk) {
                j -= chunk;
                k++;
            }
        }
        got += n;
    }
    if (got != bytes)
        peer_die(PEER_FAIL, "received %llu bytes, expected %llu", (unsigned long long)got,
                 (unsigned long long)bytes);
    printf("%llu %llu\n", (unsigned long long)(got - first), (unsigned long long)(t1 - t0));
    ep_close(&in);
    free(buf);
    free(pattern);
    return PEER_PASS;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        usage();
    alarm(ALARM_S);
    if (strcmp(argv[1], "echo") == 0 && argc == 6)
        return mode_echo(argv[2], argv[3], parse_u64(argv[4]), parse_u64(argv[5]));
    if (strcmp(argv[1], "ping") == 0 && argc == 7) {
        uint64_t count = parse_u64(argv[6]);
        if (count == 0 || parse_u64(argv[4]) == 0)
            usage();
        return mode_ping(argv[2], argv[3], parse_u64(argv[4]), parse_u64(argv[5]), count);
    }
    if ((strcmp(argv[1], "source") == 0 || strcmp(argv[1], "sink") == 0) && argc == 5) {
        uint64_t chunk = parse_u64(argv[4]);
        if (chunk == 0 || chunk > (1u << 24))
            usage();
        return argv[1][1] == 'o' ? mode_source(argv[2], parse_u64(argv[3]), chunk)
                                 : mode_sink(argv[2], parse_u64(argv[3]), chunk);
    }
    usage();
}
