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
 * A ring lives in one POSIX shared memory object (shm_open + mmap), or in a
 * memfd handed over by descriptor (ipcb_ring_open_fd): a header of
 * IPCB_RING_HEADER_SIZE bytes, then the data area of `capacity` bytes (a
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
 *             claimed but not committed yet (wait). After reading a message
 *             it stores IPCB_RING_ABANDONED in its type (so that a consumer
 *             killed while zeroing leaves a record the next one skips, not a
 *             message torn by the zeroes), zeroes the whole record (payload,
 *             then header) and then releases the space with a release store
 *             of consumer_position, so the area is zero again when a producer
 *             claims it next time round.
 * A record is thus delivered only once complete: a producer killed while
 * writing never publishes (single) or commits (multi) it.
 *
 * Abandoned claims. A producer that closes its handle with a claim not yet
 * committed gives it up. In a single-producer ring nothing was published, so
 * nothing is left behind. In a multi-producer ring every later record waits
 * behind the claimed one, so the producer commits it as type
 * IPCB_RING_ABANDONED, with the length it claimed (so it occupies
 * IPCB_RING_RECORD_SIZE(length) bytes, like a message); the consumer checks
 * it as it checks a message, delivers nothing, and zeroes and releases it as
 * any record. Its payload may hold anything the producer wrote before giving
 * up.
 *
 * Claims (multi producer). Before each compare-and-set of producer_position
 * from p to end, a producer announces the claim in its slot: claim_at[slot]
 * = p, then claim_end[slot] = end, both with release (so after the commit
 * of its previous claim); the compare-and-set orders both before the claim.
 * A producer that finds no room withdraws its announcement (claim_end = 0,
 * release) before it waits: it may be a loser's, and were the winner to die,
 * a live loser's announcement would keep the consumer waiting at that claim.
 * A producer never takes over the slot of a dead pid whose claim_end is
 * still above consumer_position (0 = none), so the announcement of a claim
 * stays until the consumer has passed it.
 * A consumer waiting at a record not committed at head h (h below
 * producer_position, loaded with acquire) looks for the registered slots
 * whose claim starts the head: claim_end > h and either claim_at == h, or h
 * is the start of the data area and claim_at's tail room is h - claim_at
 * (the claim's padding ends at h). The winner of the claim is among them,
 * and a loser of the same compare-and-set may be too, until it announces
 * again or withdraws. If one of them is live (or its slot is free: a handle
 * closing while its offer commits), or none is found, the consumer waits and
 * looks again every IPCB_RING_LIVENESS_NS. If all are dead and agree, and
 * the record is still not committed when loaded after the announcements
 * (acquire: a live winner that committed and announced its next claim
 * meanwhile is not among them), the record is a dead producer's and will
 * never be committed: the consumer zeroes h .. claim_end (the padding area
 * too, when claim_at == h and the claim was padded) and releases it as an
 * abandoned record, so the other producers' records still arrive, and looks
 * at the next record the same way. If they disagree (two producers died in
 * the same race for one claim), it reports the death, at every look: which
 * end is the winner's cannot be told.
 *
 * Wake-ups (the blocking wait strategy), an event count on a futex word:
 *   waiter:  (optionally spin, then sched_yield once: a peer sharing the
 *            CPU answers meanwhile without any futex call, as the waiter is
 *            not registered) seq = load(X_futex); fetch_add(X_waiters, 1)
 *            (seq_cst); if the condition now holds: fetch_sub(X_waiters, 1),
 *            go on; else futex(&X_futex, FUTEX_WAIT, seq, NULL) (not
 *            private: the word is shared between processes; no timeout, see
 *            Liveness); fetch_sub(X_waiters, 1) and check again.
 *   waker:   after publishing (the store that makes the condition true), a
 *            seq_cst fence, then if load(X_waiters) != 0:
 *            fetch_add(X_futex, 1); futex(&X_futex, FUTEX_WAKE, INT_MAX).
 *   X = data: the consumer waits for records, producers wake it after
 *   publishing / committing. X = space: producers wait for space, the
 *   consumer wakes them after releasing space. Spinning waiters skip all
 *   of this; wakers always do the check (one fence and one load). Anyone
 *   may wake X this way at any time (a waiter only ever looks again):
 *   registering does, and so does a peer watcher (below).
 *
 * Liveness: a producer stores its pid in a free producer_pids slot (compare-
 * and-set from 0; a slot whose pid is dead may be taken over; a single-
 * producer ring uses slot 0) before its first record, then wakes data as a
 * waker does (a sleeping consumer then watches it too), and clears the slot
 * when it closes; the consumer does the same with consumer_pid, waking
 * space. A pid that is gone (ESRCH, or a process ended and not reaped yet:
 * a pidfd of it polls readable; without pidfds, /proc/PID/stat state Z or
 * X, but for a main thread that ended while others run: num_threads above
 * 1; or a pid that now names a thread not leading its process: pidfd_open
 * fails with ENOENT or EINVAL and /proc/PID/status has another Tgid) means
 * that side died; a consumer finding nothing to read (or an
 * uncommitted record), or a producer finding no space, reports it instead
 * of waiting forever. In a multi-producer ring a dead producer
 * blocks the consumer only when no live producer is left; the record it
 * claimed and never committed is skipped (see Claims).
 * A sleeper learns of a death without a timed wait: a watcher in its
 * process (a thread polling a pidfd per watched pid) wakes X as a waker does
 * when a watched process ends, and the sleeper then checks the pids; one
 * that runs again by then (the kernel reused it) is watched anew, in the
 * process that has it now. Without pidfds, sleepers wait with a 100 ms
 * timeout and check the pids each time. pids can be reused by the kernel;
 * the check is a liveness hint, documented as such.
 *
 * Versions: 1 slept with a 100 ms timeout and did not wake at registration;
 * a version 2 sleeper could miss a version 1 peer's death, so the version
 * differs though the layout is the same. 3 added claim_at and claim_end
 * (the header grew to 512 bytes); version 2 took a claim that stayed at the
 * head for a second while a producer was dead for the dead one's.
 */
#ifndef IPCBRIDGE_RING_H
#define IPCBRIDGE_RING_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define IPCB_RING_MAGIC 0x474e495242435049ULL /* "IPCBRING" in little-endian bytes */
#define IPCB_RING_VERSION 3u
#define IPCB_RING_MULTI_PRODUCER 1u           /* flags bit */
#define IPCB_RING_MAX_PRODUCERS 8
#define IPCB_RING_HEADER_SIZE 512
#define IPCB_RING_RECORD_HEADER 8
#define IPCB_RING_ALIGNMENT 8
#define IPCB_RING_MIN_CAPACITY 1024u
#define IPCB_RING_MAX_CAPACITY (1u << 30)
#define IPCB_RING_MESSAGE 1                   /* record types; 0 = not committed */
#define IPCB_RING_PADDING 2
#define IPCB_RING_ABANDONED 3                 /* a claim given up at close: skipped */

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
    /* cache lines 6 and 7: each producer slot's last claim (multi producer; see Claims) */
    _Atomic uint64_t claim_at[IPCB_RING_MAX_PRODUCERS];  /* 384 where it starts (padding included) */
    _Atomic uint64_t claim_end[IPCB_RING_MAX_PRODUCERS]; /* 448 where it ends; 0 = none */
};                                         /* 512 = IPCB_RING_HEADER_SIZE */

struct ipcb_ring_record {
    int32_t length;                        /* 0 payload bytes (padding: bytes after this header) */
    _Atomic int32_t type;                  /* 4 IPCB_RING_MESSAGE, _PADDING, _ABANDONED, 0 = not committed */
};

_Static_assert(sizeof(struct ipcb_ring_header) == IPCB_RING_HEADER_SIZE, "ring header size");
_Static_assert(sizeof(struct ipcb_ring_record) == IPCB_RING_RECORD_HEADER, "record header size");

/* ------------------------------------------------------------------ C API
 *
 * Implemented in ipcbridge_ring.c: compile it with the program, e.g.
 *     cc -std=c11 -O2 -pthread prog.c ipcbridge_ring.c -lrt
 * Linux only (futex). One struct ipcb_ring per process and role; it is not
 * thread-safe (use one handle per thread; several multi-producer handles in
 * one process are fine).
 *
 * Every call returns 0 on success, -1 on failure with errno set and a
 * message in ipcb_ring_error(r), or IPCB_RING_PEER_DIED (errno EOWNERDEAD):
 * while waiting, poll/read found a registered producer pid gone, or
 * offer/claim found the registered consumer pid gone (IPCB_RING_BLOCK: as
 * soon as the watcher sees the process end; SPIN and NOWAIT, and BLOCK
 * without pidfds: at most 100 ms after waiting began, then every 100 ms).
 *
 * Waiting: `wait` is IPCB_RING_NOWAIT (fail with EAGAIN at once),
 * IPCB_RING_SPIN (busy-wait, yielding the CPU now and then) or
 * IPCB_RING_BLOCK (the futex protocol above); any other value fails with
 * EINVAL at once, before anything is claimed, read or registered (also when
 * the call would not have waited); `timeout_ns` < 0 waits for ever,
 * otherwise the wait fails with ETIMEDOUT after that long.
 *
 * The peer watcher: the first IPCB_RING_BLOCK wait with a peer to watch
 * starts one detached thread in the process (all signals blocked in it),
 * which lives until the process ends, and an eventfd; each watched pid
 * holds a pidfd while its handle waits for it (at most 64 in a process;
 * beyond that, and where pidfd_open or the thread is not available, waits
 * fall back to the 100 ms timeout, and try again at each look, e.g. once
 * EMFILE has passed). ipcb_ring_close drops a handle's
 * watches. A child of fork starts its own watcher. Link with -pthread.
 *
 * Registration: the first offer/claim registers the caller's pid as a
 * producer (EBUSY: all slots live, or a single-producer ring with another
 * live producer), the first poll/read as the consumer (EBUSY: another live
 * consumer); ipcb_ring_close clears them. A child of fork using its
 * parent's handle registers anew, under its own pid; a claim or read that
 * was pending at the fork stays the parent's (the child's close, commit and
 * release leave it alone). A registration with
 * the caller's own pid is taken for its own (the Java side tells one left
 * by an earlier process with the same pid, which this C side does not).
 */
#define IPCB_RING_NOWAIT 0
#define IPCB_RING_SPIN 1
#define IPCB_RING_BLOCK 2
#define IPCB_RING_PEER_DIED (-2)               /* return value, see above */
#define IPCB_RING_LIVENESS_NS 100000000LL     /* peer pid check period */

struct ipcb_ring {
    struct ipcb_ring_header *header;       /* start of the mapping */
    uint8_t *data;                         /* the data area */
    size_t mapped;                         /* bytes mapped */
    uint64_t capacity;                     /* header fields, read once: */
    uint32_t max_message;                  /*   a peer changing them later */
    uint32_t flags;                        /*   cannot make us stray */
    int producer_slot;                     /* producer_pids index, -1 = not registered */
    int consumer_registered;
    unsigned forks;                        /* fork generation the registrations were made in */
    uint64_t next_write;                   /* single producer: producer_position */
    uint64_t next_read;                    /* consumer: consumer_position */
    uint64_t cached_consumer;              /* last consumer_position seen by a producer */
    uint64_t cached_producer;              /* last producer_position seen by the consumer */
    uint64_t claim_at, claim_end;          /* pending claim (claim_end 0 = none) */
    uint64_t read_end;                     /* end of the record read (0 = none) */
    int64_t liveness_due;                  /* CLOCK_MONOTONIC ns of the next pid check (no watcher) */
    int suspect;                           /* consumer: a dead producer's claim may be at the head */
    int32_t self;                          /* our pid, cached at registration */
    /* The peer watcher (see "Liveness" above), per side (0 producer, 1 consumer): */
    int32_t watched[2][IPCB_RING_MAX_PRODUCERS]; /* the pids followed */
    int watched_count[2];                  /*   how many; -1 = none followed yet */
    unsigned watch_epoch[2];               /*   watcher epoch they were followed in */
    int watch_ok[2];                       /*   0: pidfds unavailable, waits are timed */
    _Atomic uint32_t deaths[2];            /*   watched processes that ended (the watcher counts) */
    uint32_t deaths_seen[2];               /*   the count the waiter last checked the pids at */
    char error[192];                       /* message of the last failure */
};

/* Creates the ring NAME ("/name", EEXIST if it exists, mode e.g. 0600) with a
 * data area of `capacity` bytes (a power of two in [MIN, MAX]), max_message
 * <= IPCB_RING_MAX_MESSAGE_LIMIT(capacity), flags 0 or
 * IPCB_RING_MULTI_PRODUCER. The segment is made whole without a name in
 * /dev/shm (O_TMPFILE; allocated with posix_fallocate, the magic stored last,
 * with release) and only then linked to NAME, as the Java side does: an
 * opener never finds it half-made. On failure, or if the creator is killed
 * half-way, nothing is left behind. Closing does not unlink: use shm_unlink. */
int ipcb_ring_create(struct ipcb_ring *r, const char *name, uint64_t capacity,
                     uint32_t max_message, uint32_t flags, mode_t mode);
/* Opens and maps an existing ring; EPROTO if it is not a valid ring of this
 * version (also while a creator that does not link it into place, as
 * ipcb_ring_create and the Java side do, has not yet stored the magic),
 * EINVAL for a bad name. */
int ipcb_ring_open(struct ipcb_ring *r, const char *name);
/* Maps the existing ring open on `fd` (read-write), e.g. a memfd ring a
 * parent placed on fd 3 or a peer sent with SCM_RIGHTS, with the checks of
 * ipcb_ring_open (messages call it "fd N"). fd stays the caller's: it is
 * neither closed nor duplicated, and the handle does not need it once this
 * returns. Only a segment sealed against shrinking (F_SEAL_SHRINK, as the
 * Java side's Ring.memfd seals it) is safe from a peer truncating it under
 * the mapping, which would SIGBUS this process. */
int ipcb_ring_open_fd(struct ipcb_ring *r, int fd);
/* Clears this process's registrations and unmaps. A pending claim is never
 * published; in a multi-producer ring it is committed as IPCB_RING_ABANDONED
 * (see "Abandoned claims"), so that the records of other producers still
 * reach the consumer. */
void ipcb_ring_close(struct ipcb_ring *r);
/* Message of the last failure of r (or of create/open). */
const char *ipcb_ring_error(const struct ipcb_ring *r);

/* Sends len <= max_message bytes (EMSGSIZE otherwise) as one record; data
 * may be NULL when len is 0 (as buf may be NULL when cap is 0 below). */
int ipcb_ring_offer(struct ipcb_ring *r, const void *data, uint32_t len,
                    int wait, int64_t timeout_ns);
/* Receives the next record into buf; *len = its length. If it is longer
 * than cap: -1, EMSGSIZE, *len = its length and the record stays. */
int ipcb_ring_poll(struct ipcb_ring *r, void *buf, uint32_t cap, uint32_t *len,
                   int wait, int64_t timeout_ns);

/* Zero copy. claim reserves a record of len bytes and sets *payload to
 * where they go; commit publishes it. read sets *payload / *len to the
 * next record in place; release gives its space back. One claim and one
 * read may be pending per handle (EINVAL otherwise). */
int ipcb_ring_claim(struct ipcb_ring *r, uint32_t len, void **payload,
                    int wait, int64_t timeout_ns);
int ipcb_ring_commit(struct ipcb_ring *r);
int ipcb_ring_read(struct ipcb_ring *r, const void **payload, uint32_t *len,
                   int wait, int64_t timeout_ns);
int ipcb_ring_release(struct ipcb_ring *r);

#endif
