/*
 * mq_peer.c -- C peer for POSIX message queue tests of ipcbridge.
 *
 * NAME is a queue name with its leading slash ("/ipcb-x").  The peer never
 * creates or unlinks a queue (the Java side does), except bench-cc, which
 * works on private queues of its own.  Receive buffers are sized from the
 * queue's mq_getattr() mq_msgsize.  Every mode closes its descriptors.
 *
 * Modes:
 *   mq_peer send NAME COUNT
 *       mq_open(NAME, O_WRONLY); send COUNT messages, priority 0, blocking
 *       on a full queue.  Message seq (0..COUNT-1) = seq as 8 bytes
 *       little-endian, then (seq % 64) filler bytes of value (seq & 0xff).
 *       Pass (exit 0): all sent.
 *
 *   mq_peer receive NAME COUNT
 *       mq_open(NAME, O_RDONLY); receive COUNT messages and check that each
 *       is exactly the next message of `send` (sequence number, length,
 *       filler).  Prints "received COUNT".
 *       Pass (exit 0): all in order.  First gap, duplicate, reordering or
 *       corruption: one explaining line on stderr, exit 1.
 *
 *   mq_peer send-prio NAME
 *       mq_open(NAME, O_WRONLY); send 9 messages with priorities
 *       1,5,3,5,0,31,3,1,0 (in that order), message i = text "p<prio>-<i>"
 *       without NUL, e.g. "p5-1".  Pass (exit 0): all sent.
 *
 *   mq_peer receive-all NAME
 *       mq_open(NAME, O_RDONLY | O_NONBLOCK); receive until EAGAIN, printing
 *       "<priority> <payload bytes as text>" per message.  Exit 0.
 *
 *   mq_peer send-raw NAME PRIO HEX
 *       Send one message with the bytes given in HEX ("" = empty message)
 *       and priority PRIO.  Exit 0.
 *
 *   mq_peer receive-raw NAME
 *       Receive one message (blocking), print "<priority> <length> <hex>"
 *       (lowercase hex; "-" for an empty message).  Exit 0.
 *
 *   mq_peer echo NAME_IN NAME_OUT COUNT
 *       COUNT times: receive from NAME_IN, send the same bytes with the same
 *       priority to NAME_OUT.  (Ping-pong responder.)  Exit 0.
 *
 *   mq_peer pingpong NAME_OUT NAME_IN COUNT SIZE
 *       Initiator: COUNT times send SIZE bytes of pattern(1), priority 0, to
 *       NAME_OUT and receive the reply from NAME_IN.  Prints "<count> <total
 *       elapsed ns, CLOCK_MONOTONIC>".
 *       Pass (exit 0): every reply equals the request.  Otherwise exit 1.
 *
 *   mq_peer sink NAME BYTES
 *       Receive until BYTES payload bytes arrived; print "<bytes> <crc32 of
 *       the concatenated payloads, 8 lowercase hex digits>" (same format as
 *       pipe_peer sink).  Pass (exit 0): exactly BYTES bytes.  A message
 *       crossing BYTES: exit 1.
 *
 *   mq_peer source NAME BYTES SEED MSGSIZE
 *       Send BYTES bytes of pattern(SEED) (see include/peer.h) cut into
 *       messages of MSGSIZE bytes (the last one shorter), priority 0.
 *       Exit 0.
 *
 *   mq_peer records-send NAME PRODUCER COUNT
 *       Send records (PRODUCER, 0 .. COUNT-1) of include/ipcb_record.h, each
 *       with priority ipcb_record_prio(PRODUCER, seq), blocking on a full
 *       queue.  Exit 0.
 *
 *   mq_peer records-receive NAME OUTFILE
 *       Receive records until the stop record (producer IPCB_RECORD_STOP);
 *       for each other record append "producer, seq, priority" as three u64
 *       little-endian to OUTFILE (O_APPEND, one write(2) per record, so a
 *       SIGKILL loses at most the record between its receive and write).
 *       Pass (exit 0): the stop record came.  A torn record (bad length or
 *       CRC): one line on stderr, exit 1.
 *
 *   mq_peer bench-cc MSGS PINGS
 *       C<->C baseline on this machine.  Creates /ipcb-bench-<pid>-a and -b
 *       (O_CREAT | O_EXCL, 0600, default attributes) and unlinks them on
 *       every exit path (normal return, exit(), SIGINT/SIGTERM/SIGHUP).
 *       Every blocking operation of bench-cc (parent and children) gives up
 *       after BENCH_TIMEOUT_S seconds (exit 1), so a dead peer cannot hang it.
 *       (a) throughput: fork; the child sends MSGS messages of 8192 bytes to
 *           queue a; the parent receives them; elapsed time is measured by
 *           the parent from just before fork() to the last receive.
 *       (b) latency: fork an echo child (a -> b); the parent does 1000
 *           warm-up round trips of 8-byte messages, then PINGS round trips
 *           each timed individually (CLOCK_MONOTONIC).
 *       Prints (integers):
 *           throughput_bytes_per_sec <n>
 *           roundtrip_ns_mean <n>
 *           roundtrip_ns_median <n>
 *       Pass (exit 0): everything received, children exited 0.
 *
 * Environment or syscall errors exit 2; mq_open failing with ENOSYS exits 4.
 * Usage errors exit 2 with a usage line on stderr.
 */
#include "peer.h"
#include "ipcb_record.h"

#include <limits.h>
#include <mqueue.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>

static const char usage_text[] =
    "usage: mq_peer send NAME COUNT\n"
    "       mq_peer receive NAME COUNT\n"
    "       mq_peer send-prio NAME\n"
    "       mq_peer receive-all NAME\n"
    "       mq_peer send-raw NAME PRIO HEX\n"
    "       mq_peer receive-raw NAME\n"
    "       mq_peer echo NAME_IN NAME_OUT COUNT\n"
    "       mq_peer pingpong NAME_OUT NAME_IN COUNT SIZE\n"
    "       mq_peer sink NAME BYTES\n"
    "       mq_peer source NAME BYTES SEED MSGSIZE\n"
    "       mq_peer records-send NAME PRODUCER COUNT\n"
    "       mq_peer records-receive NAME OUTFILE\n"
    "       mq_peer bench-cc MSGS PINGS\n";

_Noreturn static void usage(void)
{
    fputs(usage_text, stderr);
    exit(PEER_BROKEN);
}

/* ------------------------------------------------------------ queue helpers */

/* Per-operation timeout in seconds for blocking send/receive; 0 = none. */
static int op_timeout_s;

typedef struct {
    mqd_t q;
    const char *name;
    char *buf;  /* receive buffer of cap = mq_msgsize bytes */
    size_t cap;
} peer_mq;

static void mq_open_peer(peer_mq *m, const char *name, int flags)
{
    struct mq_attr attr;

    if (name[0] != '/')
        peer_die(PEER_BROKEN, "queue name '%s' must start with '/'", name);
    while ((m->q = mq_open(name, flags, 0600, NULL)) == (mqd_t)-1 && errno == EINTR)
        ;
    if (m->q == (mqd_t)-1)
        peer_die(errno == ENOSYS ? PEER_UNSUPPORTED : PEER_BROKEN,
                 "mq_open %s: %s", name, strerror(errno));
    m->name = name;
    if (mq_getattr(m->q, &attr) != 0)
        peer_die(PEER_BROKEN, "mq_getattr %s: %s", name, strerror(errno));
    m->cap = (size_t)attr.mq_msgsize;
    CHECK((m->buf = malloc(m->cap ? m->cap : 1)) != NULL);
}

static void mq_close_peer(peer_mq *m)
{
    CHECK(mq_close(m->q) == 0);
    free(m->buf);
}

/* Absolute CLOCK_REALTIME deadline op_timeout_s from now. */
static struct timespec op_deadline(void)
{
    struct timespec ts;
    CHECK(clock_gettime(CLOCK_REALTIME, &ts) == 0);
    ts.tv_sec += op_timeout_s;
    return ts;
}

_Noreturn static void op_failed(const char *op, const peer_mq *m)
{
    if (errno == ETIMEDOUT)
        peer_die(PEER_FAIL, "%s %s: no progress for %d s", op, m->name,
                 op_timeout_s);
    peer_die(PEER_BROKEN, "%s %s: %s", op, m->name, strerror(errno));
}

static void send_msg(peer_mq *m, const void *p, size_t n, unsigned prio)
{
    int r;
    do {
        struct timespec dl;
        if (op_timeout_s > 0) {
            dl = op_deadline();
            r = mq_timedsend(m->q, p, n, prio, &dl);
        } else {
            r = mq_send(m->q, p, n, prio);
        }
    } while (r != 0 && errno == EINTR);
    if (r != 0)
        op_failed("mq_send", m);
}

/* Receive into m->buf; returns the length, or -1 on EAGAIN (O_NONBLOCK). */
static ssize_t recv_msg(peer_mq *m, unsigned *prio)
{
    ssize_t n;
    do {
        struct timespec dl;
        if (op_timeout_s > 0) {
            dl = op_deadline();
            n = mq_timedreceive(m->q, m->buf, m->cap, prio, &dl);
        } else {
            n = mq_receive(m->q, m->buf, m->cap, prio);
        }
    } while (n < 0 && errno == EINTR);
    if (n < 0 && errno != EAGAIN)
        op_failed("mq_receive", m);
    return n;
}

/* ------------------------------------------------------------ shared loops */

#define SEQ_MSG_MAX (8 + 63)

/* Build message seq of the send/receive modes into buf; returns its length. */
static size_t seq_msg(uint8_t *buf, uint64_t seq)
{
    size_t fill = (size_t)(seq % 64);
    peer_store_le64(buf, seq);
    memset(buf + 8, (int)(seq & 0xff), fill);
    return 8 + fill;
}

static uint64_t load_le64(const uint8_t *p)
{
    return (uint64_t)peer_load_le32(p) | (uint64_t)peer_load_le32(p + 4) << 32;
}

/* COUNT times: forward a message from in to out with its priority. */
static void echo_loop(peer_mq *in, peer_mq *out, uint64_t count)
{
    for (uint64_t i = 0; i < count; i++) {
        unsigned prio;
        ssize_t n = recv_msg(in, &prio);
        send_msg(out, in->buf, (size_t)n, prio);
    }
}

/* Send msg to out, receive the reply from in; exit 1 unless it is msg. */
static void roundtrip(peer_mq *out, peer_mq *in, const void *msg, size_t len,
                      uint64_t round)
{
    ssize_t n;
    send_msg(out, msg, len, 0);
    n = recv_msg(in, NULL);
    if ((size_t)n != len || memcmp(in->buf, msg, len) != 0)
        peer_die(PEER_FAIL, "round %llu: reply of %zd bytes differs from the "
                 "%zu-byte request", (unsigned long long)round, n, len);
}

/* Receive until exactly `bytes` payload bytes; CRC them if crc != NULL. */
static void sink_loop(peer_mq *m, uint64_t bytes, uint32_t *crc)
{
    uint64_t got = 0;
    while (got < bytes) {
        size_t n = (size_t)recv_msg(m, NULL);
        if (crc != NULL)
            *crc = crc32_update(*crc, m->buf, n);
        got += n;
    }
    if (got != bytes)
        peer_die(PEER_FAIL, "sink %s: received %llu bytes, expected %llu",
                 m->name, (unsigned long long)got, (unsigned long long)bytes);
}

/* ------------------------------------------------------------------- modes */

static int mode_send(const char *name, uint64_t count)
{
    peer_mq m;
    uint8_t msg[SEQ_MSG_MAX];

    mq_open_peer(&m, name, O_WRONLY);
    for (uint64_t seq = 0; seq < count; seq++)
        send_msg(&m, msg, seq_msg(msg, seq), 0);
    mq_close_peer(&m);
    return PEER_PASS;
}

static int mode_receive(const char *name, uint64_t count)
{
    peer_mq m;
    uint8_t exp[SEQ_MSG_MAX];

    mq_open_peer(&m, name, O_RDONLY);
    for (uint64_t seq = 0; seq < count; seq++) {
        size_t elen = seq_msg(exp, seq);
        size_t n = (size_t)recv_msg(&m, NULL);
        const uint8_t *got = (const uint8_t *)m.buf;
        uint64_t gseq;

        if (n < 8)
            peer_die(PEER_FAIL, "receive: expected seq %llu, got a %zu-byte "
                     "message (too short for a sequence number)",
                     (unsigned long long)seq, n);
        gseq = load_le64(got);
        if (gseq != seq)
            peer_die(PEER_FAIL, "receive: expected seq %llu, got seq %llu (%s)",
                     (unsigned long long)seq, (unsigned long long)gseq,
                     gseq > seq ? "gap: messages lost"
                                : "duplicate or out of order");
        if (n != elen)
            peer_die(PEER_FAIL, "receive: seq %llu: length %zu, expected %zu",
                     (unsigned long long)seq, n, elen);
        for (size_t i = 8; i < n; i++)
            if (got[i] != exp[i])
                peer_die(PEER_FAIL, "receive: seq %llu: filler byte %zu is "
                         "0x%02x, expected 0x%02x", (unsigned long long)seq,
                         i, got[i], exp[i]);
    }
    mq_close_peer(&m);
    printf("received %llu\n", (unsigned long long)count);
    CHECK(fflush(stdout) == 0);
    return PEER_PASS;
}

static int mode_send_prio(const char *name)
{
    static const unsigned prios[] = { 1, 5, 3, 5, 0, 31, 3, 1, 0 };
    peer_mq m;

    mq_open_peer(&m, name, O_WRONLY);
    for (size_t i = 0; i < sizeof prios / sizeof prios[0]; i++) {
        char text[32];
        int n = snprintf(text, sizeof text, "p%u-%zu", prios[i], i);
        send_msg(&m, text, (size_t)n, prios[i]);
    }
    mq_close_peer(&m);
    return PEER_PASS;
}

static int mode_receive_all(const char *name)
{
    peer_mq m;
    unsigned prio;
    ssize_t n;

    mq_open_peer(&m, name, O_RDONLY | O_NONBLOCK);
    while ((n = recv_msg(&m, &prio)) >= 0) {
        printf("%u ", prio);
        CHECK(fwrite(m.buf, 1, (size_t)n, stdout) == (size_t)n);
        putchar('\n');
    }
    mq_close_peer(&m);
    CHECK(fflush(stdout) == 0);
    return PEER_PASS;
}

static int mode_send_raw(const char *name, uint64_t prio, const char *hex)
{
    size_t len;
    uint8_t *msg;
    peer_mq m;

    if (prio > UINT_MAX)
        peer_die(PEER_BROKEN, "send-raw: PRIO out of range");
    msg = peer_parse_hex(hex, &len, "send-raw");
    mq_open_peer(&m, name, O_WRONLY);
    send_msg(&m, msg, len, (unsigned)prio);
    mq_close_peer(&m);
    free(msg);
    return PEER_PASS;
}

static int mode_receive_raw(const char *name)
{
    peer_mq m;
    unsigned prio;
    size_t n;

    mq_open_peer(&m, name, O_RDONLY);
    n = (size_t)recv_msg(&m, &prio);
    printf("%u %zu ", prio, n);
    for (size_t i = 0; i < n; i++)
        printf("%02x", (unsigned)(uint8_t)m.buf[i]);
    puts(n ? "" : "-");
    mq_close_peer(&m);
    CHECK(fflush(stdout) == 0);
    return PEER_PASS;
}

static int mode_echo(const char *name_in, const char *name_out, uint64_t count)
{
    peer_mq in, out;

    mq_open_peer(&in, name_in, O_RDONLY);
    mq_open_peer(&out, name_out, O_WRONLY);
    echo_loop(&in, &out, count);
    mq_close_peer(&in);
    mq_close_peer(&out);
    return PEER_PASS;
}

static int mode_pingpong(const char *name_out, const char *name_in,
                         uint64_t count, uint64_t size)
{
    peer_mq out, in;
    peer_pattern pat;
    char *msg;
    uint64_t t0, t1;

    mq_open_peer(&out, name_out, O_WRONLY);
    mq_open_peer(&in, name_in, O_RDONLY);
    if (size > out.cap || size > in.cap)
        peer_die(PEER_BROKEN, "pingpong: SIZE %llu exceeds mq_msgsize (%zu/%zu)",
                 (unsigned long long)size, out.cap, in.cap);
    CHECK((msg = malloc(size ? (size_t)size : 1)) != NULL);
    pattern_init(&pat, 1);
    pattern_fill(&pat, msg, (size_t)size);

    t0 = peer_now_ns();
    for (uint64_t i = 0; i < count; i++)
        roundtrip(&out, &in, msg, (size_t)size, i);
    t1 = peer_now_ns();

    free(msg);
    mq_close_peer(&out);
    mq_close_peer(&in);
    printf("%llu %llu\n", (unsigned long long)count,
           (unsigned long long)(t1 - t0));
    CHECK(fflush(stdout) == 0);
    return PEER_PASS;
}

static int mode_sink(const char *name, uint64_t bytes)
{
    peer_mq m;
    uint32_t crc = 0;

    mq_open_peer(&m, name, O_RDONLY);
    sink_loop(&m, bytes, &crc);
    mq_close_peer(&m);
    printf("%llu %08x\n", (unsigned long long)bytes, (unsigned)crc);
    CHECK(fflush(stdout) == 0);
    return PEER_PASS;
}

static int mode_source(const char *name, uint64_t bytes, uint64_t seed,
                       uint64_t msgsize)
{
    peer_mq m;
    peer_pattern pat;
    char *msg;

    if (msgsize == 0 || msgsize > SSIZE_MAX)
        peer_die(PEER_BROKEN, "source: MSGSIZE must be >= 1");
    mq_open_peer(&m, name, O_WRONLY);
    CHECK((msg = malloc((size_t)msgsize)) != NULL);
    pattern_init(&pat, seed);
    for (uint64_t done = 0; done < bytes;) {
        size_t n = (size_t)(bytes - done < msgsize ? bytes - done : msgsize);
        pattern_fill(&pat, msg, n);
        send_msg(&m, msg, n, 0);
        done += n;
    }
    free(msg);
    mq_close_peer(&m);
    return PEER_PASS;
}

/* ---------------------------------------------------------------- bench-cc */

#define BENCH_MSG_SIZE 8192
#define BENCH_WARMUP 1000
#define BENCH_TIMEOUT_S 30

static char bench_names[2][64];   /* queues to unlink ("" = none)   */
static pid_t bench_owner;         /* only this process cleans up    */
static volatile pid_t bench_child; /* running child to kill, or 0   */

static void bench_cleanup(void)
{
    if (getpid() != bench_owner)
        return;
    if (bench_child > 0) {
        kill(bench_child, SIGKILL);
        bench_child = 0;
    }
    for (int i = 0; i < 2; i++)
        if (bench_names[i][0] != '\0') {
            mq_unlink(bench_names[i]);
            bench_names[i][0] = '\0';
        }
}

static void bench_on_signal(int sig)
{
    bench_cleanup();
    signal(sig, SIG_DFL);
    raise(sig);
}

/* Flush stdio and fork; the child runs fn(a, b, arg), closes and _exits 0. */
static void bench_fork(void (*fn)(peer_mq *, peer_mq *, uint64_t),
                       peer_mq *a, peer_mq *b, uint64_t arg)
{
    pid_t pid;

    CHECK(fflush(NULL) == 0);
    CHECK((pid = fork()) >= 0);
    if (pid == 0) {
        fn(a, b, arg);
        mq_close_peer(a);
        mq_close_peer(b);
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

static void bench_sender(peer_mq *a, peer_mq *b, uint64_t msgs)
{
    static char msg[BENCH_MSG_SIZE];
    (void)b;
    memset(msg, 0x5a, sizeof msg);
    for (uint64_t i = 0; i < msgs; i++)
        send_msg(a, msg, sizeof msg, 0);
}

static void bench_echo(peer_mq *a, peer_mq *b, uint64_t count)
{
    echo_loop(a, b, count);
}

static int cmp_u64(const void *x, const void *y)
{
    uint64_t u = *(const uint64_t *)x, v = *(const uint64_t *)y;
    return (u > v) - (u < v);
}

static int mode_bench_cc(uint64_t msgs, uint64_t pings)
{
    static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
    struct sigaction sa;
    peer_mq q[2];
    uint64_t t0, t1, *rt, sum = 0, mean = 0, median = 0;
    double throughput;
    int rc = PEER_PASS;

    if (msgs > UINT64_MAX / BENCH_MSG_SIZE)
        peer_die(PEER_BROKEN, "bench-cc: MSGS too large");
    if (pings > SIZE_MAX / sizeof *rt)
        peer_die(PEER_BROKEN, "bench-cc: PINGS too large");
    CHECK((rt = malloc(pings ? (size_t)pings * sizeof *rt : 1)) != NULL);

    bench_owner = getpid();
    CHECK(atexit(bench_cleanup) == 0);
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = bench_on_signal;
    sa.sa_flags = SA_RESTART;
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        CHECK(sigaction(sigs[i], &sa, NULL) == 0);
    for (int i = 0; i < 2; i++) {
        static char names[2][64];
        snprintf(names[i], sizeof names[i], "/ipcb-bench-%ld-%c",
                 (long)bench_owner, 'a' + i);
        mq_open_peer(&q[i], names[i], O_RDWR | O_CREAT | O_EXCL);
        memcpy(bench_names[i], names[i], sizeof names[i]);
    }
    if (q[0].cap < BENCH_MSG_SIZE)
        peer_die(PEER_BROKEN, "bench-cc: default mq_msgsize %zu < %d", q[0].cap,
                 BENCH_MSG_SIZE);
    op_timeout_s = BENCH_TIMEOUT_S;

    /* (a) throughput: child -> a -> parent */
    t0 = peer_now_ns();
    bench_fork(bench_sender, &q[0], &q[1], msgs);
    sink_loop(&q[0], msgs * BENCH_MSG_SIZE, NULL);
    t1 = peer_now_ns();
    if (bench_wait("throughput") != 0)
        rc = PEER_FAIL;
    throughput = t1 > t0 ? (double)(msgs * BENCH_MSG_SIZE) * 1e9 /
                           (double)(t1 - t0) : 0.0;

    /* (b) latency: parent -> a -> echo child -> b -> parent */
    bench_fork(bench_echo, &q[0], &q[1], BENCH_WARMUP + pings);
    for (uint64_t i = 0; i < BENCH_WARMUP + pings; i++) {
        uint8_t msg[8];
        uint64_t s = peer_now_ns();
        peer_store_le64(msg, i);
        roundtrip(&q[0], &q[1], msg, sizeof msg, i);
        if (i >= BENCH_WARMUP)
            rt[i - BENCH_WARMUP] = peer_now_ns() - s;
    }
    if (bench_wait("echo") != 0)
        rc = PEER_FAIL;

    if (pings > 0) {
        for (uint64_t i = 0; i < pings; i++)
            sum += rt[i];
        mean = (sum + pings / 2) / pings;
        qsort(rt, (size_t)pings, sizeof *rt, cmp_u64);
        median = pings % 2 ? rt[pings / 2]
                           : (rt[pings / 2 - 1] + rt[pings / 2] + 1) / 2;
    }
    free(rt);
    mq_close_peer(&q[0]);
    mq_close_peer(&q[1]);
    bench_cleanup();

    printf("throughput_bytes_per_sec %.0f\n", throughput);
    printf("roundtrip_ns_mean %llu\n", (unsigned long long)mean);
    printf("roundtrip_ns_median %llu\n", (unsigned long long)median);
    CHECK(fflush(stdout) == 0);
    return rc;
}

static int mode_records_send(const char *name, uint64_t producer, uint64_t count)
{
    peer_mq m;
    uint8_t rec[IPCB_RECORD_MAX];

    mq_open_peer(&m, name, O_WRONLY);
    for (uint64_t seq = 0; seq < count; seq++)
        send_msg(&m, rec, ipcb_record_build(rec, producer, seq), ipcb_record_prio(producer, seq));
    mq_close_peer(&m);
    return PEER_PASS;
}

static int mode_records_receive(const char *name, const char *outfile)
{
    peer_mq m;
    int out;

    mq_open_peer(&m, name, O_RDONLY);
    CHECK((out = open(outfile, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600)) >= 0);
    for (;;) {
        unsigned prio;
        uint64_t producer, seq;
        uint8_t line[24];
        ssize_t n = recv_msg(&m, &prio);
        if (ipcb_record_check((const uint8_t *)m.buf, (size_t)n, &producer, &seq) != 0)
            peer_die(PEER_FAIL, "records-receive %s: torn record of %zd bytes", name, n);
        if (producer == IPCB_RECORD_STOP)
            break;
        peer_store_le64(line, producer);
        peer_store_le64(line + 8, seq);
        peer_store_le64(line + 16, prio);
        CHECK(write_full(out, line, sizeof line) == 0);
    }
    CHECK(close(out) == 0);
    mq_close_peer(&m);
    return PEER_PASS;
}

int main(int argc, char **argv)
{
    const char *mode;

    if (argc < 2)
        usage();
    mode = argv[1];

    if (strcmp(mode, "send") == 0 && argc == 4)
        return mode_send(argv[2], parse_u64(argv[3]));
    if (strcmp(mode, "receive") == 0 && argc == 4)
        return mode_receive(argv[2], parse_u64(argv[3]));
    if (strcmp(mode, "send-prio") == 0 && argc == 3)
        return mode_send_prio(argv[2]);
    if (strcmp(mode, "receive-all") == 0 && argc == 3)
        return mode_receive_all(argv[2]);
    if (strcmp(mode, "send-raw") == 0 && argc == 5)
        return mode_send_raw(argv[2], parse_u64(argv[3]), argv[4]);
    if (strcmp(mode, "receive-raw") == 0 && argc == 3)
        return mode_receive_raw(argv[2]);
    if (strcmp(mode, "echo") == 0 && argc == 5)
        return mode_echo(argv[2], argv[3], parse_u64(argv[4]));
    if (strcmp(mode, "pingpong") == 0 && argc == 6)
        return mode_pingpong(argv[2], argv[3], parse_u64(argv[4]),
                             parse_u64(argv[5]));
    if (strcmp(mode, "sink") == 0 && argc == 4)
        return mode_sink(argv[2], parse_u64(argv[3]));
    if (strcmp(mode, "source") == 0 && argc == 6)
        return mode_source(argv[2], parse_u64(argv[3]), parse_u64(argv[4]),
                           parse_u64(argv[5]));
    if (strcmp(mode, "records-send") == 0 && argc == 5)
        return mode_records_send(argv[2], parse_u64(argv[3]), parse_u64(argv[4]));
    if (strcmp(mode, "records-receive") == 0 && argc == 4)
        return mode_records_receive(argv[2], argv[3]);
    if (strcmp(mode, "bench-cc") == 0 && argc == 4)
        return mode_bench_cc(parse_u64(argv[2]), parse_u64(argv[3]));
    usage();
}
