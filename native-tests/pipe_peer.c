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
    "       pipe_peer echo FDIN FDOUT\n";

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
    usage();
}
