/*
 * pipe_atomic.c -- one of several concurrent writers for PIPE_BUF atomicity
 * tests.
 *
 * Usage: pipe_atomic FD WRITER_ID RECORDS RECSIZE
 *
 * Steps:
 *   Write RECORDS records of exactly RECSIZE bytes (RECSIZE >= 12) to FD,
 *   each record with a single write() call (retried only if it fails with
 *   EINTR, in which case nothing was written).  Record layout:
 *       bytes 0-3    WRITER_ID, little-endian uint32
 *       bytes 4-11   record sequence number 0..RECORDS-1, little-endian uint64
 *       bytes 12..   the byte (WRITER_ID & 0xff)
 *   Then close FD.  Nothing is printed on success.
 *
 * SIGPIPE is ignored.  Exit 0 when every write() transferred the whole
 * record; exit 1 on a short write or EPIPE; exit 2 on usage or other errors.
 * The reader (the Java test) checks that records from concurrent writers are
 * never interleaved when RECSIZE <= PIPE_BUF and that each writer's sequence
 * numbers arrive in order.
 */
#include "peer.h"

#include <limits.h>
#include <signal.h>

_Noreturn static void usage(void)
{
    fputs("usage: pipe_atomic FD WRITER_ID RECORDS RECSIZE   (RECSIZE >= 12)\n",
          stderr);
    exit(PEER_BROKEN);
}

int main(int argc, char **argv)
{
    int fd, rc = PEER_PASS;
    uint64_t id, records, recsize;
    uint8_t *rec;

    if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
        peer_die(PEER_BROKEN, "signal(SIGPIPE): %s", strerror(errno));
    if (argc != 5)
        usage();
    fd = parse_fd(argv[1]);
    id = parse_u64(argv[2]);
    records = parse_u64(argv[3]);
    recsize = parse_u64(argv[4]);
    if (id > UINT32_MAX || recsize < 12 || recsize > (uint64_t)SSIZE_MAX)
        usage();
    peer_check_fd(fd);

    CHECK((rec = malloc((size_t)recsize)) != NULL);
    peer_store_le32(rec, (uint32_t)id);
    memset(rec + 12, (int)(id & 0xffu), (size_t)recsize - 12);

    for (uint64_t seq = 0; seq < records; seq++) {
        ssize_t r;
        peer_store_le64(rec + 4, seq);
        while ((r = write(fd, rec, (size_t)recsize)) < 0 && errno == EINTR)
            ;
        if (r < 0) {
            int e = errno;
            fprintf(stderr, "pipe_atomic %llu: write record %llu: %s\n",
                    (unsigned long long)id, (unsigned long long)seq, strerror(e));
            rc = e == EPIPE ? PEER_FAIL : PEER_BROKEN;
            break;
        }
        if ((uint64_t)r != recsize) {
            fprintf(stderr, "pipe_atomic %llu: short write of record %llu: %lld of %llu bytes\n",
                    (unsigned long long)id, (unsigned long long)seq,
                    (long long)r, (unsigned long long)recsize);
            rc = PEER_FAIL;
            break;
        }
    }
    free(rec);
    CHECK(close(fd) == 0);
    return rc;
}
