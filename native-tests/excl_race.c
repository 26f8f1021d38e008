/*
 * excl_race.c -- C racer for the O_CREAT|O_EXCL atomicity tests of ipcbridge
 * (RELIABILITY.md MQ-03, SHM-03).
 *
 *   excl_race KIND PREFIX COUNT
 *       KIND is mq or shm; PREFIX a name with its leading slash.
 *       1. print "ready";
 *       2. COUNT times, for i = 0 .. COUNT-1: read one line from stdin (the
 *          start signal), try to create PREFIX-i exclusively -- mq_open with
 *          O_RDWR|O_CREAT|O_EXCL, mode 0600, {maxmsg 1, msgsize 8}, or
 *          shm_open with O_RDWR|O_CREAT|O_EXCL, mode 0600 -- and print "won"
 *          (created) or "lost" (EEXIST), then close what was opened.  The
 *          peer never unlinks: the test does, after every round.
 *       Pass (exit 0): COUNT rounds.  Any errno other than EEXIST: exit 2.
 *       stdin closing early: exit 2.
 *
 * The test starts several racers and creates the same name itself in the
 * same round; the pass criterion (exactly one winner per name) is checked by
 * the test from all the answers.
 */
#include "peer.h"

#include <mqueue.h>
#include <sys/mman.h>

static int try_create(const char *kind, const char *name)
{
    int fd;

    if (strcmp(kind, "mq") == 0) {
        struct mq_attr attr = {.mq_maxmsg = 1, .mq_msgsize = 8};
        mqd_t q = mq_open(name, O_RDWR | O_CREAT | O_EXCL, 0600, &attr);
        if (q == (mqd_t)-1)
            return errno == EEXIST ? 0 : -1;
        CHECK(mq_close(q) == 0);
        return 1;
    }
    fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
    if (fd < 0)
        return errno == EEXIST ? 0 : -1;
    CHECK(close(fd) == 0);
    return 1;
}

int main(int argc, char **argv)
{
    char line[64];
    char name[256];
    uint64_t count;

    if (argc != 4 || (strcmp(argv[1], "mq") != 0 && strcmp(argv[1], "shm") != 0))
        peer_die(PEER_BROKEN, "usage: excl_race mq|shm PREFIX COUNT");
    count = parse_u64(argv[3]);
    puts("ready");
    CHECK(fflush(stdout) == 0);
    for (uint64_t i = 0; i < count; i++) {
        int r;
        if (fgets(line, sizeof line, stdin) == NULL)
            peer_die(PEER_BROKEN, "round %llu: stdin closed", (unsigned long long)i);
        if (snprintf(name, sizeof name, "%s-%llu", argv[2], (unsigned long long)i) >= (int)sizeof name)
            peer_die(PEER_BROKEN, "name too long");
        r = try_create(argv[1], name);
        if (r < 0)
            peer_die(PEER_BROKEN, "create %s %s: %s", argv[1], name, strerror(errno));
        puts(r ? "won" : "lost");
        CHECK(fflush(stdout) == 0);
    }
    return PEER_PASS;
}
