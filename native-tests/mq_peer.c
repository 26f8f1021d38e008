/*
 * mq_peer.c -- C peer for POSIX message queue tests of ipcbridge.
 *
 * NAME is a queue name with its leading slash ("/ipcb-x").  The peer never
 * creates or unlinks a queue (the Java side does).  Receive buffers are
 * sized from the queue's mq_getattr() mq_msgsize.  Every mode closes its
 * descriptors.
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
 *       for each other record append "producer, seq, priority, 0" as four
 *       u64 little-endian to OUTFILE (O_APPEND, one write(2) per record, so a
 *       SIGKILL loses at most the record between its receive and write; 32
 *       bytes, which divide the page size, so that no write straddles a page
 *       boundary, where the kernel ends a write short for a fatal signal).
 *       Pass (exit 0): the stop record came.  A torn record (bad length or
 *       CRC): one line on stderr, exit 1.
 *
 *   mq_peer notify-hold NAME
 *       mq_open(NAME, O_RDONLY); take the queue's notification registration
 *       with mq_notify (SIGEV_NONE), print "registered", then hold it until
 *       stdin reaches end of file.  Pass (exit 0): registered and held.
 *       EBUSY (another process holds it): one line on stderr, exit 1.
 *
 * Environment or syscall errors exit 2; mq_open failing with ENOSYS exits 4.
 * Usage errors exit 2 with a usage line on stderr.
 */
#include "peer.h"
#include "ipcb_record.h"

#include <limits.h>
#include <mqueue.h>
#include <sys/types.h>

static const char usage_text[] =
    "usage: mq_peer send NAME COUNT\n"
    "       mq_peer receive NAME COUNT\n"
    "       mq_peer send-prio NAME\n"
    "       mq_peer receive-all NAME\n"
    "       mq_peer send-raw NAME PRIO HEX\n"
    "       mq_peer receive-raw NAME\n"
    "       mq_peer echo NAME_IN NAME_OUT COUNT\n"
    "       mq_peer sink NAME BYTES\n"
    "       mq_peer source NAME BYTES SEED MSGSIZE\n"
    "       mq_peer records-send NAME PRODUCER COUNT\n"
    "       mq_peer records-receive NAME OUTFILE\n"
    "       mq_peer notify-hold NAME\n";

_Noreturn static void usage(void)
{
    fputs(usage_text, stderr);
    exit(PEER_BROKEN);
}

/* ------------------------------------------------------------ queue helpers */

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

_Noreturn static void op_failed(const char *op, const peer_mq *m)
{
    peer_die(PEER_BROKEN, "%s %s: %s", op, m->name, strerror(errno));
}

static void send_msg(peer_mq *m, const void *p, size_t n, unsigned prio)
{
    int r;
    do {
        r = mq_send(m->q, p, n, prio);
    } while (r != 0 && errno == EINTR);
    if (r != 0)
        op_failed("mq_send", m);
}

/* Receive into m->buf; returns the length, or -1 on EAGAIN (O_NONBLOCK). */
static ssize_t recv_msg(peer_mq *m, unsigned *prio)
{
    ssize_t n;
    do {
        n = mq_receive(m->q, m->buf, m->cap, prio);
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
        uint8_t line[32] = {0};
        ssize_t n = recv_msg(&m, &prio);
        if (ipcb_record_check((const uint8_t *)m.buf, (size_t)n, &producer, &seq) != 0)
            peer_die(PEER_FAIL, "records-receive %s: torn record of %zd bytes", name, n);
        if (producer == IPCB_RECORD_STOP)
            break;
        peer_store_le64(line, producer);
        peer_store_le64(line + 8, seq);
        peer_store_le64(line + 16, prio); /* line + 24: padding, 0 */
        CHECK(write_full(out, line, sizeof line) == 0);
    }
    CHECK(close(out) == 0);
    mq_close_peer(&m);
    return PEER_PASS;
}

static int mode_notify_hold(const char *name)
{
    peer_mq m;
    struct sigevent ev;
    char c;
    ssize_t r;

    mq_open_peer(&m, name, O_RDONLY);
    memset(&ev, 0, sizeof ev);
    ev.sigev_notify = SIGEV_NONE;
    if (mq_notify(m.q, &ev) != 0) {
        if (errno != EBUSY)
            op_failed("mq_notify", &m);
        fprintf(stderr, "mq_notify %s: %s\n", name, strerror(errno));
        mq_close_peer(&m);
        return PEER_FAIL;
    }
    puts("registered");
    CHECK(fflush(stdout) == 0);
    while ((r = read(0, &c, 1)) > 0 || (r < 0 && errno == EINTR))
        ;
    CHECK(r == 0); /* end of file, not a failed read */
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
    if (strcmp(mode, "sink") == 0 && argc == 4)
        return mode_sink(argv[2], parse_u64(argv[3]));
    if (strcmp(mode, "source") == 0 && argc == 6)
        return mode_source(argv[2], parse_u64(argv[3]), parse_u64(argv[4]),
                           parse_u64(argv[5]));
    if (strcmp(mode, "records-send") == 0 && argc == 5)
        return mode_records_send(argv[2], parse_u64(argv[3]), parse_u64(argv[4]));
    if (strcmp(mode, "records-receive") == 0 && argc == 4)
        return mode_records_receive(argv[2], argv[3]);
    if (strcmp(mode, "notify-hold") == 0 && argc == 3)
        return mode_notify_hold(argv[2]);
    usage();
}
