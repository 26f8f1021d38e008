/*
 * ring_hostile.c -- C peer for the hostile-peer tests of the C ring,
 * include/ipcbridge_ring.c (RELIABILITY.md RING-08's rule for C: every
 * position, length and header field read from shared memory is checked;
 * a peer's garbage is EPROTO, never a loop, a crash or an access outside
 * the mapping).
 *
 *   ring_hostile cases
 *       Runs each case in a child of its own under alarm(): a hang ends as
 *       SIGALRM, a fault as its signal. Prints "CASE PASS" or "CASE FAIL
 *       (why)" per case, one a line. The cases, each on a private ring:
 *         padding-loop       single producer: producer_position 2^62 ahead,
 *                            a padding record over the whole data area
 *                            (read must fail with EPROTO, at once)
 *         past-producer      a record reaching past producer_position
 *         open-toctou        a thread flips the header's capacity while
 *                            20,000 opens run: no handle may use a capacity
 *                            other than the one it checked
 *         bad-records        negative, huge, misfitting lengths, unknown
 *                            types, both ring kinds: EPROTO each
 *         bad-header         garbage header fields: open fails with EPROTO
 *         misaligned         misaligned positions: read and offer EPROTO
 *         bad-claims         a dead producer's claim announcements: one the
 *                            ring could not hold is ignored, a valid one
 *                            skipped; nothing else is written
 *         bad-wait           not hostile, an unknown wait strategy: EINVAL
 *                            from offer, claim, poll and read at once,
 *                            whether or not the call would have waited,
 *                            and nothing claimed, read or registered
 *         live-claims        not hostile, the claims of live producers: one
 *                            that finds no room announces none; a child of
 *                            fork producing through its parent's handle
 *                            registers under its own pid
 *       Exit 0 when every case passed, 1 otherwise.
 *   ring_hostile wait-forever NAME
 *       Opens the ring NAME and reads one record with IPCB_RING_BLOCK and a
 *       timeout of INT64_MAX ns (for ever: it must not overflow into an
 *       immediate ETIMEDOUT); prints the record's length and exits 0, or
 *       prints the error and exits 1.
 */
#include "ipcbridge_ring.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

static char name[64];

/* Creates the ring `name` with a maximum message of `max` (0: the largest the capacity allows). */
static void mk_max(struct ipcb_ring *r, uint64_t cap, uint32_t max, uint32_t flags)
{
    snprintf(name, sizeof name, "/ipcb-hostile-%d", (int)getpid());
    shm_unlink(name);
    if (ipcb_ring_create(r, name, cap, max != 0 ? max : IPCB_RING_MAX_MESSAGE_LIMIT(cap), flags, 0600) != 0) {
        fprintf(stderr, "create: %s\n", ipcb_ring_error(r));
        exit(3);
    }
}

static void mk(struct ipcb_ring *r, uint64_t cap, uint32_t flags)
{
    mk_max(r, cap, 0, flags);
}

/* A: single-producer ring, producer_position far ahead, a full-length padding at 0. */
static int case_padding_loop(void)
{
    struct ipcb_ring r;
    const void *p;
    uint32_t len;
    mk(&r, 1024, 0);
    struct ipcb_ring_record *rec = (struct ipcb_ring_record *)r.data;
    rec->length = 1024 - 8;
    atomic_store(&rec->type, IPCB_RING_PADDING);
    atomic_store(&r.header->producer_position, UINT64_C(1) << 62);
    int rc = ipcb_ring_read(&r, &p, &len, IPCB_RING_NOWAIT, 0);
    printf("A read rc=%d errno=%d (%s): %s\n", rc, errno, strerror(errno), ipcb_ring_error(&r));
    ipcb_ring_close(&r);
    shm_unlink(name);
    return rc == -1 && errno == EPROTO ? 0 : 1;
}

/* A2: single-producer, producer_position = 8 (inside the first record), a message record of 64 bytes at 0;
 * then the consumer runs past the producer. */
static int case_record_past_producer(void)
{
    struct ipcb_ring r;
    const void *p;
    uint32_t len;
    mk(&r, 1024, 0);
    struct ipcb_ring_record *rec = (struct ipcb_ring_record *)r.data;
    rec->length = 56;
    atomic_store(&rec->type, IPCB_RING_MESSAGE);
    atomic_store(&r.header->producer_position, 8);
    int rc = ipcb_ring_read(&r, &p, &len, IPCB_RING_NOWAIT, 0);
    printf("A2 read rc=%d errno=%d: %s\n", rc, rc ? errno : 0, rc ? ipcb_ring_error(&r) : "");
    ipcb_ring_close(&r);
    shm_unlink(name);
    return rc == -1 && errno == EPROTO ? 0 : 1;
}

/* B: a peer flips capacity while we open. */
static volatile int stop;
static struct ipcb_ring_header *hh;
static void *flipper(void *arg)
{
    (void)arg;
    while (!stop) {
        *(volatile uint64_t *)&hh->capacity = UINT64_C(1) << 30;
        *(volatile uint64_t *)&hh->capacity = 1024;
    }
    return NULL;
}
static int case_open_toctou(void)
{
    struct ipcb_ring r, o;
    pthread_t t;
    int bad = 0, ok = 0;
    mk(&r, 1024, 0);
    hh = r.header;
    pthread_create(&t, NULL, flipper, NULL);
    for (int i = 0; i < 20000; i++) {
        if (ipcb_ring_open(&o, name) == 0) {
            ok++;
            if (o.capacity != 1024 || o.mapped < IPCB_RING_SEGMENT_SIZE(o.capacity))
                bad++;
            ipcb_ring_close(&o);
        }
    }
    stop = 1;
    pthread_join(t, NULL);
    printf("B opens ok=%d with capacity beyond the mapping=%d\n", ok, bad);
    ipcb_ring_close(&r);
    shm_unlink(name);
    return bad == 0 ? 0 : 1;
}

/* D: hostile records in a multi-producer ring: negative length, huge length, padding of wrong length,
 * unknown type, and a record that would reach past the end. All must fail with EPROTO. */
static int case_bad_records(void)
{
    int fails = 0;
    struct { int32_t type, length; uint64_t at; } cases[] = {
        { IPCB_RING_MESSAGE, -1, 0 }, { IPCB_RING_MESSAGE, INT32_MIN, 0 }, { IPCB_RING_MESSAGE, INT32_MAX, 0 },
        { IPCB_RING_MESSAGE, 505, 0 }, { IPCB_RING_MESSAGE, 32, 1000 }, { IPCB_RING_PADDING, 8, 0 },
        { IPCB_RING_PADDING, -8, 1016 }, { IPCB_RING_PADDING, INT32_MAX, 1016 }, { 7, 0, 0 }, { -1, 0, 0 },
        { IPCB_RING_ABANDONED, 2000, 0 }, { IPCB_RING_ABANDONED, -5, 0 },
    };
    for (unsigned multi = 0; multi < 2; multi++) {
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            struct ipcb_ring r;
            const void *p;
            uint32_t len;
            mk(&r, 1024, multi);
            atomic_store(&r.header->consumer_position, cases[i].at);
            atomic_store(&r.header->producer_position, cases[i].at + 512);
            struct ipcb_ring_record *rec = (struct ipcb_ring_record *)(r.data + (cases[i].at & 1023));
            rec->length = cases[i].length;
            atomic_store(&rec->type, cases[i].type);
            int rc = ipcb_ring_read(&r, &p, &len, IPCB_RING_NOWAIT, 0);
            if (!(rc == -1 && errno == EPROTO)) {
                printf("D multi=%u case %zu: rc=%d errno=%d len=%u\n", multi, i, rc, errno, rc == 0 ? len : 0);
                fails++;
            }
            ipcb_ring_close(&r);
            shm_unlink(name);
        }
    }
    printf("D bad records: %d unexpected\n", fails);
    return fails != 0;
}

/* E: header garbage at open. */
static int case_bad_header(void)
{
    int fails = 0;
    for (int k = 0; k < 7; k++) {
        struct ipcb_ring r, o;
        mk(&r, 4096, 0);
        struct ipcb_ring_header *h = r.header;
        switch (k) {
        case 0: h->capacity = 8192; break;
        case 1: h->capacity = 0; break;
        case 2: h->capacity = 3000; break;
        case 3: h->max_message = 4096; break;
        case 4: h->capacity = UINT64_C(1) << 63; break;
        case 5: h->header_size = 0; break;
        case 6: h->flags = 0x80000001u; break;
        }
        if (ipcb_ring_open(&o, name) == 0 || errno != EPROTO) {
            printf("E case %d opened / errno %d\n", k, errno);
            fails++;
        }
        ipcb_ring_close(&r);
        shm_unlink(name);
    }
    printf("E bad headers: %d unexpected\n", fails);
    return fails != 0;
}

/* F: misaligned positions. */
static int case_misaligned(void)
{
    int fails = 0;
    for (unsigned multi = 0; multi < 2; multi++) {
        struct ipcb_ring r;
        const void *p;
        uint32_t len;
        mk(&r, 1024, multi);
        atomic_store(&r.header->consumer_position, 3);
        if (ipcb_ring_read(&r, &p, &len, IPCB_RING_NOWAIT, 0) != -1 || errno != EPROTO)
            fails++;
        atomic_store(&r.header->producer_position, 5);
        if (ipcb_ring_offer(&r, "x", 1, IPCB_RING_NOWAIT, 0) != -1 || errno != EPROTO)
            fails++, printf("F multi=%u offer errno %d %s\n", multi, errno, ipcb_ring_error(&r));
        ipcb_ring_close(&r);
        shm_unlink(name);
    }
    printf("F misaligned: %d unexpected\n", fails);
    return fails != 0;
}

/* G: claim announcements (multi producer) a dead producer's slot holds: one
 * the ring could not hold is ignored (the read waits, nothing is written);
 * a valid one is skipped, zeroed, and nothing else is written. */
static int case_bad_claims(void)
{
    int fails = 0;
    struct ipcb_ring r;
    const void *p;
    uint32_t len;
    static uint8_t want[4096], now[4096];
    int64_t ignored[][2] = { { 0, 1 << 20 }, { 0, 12 }, { 4, 64 }, { 0, 128 }, { 8, 64 }, { -8, 4096 + 64 } };
    pid_t dead = fork();

    if (dead == 0)
        _exit(0);
    if (dead < 0 || waitpid(dead, NULL, 0) != dead) {
        perror("fork");
        return 1;
    }
    mk_max(&r, 4096, 100, IPCB_RING_MULTI_PRODUCER);
    memset(want, 0x5a, sizeof want);
    memset(want, 0, 8);       /* the record header at the head: not committed */
    memset(want + 64, 0, 8);  /* and after the valid claim */
    memcpy(r.data, want, sizeof want);
    atomic_store(&r.header->producer_position, 128);
    atomic_store(&r.header->producer_pids[0], (int32_t)dead);
    atomic_store(&r.header->producer_pids[1], (int32_t)getppid()); /* a live producer: no report */
    for (size_t i = 0; i < sizeof ignored / sizeof ignored[0]; i++) {
        atomic_store(&r.header->claim_at[0], (uint64_t)ignored[i][0]);
        atomic_store(&r.header->claim_end[0], (uint64_t)ignored[i][1]);
        int rc = ipcb_ring_read(&r, &p, &len, IPCB_RING_SPIN, 150000000);
        memcpy(now, r.data, sizeof now);
        if (!(rc == -1 && errno == ETIMEDOUT) || atomic_load(&r.header->consumer_position) != 0
            || memcmp(now, want, sizeof now) != 0) {
            printf("G claim %lld..%lld: rc=%d errno=%d (%s)\n", (long long)ignored[i][0], (long long)ignored[i][1], rc,
                   errno, ipcb_ring_error(&r));
            fails++;
        }
    }
    atomic_store(&r.header->claim_at[0], 0);
    atomic_store(&r.header->claim_end[0], 64);
    /* behind it, a committed record "hello": a read that does not wait gets it at once */
    struct ipcb_ring_record *behind = (struct ipcb_ring_record *)(void *)(r.data + 64);
    memcpy(r.data + 72, "hello", 5);
    behind->length = 5;
    atomic_store(&behind->type, IPCB_RING_MESSAGE);
    char got[100];
    ipcb_ring_close(&r); /* a new handle, whose first look at the pids is due at once */
    if (ipcb_ring_open(&r, name) != 0) {
        fprintf(stderr, "open: %s\n", ipcb_ring_error(&r));
        return 1;
    }
    int rc = ipcb_ring_poll(&r, got, sizeof got, &len, IPCB_RING_NOWAIT, 0);
    memset(want, 0, 80); /* the claim zeroed, and the record after it once read */
    memcpy(now, r.data, sizeof now);
    if (rc != 0 || len != 5 || memcmp(got, "hello", 5) != 0 || atomic_load(&r.header->consumer_position) != 80
        || memcmp(now, want, sizeof now) != 0) {
        printf("G valid claim: rc=%d errno=%d consumer_position %llu\n", rc, errno,
               (unsigned long long)atomic_load(&r.header->consumer_position));
        fails++;
    }
    ipcb_ring_close(&r);
    shm_unlink(name);
    printf("G bad claims: %d unexpected\n", fails);
    return fails != 0;
}

/* H: a producer that finds no room announces no claim (a loser of a
 * compare-and-set waiting for room would otherwise keep the consumer waiting
 * at the claim of a winner that died); and a child of fork producing through
 * its parent's handle registers anew, so that its claims are announced under
 * its own pid, never under its parent's (who may be gone). */
static int case_claims_of_live_producers(void)
{
    int fails = 0;
    struct ipcb_ring r;
    char msg[16] = "x";

    mk_max(&r, 1024, 100, IPCB_RING_MULTI_PRODUCER);
    if (ipcb_ring_offer(&r, msg, sizeof msg, IPCB_RING_NOWAIT, 0) != 0 || atomic_load(&r.header->claim_end[0]) == 0)
        fails++, printf("H first offer: %s, claim_end %llu\n", ipcb_ring_error(&r),
                        (unsigned long long)atomic_load(&r.header->claim_end[0]));
    while (ipcb_ring_offer(&r, msg, sizeof msg, IPCB_RING_NOWAIT, 0) == 0)
        ;
    if (errno != EAGAIN || atomic_load(&r.header->claim_end[0]) != 0)
        fails++, printf("H no room: errno %d, claim_end %llu (want 0)\n", errno,
                        (unsigned long long)atomic_load(&r.header->claim_end[0]));
    atomic_store(&r.header->consumer_position, atomic_load(&r.header->producer_position)); /* room again */
    memset(r.data, 0, 1024);
    pid_t child = fork();
    if (child == 0) {
        int bad = ipcb_ring_offer(&r, msg, sizeof msg, IPCB_RING_NOWAIT, 0) != 0;
        int32_t me = (int32_t)getpid();
        bad |= atomic_load(&r.header->producer_pids[0]) == me || atomic_load(&r.header->producer_pids[1]) != me;
        if (bad)
            printf("H fork: offer %s, slots %d %d, child %d\n", ipcb_ring_error(&r),
                   (int)atomic_load(&r.header->producer_pids[0]), (int)atomic_load(&r.header->producer_pids[1]), (int)me);
        _exit(bad);
    }
    int st;
    if (child < 0 || waitpid(child, &st, 0) != child || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
        fails++, printf("H fork: the child did not produce under its own pid in a slot of its own\n");
    /* a claim pending at fork stays the parent's: the child's close gives nothing up */
    void *payload;
    char got[32];
    uint32_t len;
    struct ipcb_ring reader;
    if (ipcb_ring_open(&reader, name) != 0 || ipcb_ring_claim(&r, 5, &payload, IPCB_RING_NOWAIT, 0) != 0)
        fails++, printf("H claim: %s\n", ipcb_ring_error(&r));
    memcpy(payload, "mine!", 5);
    if ((child = fork()) == 0) {
        ipcb_ring_close(&r);
        _exit(0);
    }
    waitpid(child, NULL, 0);
    while (ipcb_ring_poll(&reader, got, sizeof got, &len, IPCB_RING_NOWAIT, 0) == 0)
        ; /* the first child's record; then nothing: the claim is still the parent's */
    int rc = ipcb_ring_commit(&r);
    len = 0;
    if (rc == 0)
        ipcb_ring_poll(&reader, got, sizeof got, &len, IPCB_RING_NOWAIT, 0);
    if (rc != 0 || len != 5 || memcmp(got, "mine!", 5) != 0)
        fails++, printf("H fork: the parent's claim after the child's close: commit %d, read %u bytes\n", rc, len);
    ipcb_ring_close(&reader);
    ipcb_ring_close(&r);
    shm_unlink(name);
    printf("H claims of live producers: %d unexpected\n", fails);
    return fails != 0;
}

/* I: an unknown wait strategy is EINVAL whether or not the call would wait, with no side effect. */
static int case_bad_wait(void)
{
    int fails = 0;
    struct ipcb_ring r;
    char msg[8] = "abc", got[16];
    void *payload;
    const void *in;
    uint32_t len;

    mk(&r, 1024, IPCB_RING_MULTI_PRODUCER);
    /* room for the record: the producer would not wait */
    if (ipcb_ring_offer(&r, msg, 3, 7, 0) != -1 || errno != EINVAL)
        fails++, printf("I offer (room) with wait 7: accepted (%s)\n", ipcb_ring_error(&r));
    if (ipcb_ring_claim(&r, 3, &payload, -1, 0) != -1 || errno != EINVAL)
        fails++, printf("I claim (room) with wait -1: accepted (%s)\n", ipcb_ring_error(&r));
    if (atomic_load(&r.header->producer_position) != 0 || atomic_load(&r.header->producer_pids[0]) != 0
        || r.claim_end != 0)
        fails++, printf("I producer side effects: producer_position %llu, pid %d, claim_end %llu\n",
                        (unsigned long long)atomic_load(&r.header->producer_position),
                        (int)atomic_load(&r.header->producer_pids[0]), (unsigned long long)r.claim_end);
    if (ipcb_ring_offer(&r, msg, 3, IPCB_RING_NOWAIT, 0) != 0)
        fails++, printf("I offer: %s\n", ipcb_ring_error(&r));
    /* a record to read: the consumer would not wait */
    if (ipcb_ring_poll(&r, got, sizeof got, &len, 3, 0) != -1 || errno != EINVAL)
        fails++, printf("I poll (record) with wait 3: accepted (%s)\n", ipcb_ring_error(&r));
    if (ipcb_ring_read(&r, &in, &len, 42, 0) != -1 || errno != EINVAL)
        fails++, printf("I read (record) with wait 42: accepted (%s)\n", ipcb_ring_error(&r));
    if (atomic_load(&r.header->consumer_pid) != 0 || r.read_end != 0)
        fails++, printf("I consumer side effects: pid %d, read_end %llu\n", (int)atomic_load(&r.header->consumer_pid),
                        (unsigned long long)r.read_end);
    /* the record is still there */
    if (ipcb_ring_poll(&r, got, sizeof got, &len, IPCB_RING_NOWAIT, 0) != 0 || len != 3 || memcmp(got, "abc", 3) != 0)
        fails++, printf("I poll: %s\n", ipcb_ring_error(&r));
    ipcb_ring_close(&r);
    shm_unlink(name);
    printf("I unknown wait strategies: %d unexpected\n", fails);
    return fails != 0;
}

static int run(const char *what, int (*fn)(void), unsigned secs)
{
    pid_t c = fork();
    if (c < 0) {
        perror("fork");
        exit(2);
    }
    if (c == 0) {
        alarm(secs);
        _exit(fn());
    }
    int st;
    if (waitpid(c, &st, 0) != c) {
        perror("waitpid");
        exit(2);
    }
    int ok = WIFEXITED(st) && WEXITSTATUS(st) == 0;
    if (ok)
        printf("%s PASS\n", what);
    else if (WIFSIGNALED(st))
        printf("%s FAIL (signal %d%s)\n", what, WTERMSIG(st), WTERMSIG(st) == SIGALRM ? ": hung" : "");
    else
        printf("%s FAIL (exit %d)\n", what, WEXITSTATUS(st));
    return !ok;
}

static int wait_forever(const char *ring_name)
{
    struct ipcb_ring r;
    const void *p;
    uint32_t len;
    if (ipcb_ring_open(&r, ring_name) != 0) {
        printf("open: %s\n", ipcb_ring_error(&r));
        return 2;
    }
    int rc = ipcb_ring_read(&r, &p, &len, IPCB_RING_BLOCK, INT64_MAX);
    if (rc != 0)
        printf("read: %s\n", ipcb_ring_error(&r));
    else
        printf("read %u\n", len);
    ipcb_ring_close(&r);
    return rc == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc == 3 && strcmp(argv[1], "wait-forever") == 0)
        return wait_forever(argv[2]);
    if (argc != 2 || strcmp(argv[1], "cases") != 0) {
        fprintf(stderr, "usage: ring_hostile cases | wait-forever NAME\n");
        return 2;
    }
    int failed = 0;
    failed += run("padding-loop", case_padding_loop, 10);
    failed += run("past-producer", case_record_past_producer, 10);
    failed += run("open-toctou", case_open_toctou, 60);
    failed += run("bad-records", case_bad_records, 10);
    failed += run("bad-header", case_bad_header, 10);
    failed += run("misaligned", case_misaligned, 10);
    failed += run("bad-claims", case_bad_claims, 10);
    failed += run("bad-wait", case_bad_wait, 10);
    failed += run("live-claims", case_claims_of_live_producers, 10);
    return failed != 0;
}
