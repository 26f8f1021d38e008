/*
 * ring_peer.c -- C peer for the shared-memory message ring of ipcbridge
 * (layout, protocol and C API in include/ipcbridge_ring.h, implemented in
 * include/ipcbridge_ring.c).
 *
 * NAME is a shared memory object name with its leading slash ("/ipcb-x"),
 * or "fd:N" for the ring open on descriptor N (e.g. a memfd ring on fd 3;
 * ipcb_ring_open_fd), which every mode that opens a ring takes too.
 * No mode but create-or-open creates a ring, and none unlinks one: the caller
 * does.
 * WAIT (--wait spin|block, default block) is the wait strategy of every
 * offer and poll. Every mode closes its rings, which clears its pid
 * registrations (except stall, which is meant to be killed).
 *
 * Test records (the Java side makes and checks the same):
 *   record seq (0, 1, 2, ... per producer) of producer ID (0 .. 255) has
 *     length = MIN + splitmix64(SEED + ID + seq) % (MAX - MIN + 1)
 *       (unsigned 64-bit arithmetic; splitmix64(x): z = x + 0x9e3779b97f4a7c15;
 *        z = (z ^ z >> 30) * 0xbf58476d1ce4e5b9; z = (z ^ z >> 27) *
 *        0x94d049bb133111eb; z ^ z >> 31 -- the first nextLong() of
 *        java.util.SplittableRandom(x); MIN default 0, MAX default the
 *        ring's max_message)
 *     payload byte i = byte i of the little-endian uint64 seq | ID << 56
 *       for i < 8 (a shorter record has the first `length` of them),
 *       (uint8_t)(seq + i) for i >= 8.
 *
 * Modes:
 *   ring_peer offsets
 *       Print "NAME OFFSET" for every header field in declaration order
 *       (magic ... claim_end), then the record's (length, type), then
 *       "sizeof_header N", "sizeof_record N" and "IPCB_RING_<X> VALUE" for
 *       the constants (the magic in hex with 0x).
 *
 *   ring_peer produce NAME COUNT SEED [--producer ID] [--min N] [--max N] [--wait W] [--pause-after K]
 *       Offer records seq 0 .. COUNT-1 of producer ID (default 0); with
 *       --pause-after, print "paused" (flushed) after the first K and read
 *       one line from stdin before the rest. Exit 0; the consumer's
 *       registered pid gone: "consumer died" on stderr, exit 3.
 *
 *   ring_peer consume NAME COUNT SEED [--producers K] [--min N] [--max N] [--wait W] [--timeout-ms N]
 *       Poll COUNT records in all from producers 0 .. K-1 (default 1; K > 1
 *       needs MIN >= 8 so the producer id is readable) and check each: a
 *       record of 8 bytes or more must carry the next seq of its producer
 *       (else "gap" or "duplicate or reorder"), its exact length ("length")
 *       and exact bytes ("torn"). Prints "ok COUNT". Exit 0; a failed check:
 *       one line "record N (producer I seq S): ..." on stderr, exit 1; no
 *       record within --timeout-ms of waiting (default: wait for ever): exit 1;
 *       a registered producer pid gone while nothing is left to read:
 *       "producer died ..." on stderr, exit 3.
 *
 *   ring_peer stall NAME COMPLETE LEN
 *       Offer COMPLETE test records (SEED 1, producer 0, default MIN/MAX),
 *       then claim record COMPLETE with LEN bytes, write its length and the
 *       first LEN / 2 payload bytes and neither publish nor commit it; print
 *       "stalled" (flushed) and pause for ever (the caller kills it).
 *
 *   ring_peer abandon NAME LEN COUNT SEED
 *       Claim a record of LEN bytes, fill it with 0xff and close the ring
 *       with the claim pending (giving it up: see "Abandoned claims" in the
 *       header); then open the ring again and offer test records seq 0 ..
 *       COUNT-1 of producer 0 (default MIN/MAX). Exit 0; the consumer gone:
 *       exit 3.
 *
 *   ring_peer leaderless NAME COUNT SEED
 *       Offer test record seq 0 of producer 0 (default MIN/MAX; COUNT >= 1),
 *       which registers the producer, and end the main thread (pthread_exit),
 *       leaving /proc showing the process as a zombie with a thread still
 *       running. That thread prints "leader exited" (flushed) once /proc
 *       does, reads one line from stdin, then offers records seq 1 ..
 *       COUNT-1 and closes the ring. Exit 0; consumer gone: exit 3.
 *
 *   ring_peer pong NAME_IN NAME_OUT N [--wait W]
 *       N times: poll a record from NAME_IN, offer it to NAME_OUT. Exit 0;
 *       a peer gone: exit 3.
 *
 *   ring_peer create-or-open PREFIX COUNT CAPACITY
 *       Print "ready" (flushed); then COUNT times, for i = 0 .. COUNT-1: read
 *       one line from stdin (the start signal), create the ring PREFIX-i
 *       (single producer, max_message 200, mode 0600) or, where it exists,
 *       open it (created again if it was removed meanwhile), print "created
 *       MAX" or "opened MAX" (MAX the ring's max_message, flushed) and close
 *       it. The test creates or opens the same name in the same round: no
 *       side may find the other's ring half-made (an EPROTO here: exit 2).
 *
 * Exit codes: 0 pass, 1 check failed, 2 usage or environment error (a ring
 * that does not open or is corrupt), 3 the peer's pid is gone (see above).
 */
#include "peer.h"
#include "ipcbridge_ring.h"

#include <limits.h>
#include <pthread.h>

#define RING_PEER_DIED 3

static const char usage_text[] =
    "usage: ring_peer offsets\n"
    "       ring_peer produce NAME COUNT SEED [--producer ID] [--min N] [--max N] [--wait spin|block]"
    " [--pause-after K]\n"
    "       ring_peer consume NAME COUNT SEED [--producers K] [--min N] [--max N] [--wait spin|block]"
    " [--timeout-ms N]\n"
    "       ring_peer stall NAME COMPLETE LEN\n"
    "       ring_peer abandon NAME LEN COUNT SEED\n"
    "       ring_peer leaderless NAME COUNT SEED\n"
    "       ring_peer pong NAME_IN NAME_OUT N [--wait spin|block]\n"
    "       ring_peer create-or-open PREFIX COUNT CAPACITY\n"
    "NAME: /name, or fd:N for the ring open on descriptor N\n";

_Noreturn static void usage(void)
{
    fputs(usage_text, stderr);
    exit(PEER_BROKEN);
}

/* ------------------------------------------------------------------ options */

typedef struct {
    uint64_t producer, producers, min, max;
    int has_max;
    int wait;
    int64_t timeout_ns; /* -1: for ever */
    uint64_t pause_after;
    int has_pause;
} options;

/* Every option at its default. */
#define DEFAULT_OPTIONS { 0, 1, 0, 0, 0, IPCB_RING_BLOCK, -1, 0, 0 }

/* Parses argv[i..argc-1] as "--NAME VALUE" pairs; only those in `allowed`
 * (a space-separated list, e.g. "--wait --min") are accepted. */
static options parse_options(int argc, char **argv, int i, const char *allowed)
{
    options o = DEFAULT_OPTIONS;

    for (; i < argc; i += 2) {
        const char *opt = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        const char *hit = strstr(allowed, opt);
        size_t n = strlen(opt);

        if (strncmp(opt, "--", 2) != 0 || hit == NULL || (hit[n] != ' ' && hit[n] != '\0') || val == NULL)
            usage();
        if (strcmp(opt, "--wait") == 0) {
            if (strcmp(val, "spin") == 0)
                o.wait = IPCB_RING_SPIN;
            else if (strcmp(val, "block") == 0)
                o.wait = IPCB_RING_BLOCK;
            else
                usage();
        } else if (strcmp(opt, "--producer") == 0) {
            o.producer = parse_u64(val);
        } else if (strcmp(opt, "--producers") == 0) {
            o.producers = parse_u64(val);
        } else if (strcmp(opt, "--min") == 0) {
            o.min = parse_u64(val);
        } else if (strcmp(opt, "--max") == 0) {
            o.max = parse_u64(val);
            o.has_max = 1;
        } else if (strcmp(opt, "--pause-after") == 0) {
            o.pause_after = parse_u64(val);
            o.has_pause = 1;
        } else if (strcmp(opt, "--timeout-ms") == 0) {
            uint64_t ms = parse_u64(val);
            if (ms > INT64_MAX / 1000000)
                peer_die(PEER_BROKEN, "--timeout-ms %s: too large", val);
            o.timeout_ns = (int64_t)ms * 1000000;
        }
    }
    return o;
}

/* ------------------------------------------------------------------- rings */

/* Opens NAME: "/name", or "fd:N" (the descriptor stays open). */
static void ring_open_peer(struct ipcb_ring *r, const char *name)
{
    int rc;

    if (strncmp(name, "fd:", 3) == 0) {
        uint64_t fd = parse_u64(name + 3);
        if (fd > INT_MAX)
            peer_die(PEER_BROKEN, "%s: no such descriptor", name);
        rc = ipcb_ring_open_fd(r, (int)fd);
    } else {
        rc = ipcb_ring_open(r, name);
    }
    if (rc != 0)
        peer_die(PEER_BROKEN, "%s", ipcb_ring_error(r));
}

/* Exits for a failed offer / poll / read: 3 if the peer died, else 2. */
_Noreturn static void ring_failed(struct ipcb_ring *r, int rc, const char *what, uint64_t done)
{
    if (rc == IPCB_RING_PEER_DIED)
        peer_die(RING_PEER_DIED, "%s, after %llu records", ipcb_ring_error(r), (unsigned long long)done);
    peer_die(PEER_BROKEN, "%s after %llu records: %s", what, (unsigned long long)done, ipcb_ring_error(r));
}

static uint8_t *alloc_buffer(uint64_t n)
{
    uint8_t *p;

    CHECK((p = malloc(n ? (size_t)n : 1)) != NULL);
    return p;
}

/* ------------------------------------------------------------- test records */

static uint64_t splitmix64(uint64_t x)
{
    uint64_t z = x + UINT64_C(0x9e3779b97f4a7c15);

    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

typedef struct {
    uint64_t seed, min, max;
} record_format;

/* Resolves --min / --max against the ring; exits 2 if they do not fit it. */
static record_format record_format_of(const struct ipcb_ring *r, uint64_t seed, const options *o)
{
    record_format f = { seed, o->min, o->has_max ? o->max : r->max_message };

    if (f.min > f.max || f.max > r->max_message)
        peer_die(PEER_BROKEN, "need MIN <= MAX <= max_message: %llu, %llu, %u", (unsigned long long)f.min,
                 (unsigned long long)f.max, r->max_message);
    return f;
}

static uint32_t record_length(const record_format *f, uint64_t id, uint64_t seq)
{
    return (uint32_t)(f->min + splitmix64(f->seed + id + seq) % (f->max - f->min + 1));
}

static void fill_record(uint8_t *p, uint32_t len, uint64_t id, uint64_t seq)
{
    uint8_t head[8];

    peer_store_le64(head, seq | id << 56);
    memcpy(p, head, len < 8 ? len : 8);
    for (uint32_t i = 8; i < len; i++)
        p[i] = (uint8_t)(seq + i);
}

/* ------------------------------------------------------------------- modes */

static int mode_offsets(void)
{
#define FIELD(s, f) printf("%s %zu\n", #f, offsetof(struct s, f))
#define CONSTANT(c, fmt, type) printf("%s " fmt "\n", #c, (type)(c))
    FIELD(ipcb_ring_header, magic);
    FIELD(ipcb_ring_header, version);
    FIELD(ipcb_ring_header, flags);
    FIELD(ipcb_ring_header, capacity);
    FIELD(ipcb_ring_header, max_message);
    FIELD(ipcb_ring_header, header_size);
    FIELD(ipcb_ring_header, producer_position);
    FIELD(ipcb_ring_header, consumer_position);
    FIELD(ipcb_ring_header, data_futex);
    FIELD(ipcb_ring_header, data_waiters);
    FIELD(ipcb_ring_header, space_futex);
    FIELD(ipcb_ring_header, space_waiters);
    FIELD(ipcb_ring_header, consumer_pid);
    FIELD(ipcb_ring_header, producer_pids);
    FIELD(ipcb_ring_header, claim_at);
    FIELD(ipcb_ring_header, claim_end);
    FIELD(ipcb_ring_record, length);
    FIELD(ipcb_ring_record, type);
    printf("sizeof_header %zu\n", sizeof(struct ipcb_ring_header));
    printf("sizeof_record %zu\n", sizeof(struct ipcb_ring_record));
    CONSTANT(IPCB_RING_MAGIC, "0x%016llx", unsigned long long);
    CONSTANT(IPCB_RING_VERSION, "%u", unsigned);
    CONSTANT(IPCB_RING_MULTI_PRODUCER, "%u", unsigned);
    CONSTANT(IPCB_RING_MAX_PRODUCERS, "%d", int);
    CONSTANT(IPCB_RING_HEADER_SIZE, "%d", int);
    CONSTANT(IPCB_RING_RECORD_HEADER, "%d", int);
    CONSTANT(IPCB_RING_ALIGNMENT, "%d", int);
    CONSTANT(IPCB_RING_MIN_CAPACITY, "%u", unsigned);
    CONSTANT(IPCB_RING_MAX_CAPACITY, "%u", unsigned);
    CONSTANT(IPCB_RING_MESSAGE, "%d", int);
    CONSTANT(IPCB_RING_PADDING, "%d", int);
    CONSTANT(IPCB_RING_ABANDONED, "%d", int);
#undef FIELD
#undef CONSTANT
    CHECK(fflush(stdout) == 0);
    return PEER_PASS;
}

/* Prints `what` (flushed), then waits for a line on stdin. */
static void await_go(const char *what)
{
    char line[16];

    printf("%s\n", what);
    CHECK(fflush(stdout) == 0);
    if (fgets(line, sizeof line, stdin) == NULL)
        peer_die(PEER_BROKEN, "stdin ended before the go line");
}

/* Offers test records seq first .. count-1 of producer id. */
static void produce_records(struct ipcb_ring *r, const record_format *f, uint64_t id, uint64_t first, uint64_t count,
                            int wait)
{
    uint8_t *buf = alloc_buffer(f->max);

    for (uint64_t seq = first; seq < count; seq++) {
        uint32_t len = record_length(f, id, seq);
        int rc;

        fill_record(buf, len, id, seq);
        if ((rc = ipcb_ring_offer(r, buf, len, wait, -1)) != 0)
            ring_failed(r, rc, "offer", seq);
    }
    free(buf);
}

static int mode_produce(const char *name, uint64_t count, uint64_t seed, const options *o)
{
    struct ipcb_ring r;
    record_format f;

    if (o->producer > 255)
        peer_die(PEER_BROKEN, "--producer %llu: above 255", (unsigned long long)o->producer);
    ring_open_peer(&r, name);
    f = record_format_of(&r, seed, o);
    if (o->has_pause && o->pause_after < count) {
        produce_records(&r, &f, o->producer, 0, o->pause_after, o->wait);
        await_go("paused");
        produce_records(&r, &f, o->producer, o->pause_after, count, o->wait);
    } else {
        produce_records(&r, &f, o->producer, 0, count, o->wait);
    }
    ipcb_ring_close(&r);
    return PEER_PASS;
}

/* Checks record number n (len bytes at p) against the next seq of its
 * producer; returns 0 or prints why not and returns -1. */
static int check_record(const record_format *f, uint64_t producers, uint64_t *next, uint64_t n,
                        const uint8_t *p, uint32_t len, uint8_t *expected)
{
    uint64_t id = 0, seq = next[0];
    uint32_t want;

    if (len >= 8) {
        uint64_t head = 0;
        for (int i = 7; i >= 0; i--)
            head = head << 8 | p[i];
        id = head >> 56;
        seq = head & ((UINT64_C(1) << 56) - 1);
        if (id >= producers) {
            fprintf(stderr, "record %llu: producer id %llu, expected < %llu (torn)\n", (unsigned long long)n,
                    (unsigned long long)id, (unsigned long long)producers);
            return -1;
        }
        if (seq != next[id]) {
            fprintf(stderr, "record %llu (producer %llu seq %llu): expected seq %llu (%s)\n",
                    (unsigned long long)n, (unsigned long long)id, (unsigned long long)seq,
                    (unsigned long long)next[id], seq > next[id] ? "gap" : "duplicate or reorder");
            return -1;
        }
    } else if (producers > 1) {
        fprintf(stderr, "record %llu: length %u, too short to name its producer\n", (unsigned long long)n, len);
        return -1;
    }
    want = record_length(f, id, seq);
    if (len != want) {
        fprintf(stderr, "record %llu (producer %llu seq %llu): length %u, expected %u (length)\n",
                (unsigned long long)n, (unsigned long long)id, (unsigned long long)seq, len, want);
        return -1;
    }
    fill_record(expected, len, id, seq);
    if (memcmp(p, expected, len) != 0) {
        uint32_t i = 0;
        while (p[i] == expected[i])
            i++;
        fprintf(stderr, "record %llu (producer %llu seq %llu): byte %u is 0x%02x, expected 0x%02x (torn)\n",
                (unsigned long long)n, (unsigned long long)id, (unsigned long long)seq, i, p[i], expected[i]);
        return -1;
    }
    next[id]++;
    return 0;
}

static int mode_consume(const char *name, uint64_t count, uint64_t seed, const options *o)
{
    struct ipcb_ring r;
    record_format f;
    uint64_t *next;
    uint8_t *expected;

    if (o->producers < 1 || o->producers > 256)
        peer_die(PEER_BROKEN, "--producers %llu: expected 1 to 256", (unsigned long long)o->producers);
    if (o->producers > 1 && o->min < 8)
        peer_die(PEER_BROKEN, "--producers %llu needs --min 8 or more", (unsigned long long)o->producers);
    ring_open_peer(&r, name);
    f = record_format_of(&r, seed, o);
    CHECK((next = calloc((size_t)o->producers, sizeof *next)) != NULL);
    expected = alloc_buffer(r.max_message);
    for (uint64_t n = 0; n < count; n++) {
        const void *payload;
        uint32_t len;
        int rc = ipcb_ring_read(&r, &payload, &len, o->wait, o->timeout_ns);

        if (rc == -1 && errno == ETIMEDOUT)
            peer_die(PEER_FAIL, "timed out after %lld ms waiting for record %llu",
                     (long long)(o->timeout_ns / 1000000), (unsigned long long)n);
        if (rc != 0)
            ring_failed(&r, rc, "poll", n);
        if (check_record(&f, o->producers, next, n, payload, len, expected) != 0)
            exit(PEER_FAIL);
        CHECK(ipcb_ring_release(&r) == 0);
    }
    printf("ok %llu\n", (unsigned long long)count);
    free(expected);
    free(next);
    ipcb_ring_close(&r);
    return PEER_PASS;
}

static int mode_stall(const char *name, uint64_t complete, uint64_t len)
{
    options o = DEFAULT_OPTIONS;
    struct ipcb_ring r;
    record_format f;
    uint8_t *part;
    void *payload;
    int rc;

    ring_open_peer(&r, name);
    if (len > r.max_message)
        peer_die(PEER_BROKEN, "LEN %llu: above max_message %u", (unsigned long long)len, r.max_message);
    f = record_format_of(&r, 1, &o);
    produce_records(&r, &f, 0, 0, complete, IPCB_RING_BLOCK);
    if ((rc = ipcb_ring_claim(&r, (uint32_t)len, &payload, IPCB_RING_BLOCK, -1)) != 0)
        ring_failed(&r, rc, "offer", complete);
    part = alloc_buffer(len);
    fill_record(part, (uint32_t)len, 0, complete);
    memcpy(payload, part, (size_t)len / 2);
    printf("stalled\n");
    CHECK(fflush(stdout) == 0);
    for (;;)
        pause();
}

static int mode_abandon(const char *name, uint64_t len, uint64_t count, uint64_t seed)
{
    options o = DEFAULT_OPTIONS;
    struct ipcb_ring r;
    record_format f;
    void *payload;
    int rc;

    ring_open_peer(&r, name);
    if (len > r.max_message)
        peer_die(PEER_BROKEN, "LEN %llu: above max_message %u", (unsigned long long)len, r.max_message);
    if ((rc = ipcb_ring_claim(&r, (uint32_t)len, &payload, IPCB_RING_BLOCK, -1)) != 0)
        ring_failed(&r, rc, "claim", 0);
    memset(payload, 0xff, (size_t)len);
    ipcb_ring_close(&r);
    ring_open_peer(&r, name);
    f = record_format_of(&r, seed, &o);
    produce_records(&r, &f, 0, 0, count, IPCB_RING_BLOCK);
    ipcb_ring_close(&r);
    return PEER_PASS;
}

struct leaderless {
    struct ipcb_ring ring;
    uint64_t count, seed;
};

/* /proc's state letter of this process (its main thread's). */
static char process_state(void)
{
    char stat[512], *close_paren;
    FILE *f = fopen("/proc/self/stat", "re");

    CHECK(f != NULL);
    CHECK(fgets(stat, sizeof stat, f) != NULL);
    fclose(f);
    CHECK((close_paren = strrchr(stat, ')')) != NULL && close_paren[1] == ' ');
    return close_paren[2];
}

static void *leaderless_producer(void *arg)
{
    struct leaderless *l = arg;
    options o = DEFAULT_OPTIONS;
    struct timespec tick = { 0, 1000000 };
    record_format f;

    while (process_state() != 'Z')
        nanosleep(&tick, NULL);
    await_go("leader exited");
    f = record_format_of(&l->ring, l->seed, &o);
    produce_records(&l->ring, &f, 0, 1, l->count, IPCB_RING_BLOCK);
    ipcb_ring_close(&l->ring);
    exit(PEER_PASS);
}

static int mode_leaderless(const char *name, uint64_t count, uint64_t seed)
{
    static struct leaderless l;
    options o = DEFAULT_OPTIONS;
    record_format f;
    pthread_t t;

    if (count == 0)
        peer_die(PEER_BROKEN, "COUNT 0: record 0 registers the producer");
    ring_open_peer(&l.ring, name);
    f = record_format_of(&l.ring, seed, &o);
    produce_records(&l.ring, &f, 0, 0, 1, IPCB_RING_BLOCK);
    l.count = count;
    l.seed = seed;
    CHECK(pthread_create(&t, NULL, leaderless_producer, &l) == 0);
    pthread_exit(NULL);
}

/* count times: poll a record from in, offer it to out. */
static void echo_records(struct ipcb_ring *in, struct ipcb_ring *out, uint64_t count, int wait)
{
    uint8_t *buf = alloc_buffer(in->max_message);

    for (uint64_t i = 0; i < count; i++) {
        uint32_t len;
        int rc;

        if ((rc = ipcb_ring_poll(in, buf, in->max_message, &len, wait, -1)) != 0)
            ring_failed(in, rc, "poll", i);
        if ((rc = ipcb_ring_offer(out, buf, len, wait, -1)) != 0)
            ring_failed(out, rc, "offer", i);
    }
    free(buf);
}

static int mode_pong(const char *in_name, const char *out_name, uint64_t count, const options *o)
{
    struct ipcb_ring in, out;

    ring_open_peer(&in, in_name);
    ring_open_peer(&out, out_name);
    echo_records(&in, &out, count, o->wait);
    ipcb_ring_close(&in);
    ipcb_ring_close(&out);
    return PEER_PASS;
}

static int mode_create_or_open(const char *prefix, uint64_t count, uint64_t capacity)
{
    char name[256];
    struct ipcb_ring r;

    printf("ready\n");
    CHECK(fflush(stdout) == 0);
    for (uint64_t i = 0; i < count; i++) {
        const char *how = "created";
        char line[16];

        if (fgets(line, sizeof line, stdin) == NULL)
            peer_die(PEER_BROKEN, "stdin ended before round %llu", (unsigned long long)i);
        snprintf(name, sizeof name, "%s-%llu", prefix, (unsigned long long)i);
        while (ipcb_ring_create(&r, name, capacity, 200, 0, 0600) != 0) {
            if (errno != EEXIST)
                peer_die(PEER_BROKEN, "%s", ipcb_ring_error(&r));
            if (ipcb_ring_open(&r, name) == 0) {
                how = "opened";
                break;
            }
            if (errno != ENOENT)
                peer_die(PEER_BROKEN, "%s", ipcb_ring_error(&r));
        }
        printf("%s %u\n", how, r.max_message);
        CHECK(fflush(stdout) == 0);
        ipcb_ring_close(&r);
    }
    return PEER_PASS;
}

int main(int argc, char **argv)
{
    const char *mode;

    if (argc < 2)
        usage();
    mode = argv[1];

    if (strcmp(mode, "offsets") == 0 && argc == 2)
        return mode_offsets();
    if (strcmp(mode, "produce") == 0 && argc >= 5) {
        options o = parse_options(argc, argv, 5, "--producer --min --max --wait --pause-after");
        return mode_produce(argv[2], parse_u64(argv[3]), parse_u64(argv[4]), &o);
    }
    if (strcmp(mode, "consume") == 0 && argc >= 5) {
        options o = parse_options(argc, argv, 5, "--producers --min --max --wait --timeout-ms");
        return mode_consume(argv[2], parse_u64(argv[3]), parse_u64(argv[4]), &o);
    }
    if (strcmp(mode, "stall") == 0 && argc == 5)
        return mode_stall(argv[2], parse_u64(argv[3]), parse_u64(argv[4]));
    if (strcmp(mode, "abandon") == 0 && argc == 6)
        return mode_abandon(argv[2], parse_u64(argv[3]), parse_u64(argv[4]), parse_u64(argv[5]));
    if (strcmp(mode, "leaderless") == 0 && argc == 5)
        return mode_leaderless(argv[2], parse_u64(argv[3]), parse_u64(argv[4]));
    if (strcmp(mode, "pong") == 0 && argc >= 5) {
        options o = parse_options(argc, argv, 5, "--wait");
        return mode_pong(argv[2], argv[3], parse_u64(argv[4]), &o);
    }
    if (strcmp(mode, "create-or-open") == 0 && argc == 5)
        return mode_create_or_open(argv[2], parse_u64(argv[3]), parse_u64(argv[4]));
    usage();
}
