/*
 * ring_threads.c -- built with ThreadSanitizer (the Makefile's ring_threads-tsan):
 * four producer threads, each with a multi-producer handle of its own, and a
 * consumer handle in one process, as include/ipcbridge_ring.h allows. Every
 * record arrives once and in its producer's order; ThreadSanitizer makes a
 * data race in include/ipcbridge_ring.c fail the run (exit 66).
 *
 *   ring_threads-tsan       prints "ok" (exit 0)
 */
#include "peer.h"
#include "ipcbridge_ring.h"

#include <pthread.h>
#include <sys/mman.h>

enum { PRODUCERS = 4, RECORDS = 20000 };
#define TIMEOUT_NS 30000000000LL

static char name[64];

static void *produce(void *arg)
{
    uint64_t record[2] = {(uint64_t)(uintptr_t)arg, 0};
    struct ipcb_ring r;

    if (ipcb_ring_open(&r, name) != 0)
        peer_die(PEER_BROKEN, "open: %s", ipcb_ring_error(&r));
    for (; record[1] < RECORDS; record[1]++)
        if (ipcb_ring_offer(&r, record, sizeof record, IPCB_RING_BLOCK, TIMEOUT_NS) != 0)
            peer_die(PEER_BROKEN, "offer: %s", ipcb_ring_error(&r));
    ipcb_ring_close(&r);
    return NULL;
}

int main(void)
{
    uint64_t next[PRODUCERS] = {0}, record[2];
    pthread_t threads[PRODUCERS];
    struct ipcb_ring c;
    uint32_t len;

    snprintf(name, sizeof name, "/ipcb-tsan-%d", (int)getpid());
    if (ipcb_ring_create(&c, name, 4096, 64, IPCB_RING_MULTI_PRODUCER, 0600) != 0)
        peer_die(PEER_BROKEN, "create: %s", ipcb_ring_error(&c));
    for (uintptr_t i = 0; i < PRODUCERS; i++)
        CHECK(pthread_create(&threads[i], NULL, produce, (void *)i) == 0);
    for (long k = 0; k < (long)PRODUCERS * RECORDS; k++) {
        if (ipcb_ring_poll(&c, record, sizeof record, &len, IPCB_RING_BLOCK, TIMEOUT_NS) != 0)
            peer_die(PEER_BROKEN, "poll after %ld records: %s", k, ipcb_ring_error(&c));
        if (len != sizeof record || record[0] >= PRODUCERS || record[1] != next[record[0]]++)
            peer_die(PEER_FAIL, "record %ld: producer %llu, number %llu", k,
                     (unsigned long long)record[0], (unsigned long long)record[1]);
    }
    for (int i = 0; i < PRODUCERS; i++)
        CHECK(pthread_join(threads[i], NULL) == 0);
    ipcb_ring_close(&c);
    CHECK(shm_unlink(name) == 0);
    puts("ok");
    return PEER_PASS;
}
