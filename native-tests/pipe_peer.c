/*
 * pipe_peer.c -- C peer for anonymous-pipe tests of ipcbridge.
 *
 * SIGPIPE is set to SIG_IGN at start, so a write to a pipe without readers
 * fails with EPIPE instead of killing the process.
 *
 * Modes:
 *   pipe_peer sink FD
 *       Read FD until EOF in 64 KiB reads, close FD, print one line
 *       "<bytecount> <crc32 as 8 lowercase hex digits>" to stdout.
 *       Pass (exit 0): EOF reached.  Read error: exit 2.
 *
 *   pipe_peer source FD BYTES SEED
 *       Write BYTES bytes of pattern(SEED) (see include/peer.h) to FD in
 *       64 KiB writes, then close FD.
 *       Pass (exit 0): everything written.  EPIPE: exit 1.  Other error: 2.
 *
 *   pipe_peer echo FDIN FDOUT
 *       Loop: read up to 64 KiB from FDIN; on EOF close both and exit 0;
 *       write exactly the bytes read to FDOUT.  (Ping-pong responder.)
 *       EPIPE on FDOUT: exit 1.  Other error: exit 2.
 *
 *   pipe_peer pingpong FDOUT FDIN COUNT SIZE
 *       Initiator of a ping-pong: COUNT times write SIZE bytes (SIZE >= 1)
 *       to FDOUT, then read exactly SIZE bytes from FDIN.  Close both, print
 *       "<count> <total elapsed ns, CLOCK_MONOTONIC>".
 *       All SIZE bytes are written before any reply is read, so with the
 *       echo mode on the other side SIZE must fit in what can be buffered in
 *       flight (both pipes plus echo's 64 KiB buffer): SIZE <= 64 KiB is
 *       always safe with default pipes; much larger sizes deadlock.
 *       Pass (exit 0): all round trips completed.  Short read (EOF) or
 *       EPIPE: exit 1.  Other error: exit 2.
 *
 *   pipe_peer bench-cc BYTES PINGS
 *       C<->C baseline on this machine.
 *       (a) throughput: pipe(), fork; the child writes BYTES bytes of
 *           pattern(1) in 64 KiB writes; the parent reads everything in
 *           64 KiB reads; elapsed time is measured by the parent from just
 *           after fork() until EOF.
 *       (b) latency: two pipes, fork an echo child, PINGS 1-byte round trips
 *           each timed individually (CLOCK_MONOTONIC).
 *       Prints (integers):
 *           throughput_bytes_per_sec <n>
 *           roundtrip_ns_mean <n>
 *           roundtrip_ns_median <n>
 *       Pass (exit 0): all bytes received, all round trips done, children
 *       exited 0.  Otherwise exit 1 (or 2 on environment errors).
 *
 * Usage errors exit 2 with a usage line on stderr.
 */
#include "peer.h"

#include <limits.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>

static const char usage_text[] =
    "usage: pipe_peer sink FD\n"
    "       pipe_peer source FD BYTES SEED\n"
    "       pipe_peer echo FDIN FDOUT\n"
    "       pipe_peer pingpong FDOUT FDIN COUNT SIZE\n"
    "       pipe_peer bench-cc BYTES PINGS\n";

_Noreturn static void usage(void)
{
    fputs(usage_text, stderr);
    exit(PEER_BROKEN);
}

static void close_fds(int a, int b)
{
    CHECK(close(a) == 0);
    if (b != a)
        CHECK(close(b) == 0);
}

/* Echo loop; does not close the fds.  Returns an exit code. */
static int echo_loop(int fdin, int fdout)
{
    char *buf = malloc(PEER_CHUNK);
    int rc = PEER_PASS;

    CHECK(buf != NULL);
    for (;;) {
        ssize_t r = read(fdin, buf, PEER_CHUNK);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            fprintf(stderr, "echo: read fd %d: %s\n", fdin, strerror(errno));
            rc = PEER_BROKEN;
            break;
        }
        if (r == 0)
            break;
        if (write_full(fdout, buf, (size_t)r) != 0) {
            int e = errno;
            fprintf(stderr, "echo: write fd %d: %s\n", fdout, strerror(e));
            rc = e == EPIPE ? PEER_FAIL : PEER_BROKEN;
            break;
        }
    }
    free(buf);
    return rc;
}

static int mode_sink(int fd)
{
    uint64_t count;
    uint32_t crc;

    peer_check_fd(fd);
    peer_sink_fd(fd, &count, &crc);
    CHECK(close(fd) == 0);
    printf("%llu %08x\n", (unsigned long long)count, (unsigned)crc);
    CHECK(fflush(stdout) == 0);
    return PEER_PASS;
}

static int mode_source(int fd, uint64_t bytes, uint64_t seed)
{
    int rc;

    peer_check_fd(fd);
    rc = peer_source_fd(fd, bytes, seed);
    CHECK(close(fd) == 0);
    return rc;
}

static int mode_echo(int fdin, int fdout)
{
    int rc;

    peer_check_fd(fdin);
    peer_check_fd(fdout);
    rc = echo_loop(fdin, fdout);
    close_fds(fdin, fdout);
    return rc;
}

static int mode_pingpong(int fdout, int fdin, uint64_t count, uint64_t size)
{
    peer_pattern pat;
    char *out, *in;
    uint64_t t0, t1, i;
    int rc = PEER_PASS;

    peer_check_fd(fdout);
    peer_check_fd(fdin);
    if (size == 0 || size > (uint64_t)SSIZE_MAX)
        peer_die(PEER_BROKEN, "pingpong: SIZE must be >= 1");
    CHECK((out = malloc((size_t)size)) != NULL);
    CHECK((in = malloc((size_t)size)) != NULL);
    pattern_init(&pat, 1);
    pattern_fill(&pat, out, (size_t)size);

    t0 = peer_now_ns();
    for (i = 0; i < count; i++) {
        ssize_t r;
        if (write_full(fdout, out, (size_t)size) != 0) {
            int e = errno;
            fprintf(stderr, "pingpong: write fd %d in round %llu: %s\n", fdout,
                    (unsigned long long)i, strerror(e));
            rc = e == EPIPE ? PEER_FAIL : PEER_BROKEN;
            break;
        }
        r = read_full(fdin, in, (size_t)size);
        if (r < 0) {
            fprintf(stderr, "pingpong: read fd %d in round %llu: %s\n", fdin,
                    (unsigned long long)i, strerror(errno));
            rc = PEER_BROKEN;
            break;
        }
        if ((uint64_t)r != size) {
            fprintf(stderr, "pingpong: short read in round %llu: %lld of %llu bytes\n",
                    (unsigned long long)i, (long long)r, (unsigned long long)size);
            rc = PEER_FAIL;
            break;
        }
    }
    t1 = peer_now_ns();

    free(out);
    free(in);
    close_fds(fdout, fdin);
    if (rc == PEER_PASS) {
        printf("%llu %llu\n", (unsigned long long)count,
               (unsigned long long)(t1 - t0));
        CHECK(fflush(stdout) == 0);
    }
    return rc;
}


static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static int mode_bench_cc(uint64_t bytes, uint64_t pings)
{
    int rc = PEER_PASS;
    int p[2], a[2], b[2];
    pid_t pid;
    uint64_t t0, t1, got = 0;
    double throughput;
    uint64_t *rt = NULL, sum = 0, median = 0, mean = 0;
    char *buf;

    /* (a) throughput */
    CHECK((buf = malloc(PEER_CHUNK)) != NULL);
    CHECK(pipe(p) == 0);
    CHECK(fflush(NULL) == 0);
    CHECK((pid = fork()) >= 0);
    if (pid == 0) {
        int code;
        close(p[0]);
        code = peer_source_fd(p[1], bytes, 1);
        close(p[1]);
        _exit(code);
    }
    t0 = peer_now_ns();
    CHECK(close(p[1]) == 0);
    for (;;) {
        ssize_t r = read(p[0], buf, PEER_CHUNK);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            peer_die(PEER_BROKEN, "bench-cc: read: %s", strerror(errno));
        }
        if (r == 0)
            break;
        got += (uint64_t)r;
    }
    t1 = peer_now_ns();
    CHECK(close(p[0]) == 0);
    free(buf);
    if (peer_wait_child(pid, "throughput") != 0)
        rc = PEER_FAIL;
    if (got != bytes) {
        fprintf(stderr, "bench-cc: received %llu of %llu bytes\n",
                (unsigned long long)got, (unsigned long long)bytes);
        rc = PEER_FAIL;
    }
    throughput = t1 > t0 ? (double)got * 1e9 / (double)(t1 - t0) : 0.0;

    /* (b) latency: a = parent->child, b = child->parent */
    if (pings > SIZE_MAX / sizeof *rt)
        peer_die(PEER_BROKEN, "bench-cc: PINGS too large");
    CHECK((rt = malloc(pings ? (size_t)pings * sizeof *rt : 1)) != NULL);
    CHECK(pipe(a) == 0);
    CHECK(pipe(b) == 0);
    CHECK(fflush(NULL) == 0);
    CHECK((pid = fork()) >= 0);
    if (pid == 0) {
        int code;
        close(a[1]);
        close(b[0]);
        code = echo_loop(a[0], b[1]);
        close(a[0]);
        close(b[1]);
        _exit(code);
    }
    CHECK(close(a[0]) == 0);
    CHECK(close(b[1]) == 0);
    for (uint64_t i = 0; i < pings; i++) {
        char c = (char)i, d;
        uint64_t s = peer_now_ns();
        if (write_full(a[1], &c, 1) != 0)
            peer_die(PEER_FAIL, "bench-cc: ping write: %s", strerror(errno));
        ssize_t r = read_full(b[0], &d, 1);
        if (r != 1)
            peer_die(PEER_FAIL, "bench-cc: pong read: %s",
                     r < 0 ? strerror(errno) : "EOF");
        rt[i] = peer_now_ns() - s;
        if (d != c)
            peer_die(PEER_FAIL, "bench-cc: pong byte mismatch in round %llu",
                     (unsigned long long)i);
    }
    CHECK(close(a[1]) == 0);   /* child sees EOF and exits */
    CHECK(close(b[0]) == 0);
    if (peer_wait_child(pid, "echo") != 0)
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

    printf("throughput_bytes_per_sec %.0f\n", throughput);
    printf("roundtrip_ns_mean %llu\n", (unsigned long long)mean);
    printf("roundtrip_ns_median %llu\n", (unsigned long long)median);
    CHECK(fflush(stdout) == 0);
    return rc;
}

int main(int argc, char **argv)
{
    const char *mode;

    if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
        peer_die(PEER_BROKEN, "signal(SIGPIPE): %s", strerror(errno));
    if (argc < 2)
        usage();
    mode = argv[1];

    if (strcmp(mode, "sink") == 0 && argc == 3)
        return mode_sink(parse_fd(argv[2]));
    if (strcmp(mode, "source") == 0 && argc == 5)
        return mode_source(parse_fd(argv[2]), parse_u64(argv[3]),
                           parse_u64(argv[4]));
    if (strcmp(mode, "echo") == 0 && argc == 4)
        return mode_echo(parse_fd(argv[2]), parse_fd(argv[3]));
    if (strcmp(mode, "pingpong") == 0 && argc == 6)
        return mode_pingpong(parse_fd(argv[2]), parse_fd(argv[3]),
                             parse_u64(argv[4]), parse_u64(argv[5]));
    if (strcmp(mode, "bench-cc") == 0 && argc == 4)
        return mode_bench_cc(parse_u64(argv[2]), parse_u64(argv[3]));
    usage();
}
