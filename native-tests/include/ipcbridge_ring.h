/*
 * ipcbridge_ring.h -- the shared-memory message ring of ipcbridge: its layout
 * and a small C API (implemented in ipcbridge_ring.c beside this header) that
 * lets any C program produce into or consume from a ring that Java code
 * created, or the other way round.
 *
 * This header is the one definition of the layout. The Java side mirrors it
 * in io.ipcbridge.ring.RingLayout with the same names in the same order, and
 * a test compares every offset with the offsetof values `ring_peer offsets`
 * prints.
 *
 * A ring lives in one POSIX shared memory object (shm_open + mmap): a header
 * of IPCB_RING_HEADER_SIZE bytes, then the data area of `capacity` bytes (a
 * power of two). All integers are in the platform's byte order.
 *
 * Records. Each message is one record at an 8-byte aligned position:
 *
 *   struct ipcb_ring_record { int32 length; _Atomic int32 type; } + payload
 *
 * occupying IPCB_RING_RECORD_SIZE(length) = align8(8 + length) bytes. A
 * record never wraps: when the next record does not fit before the end of
 * the data area, the producer first writes a padding record (type
 * IPCB_RING_PADDING, length = the remaining bytes - 8) that fills the rest
 * and the message record starts at offset 0. Positions are byte counts that
 * only grow (uint64, never wrapping in practice); the offset of position p in
 * the data area is p & (capacity - 1).
 *
 * Single producer (flags without IPCB_RING_MULTI_PRODUCER):
 *   producer: waits until producer_position + needed - consumer_position
 *             <= capacity (acquire load of consumer_position); writes the
 *             padding record if any, the payload, length and type; then
 *             publishes with a release store of producer_position.
 *   consumer: acquire load of producer_position; every record below it is
 *             complete; reads it, then releases the space with a release
 *             store of consumer_position.
 * Multi producer (IPCB_RING_MULTI_PRODUCER; the data area must start zeroed,
 * as ftruncate leaves it):
 *   producer: claims its bytes with a compare-and-set of producer_position
 *             (from p to p + padding + record size, if that fits as above);
 *             writes the padding record and commits it (type stored with
 *             release), then writes the payload and length and commits the
 *             message record with a release store of its type.
 *   consumer: acquire load of the record's type at consumer_position; 0 means
 *             claimed but not committed yet (wait). After reading it zeroes
 *             the whole record (header and payload) and then releases the
 *             space with a release store of consumer_position, so the area is
 *             zero again when a producer claims it next time round.
 * A record is thus delivered only once complete: a producer killed while
 * writing never publishes (single) or commits (multi) it.
 *
 * Wake-ups (the blocking wait strategy), an event count on a futex word:
 *   waiter:  seq = load(X_futex); fetch_add(X_waiters, 1) (seq_cst);
 *            if the condition now holds: fetch_sub(X_waiters, 1), go on;
 *            else futex(&X_futex, FUTEX_WAIT, seq, timeout) (not private:
 *            the word is shared between processes); fetch_sub(X_waiters, 1)
 *            and check again.
 *   waker:   after publishing (the store that makes the condition true), a
 *            seq_cst fence, then if load(X_waiters) != 0:
 *            fetch_add(X_futex, 1); futex(&X_futex, FUTEX_WAKE, INT_MAX).
 *   X = data: the consumer waits for records, producers wake it after
 *   publishing / committing. X = space: producers wait for space, the
 *   consumer wakes them after releasing space. Spinning waiters skip all
 *   of this; wakers always do the check (one fence and one load).
 *
 * Liveness: a producer stores its pid in a free producer_pids slot (compare-
 * and-set from 0; a slot whose pid is dead may be taken over) before its
 * first record and clears it when it closes; the consumer does the same with
 * consumer_pid. A consumer that finds nothing to read (or an uncommitted
 * record) checks the registered producer pids with kill(pid, 0) at least
 * every 100 ms of waiting: a pid that is gone (ESRCH) means a producer died,
 * and the consumer reports it instead of waiting forever. pids can be reused
 * by the kernel; the check is a liveness hint, documented as such.
 */
#ifndef IPCBRIDGE_RING_H
#define IPCBRIDGE_RING_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define IPCB_RING_MAGIC 0x474e495242435049ULL /* "IPCBRING" in little-endian bytes */
#define IPCB_RING_VERSION 1u
#define IPCB_RING_MULTI_PRODUCER 1u           /* flags bit */
#define IPCB_RING_MAX_PRODUCERS 8
#define IPCB_RING_HEADER_SIZE 384
#define IPCB_RING_RECORD_HEADER 8
#define IPCB_RING_ALIGNMENT 8
#define IPCB_RING_MIN_CAPACITY 1024u
#define IPCB_RING_MAX_CAPACITY (1u << 30)
#define IPCB_RING_MESSAGE 1                   /* record types; 0 = not committed */
#define IPCB_RING_PADDING 2

/* Bytes a record with `length` payload bytes occupies. */
#define IPCB_RING_RECORD_SIZE(length) \
    (((uint64_t)(length) + IPCB_RING_RECORD_HEADER + IPCB_RING_ALIGNMENT - 1) & ~(uint64_t)(IPCB_RING_ALIGNMENT - 1))
/* The largest max_message a ring of `capacity` bytes accepts: a record and
 * the padding before it always fit in the data area together. */
#define IPCB_RING_MAX_MESSAGE_LIMIT(capacity) ((uint32_t)((capacity) / 2 - IPCB_RING_RECORD_HEADER))
/* Size of the shared memory object of a ring of `capacity` bytes. */
#define IPCB_RING_SEGMENT_SIZE(capacity) ((uint64_t)IPCB_RING_HEADER_SIZE + (capacity))

struct ipcb_ring_header {
    /* cache line 0: written by the creator, read-only afterwards */
    uint64_t magic;                        /*   0 */
    uint32_t version;                      /*   8 */
    uint32_t flags;                        /*  12 */
    uint64_t capacity;                     /*  16 data area bytes, a power of two */
    uint32_t max_message;                  /*  24 largest payload accepted */
    uint32_t header_size;                  /*  28 = IPCB_RING_HEADER_SIZE: where the data area starts */
    uint8_t reserved0[32];                 /*  32 */
    /* cache line 1: written by producers */
    _Atomic uint64_t producer_position;    /*  64 bytes published (single) or claimed (multi) */
    uint8_t reserved1[56];                 /*  72 */
    /* cache line 2: written by the consumer */
    _Atomic uint64_t consumer_position;    /* 128 bytes released */
    uint8_t reserved2[56];                 /* 136 */
    /* cache line 3: the consumer's wake-up */
    _Atomic uint32_t data_futex;           /* 192 */
    _Atomic uint32_t data_waiters;         /* 196 */
    uint8_t reserved3[56];                 /* 200 */
    /* cache line 4: the producers' wake-up */
    _Atomic uint32_t space_futex;          /* 256 */
    _Atomic uint32_t space_waiters;        /* 260 */
    uint8_t reserved4[56];                 /* 264 */
    /* cache line 5: who is attached */
    _Atomic int32_t consumer_pid;          /* 320 0 = none */
    _Atomic int32_t producer_pids[IPCB_RING_MAX_PRODUCERS]; /* 324 0 = free */
    uint8_t reserved5[28];                 /* 356 */
};                                         /* 384 = IPCB_RING_HEADER_SIZE */

struct ipcb_ring_record {
    int32_t length;                        /* 0 payload bytes (padding: bytes after this header) */
    _Atomic int32_t type;                  /* 4 IPCB_RING_MESSAGE, IPCB_RING_PADDING, 0 = not committed */
};

_Static_assert(sizeof(struct ipcb_ring_header) == IPCB_RING_HEADER_SIZE, "ring header size");
_Static_assert(sizeof(struct ipcb_ring_record) == IPCB_RING_RECORD_HEADER, "record header size");

#endif
