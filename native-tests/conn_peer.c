/*
 * conn_peer.c -- C peer for the multiprocessing.connection framing tests of
 * ipcbridge.  All framing goes through include/ipcb_conn.h (a message is a
 * 4-byte big-endian signed length, or -1 and an 8-byte big-endian length,
 * then the payload; see that header).
 *
 * FD / FDIN / FDOUT are inherited descriptors: a socket (e.g. one end of a
 * socketpair, for a duplex connection) or a pipe end.  Every mode closes the
 * descriptors it is given.  SIGPIPE is set to SIG_IGN at start, so writing to
 * a closed peer fails with EPIPE.
 *
 * Modes:
 *   conn_peer echo FD
 *       Receive messages on FD (at most 64 MiB each) and send each one back
 *       unchanged on FD, until the clean end (EOF at a message boundary).
 *       Prints "echoed <messages>".  A message is read completely before it
 *       is sent back, so a sender that writes a lot before reading replies
 *       can fill both directions and deadlock (the same as CPython).
 *       Echo pass (exit 0): clean end reached.  Protocol error (truncated
 *       frame, bad length, message above 64 MiB) or EPIPE: exit 1.  Other
 *       errors: exit 2.
 *
 *   conn_peer send FD COUNT SEED
 *       Send COUNT messages; message i (i = 0 .. COUNT-1) is
 *       (i * 7919) % 70001 bytes long (0 .. 70000; message 0 is empty) and
 *       holds the first bytes of pattern(SEED + i) (include/peer.h, a fresh
 *       generator per message; SEED + i wraps modulo 2^64).  Then close FD
 *       and print "sent <COUNT> <crc32 of all payloads concatenated, 8
 *       lowercase hex digits>".
 *       Pass (exit 0): all sent.  EPIPE: exit 1.  Other error: exit 2.
 *
 *   conn_peer send-cut FD COUNT SEED
 *       As send, but then leave a frame unfinished: write message COUNT's
 *       4-byte header (its full length, as send would) and only the first
 *       half of its payload, print "cut <COUNT> <length> <half>", flush, and
 *       wait reading stdin until EOF (the test SIGKILLs it meanwhile, to
 *       stand for a writer killed mid-frame).  FD is kept open until then.
 *       COUNT must make message COUNT at least 2 bytes long (COUNT >= 1).
 *       Pass (exit 0): stdin ended.  EPIPE: exit 1.  Other error: exit 2.
 *
 *   conn_peer recv FD [MAX]
 *       Receive messages (at most MAX bytes each, default 64 MiB) until the
 *       clean end, close FD, print "received <messages> <crc32 of all
 *       payloads concatenated, 8 lowercase hex digits>".
 *       Pass (exit 0): clean end reached.  Protocol error -- EOF inside a
 *       frame, a length below -1 (EPROTO), a length above MAX (EMSGSIZE) --:
 *       the error and the number of messages received before it go to
 *       stderr, exit 1.  Other errors: exit 2.
 *
 *   conn_peer eof-eintr
 *       ipcb_conn_recv's clean end (-2) leaves errno as it was, also when a
 *       signal interrupted the read before the end came: reads from a pipe of
 *       its own whose writer, a child, waits until this process sleeps in
 *       read(2) (/proc/PID/stat), sends SIGUSR1 (a handler without
 *       SA_RESTART: read fails with EINTR and the header retries), waits for
 *       the handler to have run, then closes the pipe.  Prints
 *       "end <return> errno <errno>" ("end -2 errno 0" expected).
 *       Pass (exit 0): -2 with errno 0.  Otherwise exit 1.
 *
 *   conn_peer raw FD HEX
 *       Write the bytes given as hex digits (an even number of 0-9a-fA-F,
 *       nothing else; "" writes nothing) to FD with no framing, close FD,
 *       exit.  For sending malformed frames to a Java receiver, e.g.
 *       "ffffffff" (a long-form header cut short), "fffffffe" (length -2),
 *       "0000000a6869" (10 bytes announced, 2 sent).
 *       Pass (exit 0): all written.  EPIPE: exit 1.  Other error: exit 2.
 *
 * Usage errors exit 2 with a usage line on stderr.
 */
#include "peer.h"
#include "ipcb_conn.h"

#include <sched.h>
#include <signal.h>

/* Largest message accepted by echo and, by default, recv. */
#define CONN_MAX_MESSAGE (UINT64_C(64) * 1024 * 1024)

/* Message i of the send mode is (i * SEND_STEP) % SEND_MOD bytes long. */
#define SEND_STEP UINT64_C(7919)
#define SEND_MOD UINT64_C(70001)

static const char usage_text[] =
    "usage: conn_peer echo FD\n"
    "       conn_peer send FD COUNT SEED\n"
    "       conn_peer send-cut FD COUNT SEED\n"
    "       conn_peer recv FD [MAX]\n"
    "       conn_peer eof-eintr\n"
    "       conn_peer raw FD HEX\n";

_Noreturn static void usage(void)
{
    fputs(usage_text, stderr);
    exit(PEER_BROKEN);
}

/* Exit code for a failed ipcb_conn_recv (-1) with errno e. */
static int recv_error_code(int e)
{
    return (e == EPROTO || e == EMSGSIZE) ? PEER_FAIL : PEER_BROKEN;
}

/* Exit code for a failed ipcb_conn_send / write with errno e. */
static int send_error_code(int e)
{
    return e == EPIPE ? PEER_FAIL : PEER_BROKEN;
}

static int mode_echo(int fd)
{
    uint64_t n = 0;
    int rc = PEER_PASS;

    peer_check_fd(fd);
    for (;;) {
        void *msg;
        int64_t len = ipcb_conn_recv(fd, &msg, CONN_MAX_MESSAGE);
        if (len == -2)
            break;
        if (len < 0) {
            int e = errno;
            fprintf(stderr, "echo: receive on fd %d after %llu messages: %s\n",
                    fd, (unsigned long long)n, strerror(e));
            rc = recv_error_code(e);
            break;
        }
        if (ipcb_conn_send(fd, msg, (uint64_t)len) != 0) {
            int e = errno;
            fprintf(stderr, "echo: send on fd %d of message %llu (%lld bytes): %s\n",
                    fd, (unsigned long long)n, (long long)len,
                    strerror(e));
            free(msg);
            rc = send_error_code(e);
            break;
        }
        free(msg);
        n++;
    }
    CHECK(close(fd) == 0);
    if (rc == PEER_PASS) {
        printf("echoed %llu\n", (unsigned long long)n);
        CHECK(fflush(stdout) == 0);
    }
    return rc;
}

/* The length of message i of send / send-cut: (i * 7919) % 70001, without
 * overflow for any i. */
static uint64_t send_length(uint64_t i)
{
    return (i % SEND_MOD) * SEND_STEP % SEND_MOD;
}

/* send-cut: after the COUNT whole messages, the header of message COUNT and
 * half its payload; then wait for stdin to end (or for SIGKILL). */
static int send_cut(int fd, unsigned char *buf, uint64_t count, uint64_t seed)
{
    uint64_t len = send_length(count);
    unsigned char header[4];
    peer_pattern pat;
    char c;

    if (len < 2)
        peer_die(PEER_BROKEN, "send-cut: message %llu is too short to cut",
                 (unsigned long long)count);
    pattern_init(&pat, seed + count);
    pattern_fill(&pat, buf, (size_t)len);
    ipcb_conn__store_be32(header, (uint32_t)len);
    if (write_full(fd, header, sizeof header) != 0 ||
        write_full(fd, buf, (size_t)(len / 2)) != 0) {
        fprintf(stderr, "send-cut: fd %d: %s\n", fd, strerror(errno));
        return send_error_code(errno);
    }
    printf("cut %llu %llu %llu\n", (unsigned long long)count,
           (unsigned long long)len, (unsigned long long)(len / 2));
    CHECK(fflush(stdout) == 0);
    while (read(0, &c, 1) > 0)
        ;
    return PEER_PASS;
}

static int mode_send(int fd, uint64_t count, uint64_t seed, int cut)
{
    unsigned char *buf;
    uint32_t crc = 0;
    int rc = PEER_PASS;

    peer_check_fd(fd);
    CHECK((buf = malloc((size_t)SEND_MOD)) != NULL);
    for (uint64_t i = 0; i < count; i++) {
        uint64_t len = send_length(i);
        peer_pattern pat;

        pattern_init(&pat, seed + i);
        pattern_fill(&pat, buf, (size_t)len);
        if (ipcb_conn_send(fd, buf, len) != 0) {
            int e = errno;
            fprintf(stderr, "send: fd %d, message %llu (%llu bytes): %s\n", fd,
                    (unsigned long long)i, (unsigned long long)len, strerror(e));
            rc = send_error_code(e);
            break;
        }
        crc = crc32_update(crc, buf, (size_t)len);
    }
    if (cut && rc == PEER_PASS) {
        rc = send_cut(fd, buf, count, seed);
        free(buf);
        CHECK(close(fd) == 0);
        return rc;
    }
    free(buf);
    CHECK(close(fd) == 0);
    if (rc == PEER_PASS) {
        printf("sent %llu %08x\n", (unsigned long long)count, (unsigned)crc);
        CHECK(fflush(stdout) == 0);
    }
    return rc;
}

static int mode_recv(int fd, uint64_t max)
{
    uint64_t n = 0;
    uint32_t crc = 0;
    int rc = PEER_PASS;

    peer_check_fd(fd);
    for (;;) {
        void *msg;
        int64_t len = ipcb_conn_recv(fd, &msg, max);
        if (len == -2)
            break;
        if (len < 0) {
            int e = errno;
            fprintf(stderr, "recv: fd %d after %llu messages: %s\n", fd,
                    (unsigned long long)n, strerror(e));
            rc = recv_error_code(e);
            break;
        }
        crc = crc32_update(crc, msg, (size_t)len);
        free(msg);
        n++;
    }
    CHECK(close(fd) == 0);
    if (rc == PEER_PASS) {
        printf("received %llu %08x\n", (unsigned long long)n, (unsigned)crc);
        CHECK(fflush(stdout) == 0);
    }
    return rc;
}

static int mode_raw(int fd, const char *hex)
{
    size_t n;
    unsigned char *buf = peer_parse_hex(hex, &n, "raw");
    int rc = PEER_PASS;

    peer_check_fd(fd);
    if (write_full(fd, buf, n) != 0) {
        int e = errno;
        fprintf(stderr, "raw: write fd %d (%zu bytes): %s\n", fd, n, strerror(e));
        rc = send_error_code(e);
    }
    free(buf);
    CHECK(close(fd) == 0);
    return rc;
}

/* The write end of the pipe that tells the child the SIGUSR1 handler ran. */
static int handled_fd = -1;

static void on_usr1(int sig)
{
    char b = 1;
    (void)sig;
    (void)!write(handled_fd, &b, 1);
}

/*
 * Whether process pid sleeps (state S in /proc/PID/stat, which any user may read): in
 * mode_eof_eintr the parent sleeps only in its read(2).
 */
static int sleeping(pid_t pid)
{
    char path[64], line[512];
    const char *state;
    FILE *f;
    int yes;

    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    CHECK((f = fopen(path, "r")) != NULL);
    yes = fgets(line, sizeof line, f) != NULL && (state = strrchr(line, ')')) != NULL
        && strncmp(state, ") S ", 4) == 0;
    CHECK(fclose(f) == 0);
    return yes;
}

static int mode_eof_eintr(void)
{
    int data[2], handled[2];
    struct sigaction sa;
    pid_t parent = getpid(), child;
    void *msg;
    int64_t r;
    int e, status;

    CHECK(pipe2(data, O_CLOEXEC) == 0);
    CHECK(pipe2(handled, O_CLOEXEC) == 0);
    handled_fd = handled[1];
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;           /* no SA_RESTART: the blocked read fails with EINTR */
    CHECK(sigemptyset(&sa.sa_mask) == 0);
    CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
    CHECK((child = fork()) >= 0);
    if (child == 0) {
        char b;
        CHECK(close(data[0]) == 0);
        while (!sleeping(parent))
            sched_yield();
        CHECK(kill(parent, SIGUSR1) == 0);
        CHECK(read(handled[0], &b, 1) == 1);
        _exit(0);                      /* closes the write end: the clean end */
    }
    CHECK(close(data[1]) == 0);
    errno = 0;
    r = ipcb_conn_recv(data[0], &msg, 16);
    e = errno;
    CHECK(waitpid(child, &status, 0) == child && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    printf("end %lld errno %d\n", (long long)r, e);
    CHECK(fflush(stdout) == 0);
    return r == -2 && e == 0 ? PEER_PASS : PEER_FAIL;
}

int main(int argc, char **argv)
{
    const char *mode;

    if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
        peer_die(PEER_BROKEN, "signal(SIGPIPE): %s", strerror(errno));
    if (argc < 2)
        usage();
    mode = argv[1];

    if (strcmp(mode, "echo") == 0 && argc == 3)
        return mode_echo(parse_fd(argv[2]));
    if (strcmp(mode, "send") == 0 && argc == 5)
        return mode_send(parse_fd(argv[2]), parse_u64(argv[3]),
                         parse_u64(argv[4]), 0);
    if (strcmp(mode, "send-cut") == 0 && argc == 5)
        return mode_send(parse_fd(argv[2]), parse_u64(argv[3]),
                         parse_u64(argv[4]), 1);
    if (strcmp(mode, "recv") == 0 && (argc == 3 || argc == 4))
        return mode_recv(parse_fd(argv[2]),
                         argc == 4 ? parse_u64(argv[3]) : CONN_MAX_MESSAGE);
    if (strcmp(mode, "eof-eintr") == 0 && argc == 2)
        return mode_eof_eintr();
    if (strcmp(mode, "raw") == 0 && argc == 4)
        return mode_raw(parse_fd(argv[2]), argv[3]);
    usage();
}
