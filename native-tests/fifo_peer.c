/*
 * fifo_peer.c -- C peer for named-pipe (FIFO) tests of ipcbridge.
 *
 * SIGPIPE is set to SIG_IGN at start, so writing to a FIFO without readers
 * fails with EPIPE instead of killing the process.
 *
 * Modes:
 *   fifo_peer sink PATH
 *       open(PATH, O_RDONLY) (blocks until a writer opens it), read to EOF
 *       in 64 KiB reads, close, print "<bytecount> <crc32 as 8 lowercase hex
 *       digits>" to stdout (same format as pipe_peer sink).
 *       Pass (exit 0): EOF reached.  open/read error: exit 2.
 *
 *   fifo_peer source PATH BYTES SEED
 *       open(PATH, O_WRONLY) (blocks until a reader opens it), write BYTES
 *       bytes of pattern(SEED) (see include/peer.h) in 64 KiB writes, close.
 *       Pass (exit 0): everything written.  EPIPE: exit 1.  Other error: 2.
 *
 * Usage errors exit 2 with a usage line on stderr.
 */
#include "peer.h"

#include <signal.h>

_Noreturn static void usage(void)
{
    fputs("usage: fifo_peer sink PATH\n"
          "       fifo_peer source PATH BYTES SEED\n", stderr);
    exit(PEER_BROKEN);
}

static int open_path(const char *path, int flags)
{
    int fd;
    while ((fd = open(path, flags | O_CLOEXEC)) < 0 && errno == EINTR)
        ;
    if (fd < 0)
        peer_die(PEER_BROKEN, "open %s: %s", path, strerror(errno));
    return fd;
}

int main(int argc, char **argv)
{
    if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
        peer_die(PEER_BROKEN, "signal(SIGPIPE): %s", strerror(errno));

    if (argc == 3 && strcmp(argv[1], "sink") == 0) {
        uint64_t count;
        uint32_t crc;
        int fd = open_path(argv[2], O_RDONLY);
        peer_sink_fd(fd, &count, &crc);
        CHECK(close(fd) == 0);
        printf("%llu %08x\n", (unsigned long long)count, (unsigned)crc);
        CHECK(fflush(stdout) == 0);
        return PEER_PASS;
    }
    if (argc == 5 && strcmp(argv[1], "source") == 0) {
        uint64_t bytes = parse_u64(argv[3]);
        uint64_t seed = parse_u64(argv[4]);
        int fd = open_path(argv[2], O_WRONLY);
        int rc = peer_source_fd(fd, bytes, seed);
        CHECK(close(fd) == 0);
        return rc;
    }
    usage();
}
