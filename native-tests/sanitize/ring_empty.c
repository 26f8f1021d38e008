/*
 * ring_empty.c -- built with UndefinedBehaviorSanitizer, aborting at the first
 * report (the Makefile's ring_empty-ubsan): an empty message offered with data
 * NULL and polled into buf NULL, cap 0, as include/ipcbridge_ring.h allows
 * (memcpy with a NULL pointer is undefined even for 0 bytes).
 *
 *   ring_empty-ubsan        prints "ok" (exit 0)
 */
#include "peer.h"
#include "ipcbridge_ring.h"

#include <sys/mman.h>

int main(void)
{
    struct ipcb_ring r;
    uint32_t len = 9;
    char name[64];

    snprintf(name, sizeof name, "/ipcb-ubsan-%d", (int)getpid());
    if (ipcb_ring_create(&r, name, 1024, 100, 0, 0600) != 0)
        peer_die(PEER_BROKEN, "create: %s", ipcb_ring_error(&r));
    if (ipcb_ring_offer(&r, NULL, 0, IPCB_RING_NOWAIT, 0) != 0)
        peer_die(PEER_FAIL, "offer: %s", ipcb_ring_error(&r));
    if (ipcb_ring_poll(&r, NULL, 0, &len, IPCB_RING_NOWAIT, 0) != 0 || len != 0)
        peer_die(PEER_FAIL, "poll: length %u, %s", len, ipcb_ring_error(&r));
    ipcb_ring_close(&r);
    CHECK(shm_unlink(name) == 0);
    puts("ok");
    return PEER_PASS;
}
