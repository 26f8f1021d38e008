/*
 * ipcb_bounded.h -- layout of the bounded buffer ("BB") in POSIX shared
 * memory that the Java side of ipcbridge and the C peers (shm_peer) share.
 * This is the one place the layout is defined; the Java side must match it
 * byte for byte.
 *
 * Segment layout (x86-64 / any LP64 glibc where sizeof(sem_t) == 32; all
 * integers in native byte order, i.e. little-endian on x86-64):
 *
 *   offset  size  field
 *   0       4     uint32 magic = 0x42424349 ("ICBB": bytes 'I','C','B','B')
 *   4       4     uint32 slots          number of records the buffer holds
 *   8       4     uint32 record_size    bytes per slot (>= 8)
 *   12      4     uint32 reserved       0
 *   16      32    sem_t  empty          unnamed mode: pshared=1, initial slots
 *   48      32    sem_t  full           unnamed mode: initial 0
 *   80      32    sem_t  mutex          unnamed mode: initial 1
 *   112     8     uint64 head           records written so far (producer
 *                                       only, under mutex)
 *   120     8     uint64 tail           records read so far (consumer only,
 *                                       under mutex)
 *   128     ...   data                  slots * record_size bytes; record i
 *                                       lives at 128 + (i % slots) * record_size
 *
 *   +--------+--------+-------------+----------+
 *   | magic  | slots  | record_size | reserved |   0 .. 15
 *   +--------+--------+-------------+----------+
 *   | sem_t empty                 (32 bytes)   |  16 .. 47
 *   +------------------------------------------+
 *   | sem_t full                  (32 bytes)   |  48 .. 79
 *   +------------------------------------------+
 *   | sem_t mutex                 (32 bytes)   |  80 .. 111
 *   +---------------------+--------------------+
 *   | uint64 head         | uint64 tail        | 112 .. 127
 *   +---------------------+--------------------+
 *   | record 0 | record 1 | ... | record slots-1 | 128 ..
 *   +------------------------------------------+
 *
 * Semaphore modes:
 *   unnamed  the three sem_t fields above are the semaphores (sem_init with
 *            pshared = 1 by the creator).
 *   named    the sem_t fields are unused; the semaphores are the named POSIX
 *            semaphores <SHM><IPCB_BB_SUFFIX_EMPTY>, <SHM><IPCB_BB_SUFFIX_FULL>
 *            and <SHM><IPCB_BB_SUFFIX_MUTEX>, e.g. shm "/bb1" -> "/bb1-empty",
 *            "/bb1-full", "/bb1-mutex", created (empty = slots, full = 0,
 *            mutex = 1) by whoever creates the segment.
 *
 * Protocol (one producer, one consumer):
 *   producer: wait(empty); wait(mutex); write record at head; head++;
 *             post(mutex); post(full)
 *   consumer: wait(full); wait(mutex); read record at tail; tail++;
 *             post(mutex); post(empty)
 *
 * Record n (n = 0, 1, ... in production order): bytes 0-7 = n as a
 * little-endian uint64, bytes 8 .. record_size-1 = (n & 0xff).
 *
 * The creator creates the segment with size IPCB_BB_SIZE(slots, record_size)
 * and initialises magic, slots, record_size, reserved = 0, head = tail = 0 and
 * the semaphores; the other side checks magic, slots >= 1, record_size >= 8
 * and that the segment is at least IPCB_BB_SIZE(slots, record_size) bytes,
 * and refuses (exit 2) otherwise.
 *
 * glibc note (x86-64, glibc 2.36; observed bytes, not an API): a sem_t is
 * glibc's struct new_sem,
 *   offset 0  uint64 data     value in the low 32 bits, number of blocked
 *                             waiters in the high 32 bits
 *   offset 8  int    private  128 (0x80, FUTEX_PRIVATE_FLAG) for pshared = 1,
 *                             0 for pshared = 0.  glibc XORs this into the
 *                             futex op, so 128 means *shared* futexes here.
 *   offset 12 int    pad      not written by sem_init
 *   offset 16 ...    unused   (sem_t is a 32-byte union; not written)
 * e.g. sem_init(pshared = 1, 5) -> 05 00 00 00 00 00 00 00 80 00 00 00 ...
 * A named semaphore is a 32-byte file /dev/shm/sem.<name without '/'> with
 * the same struct (private = 128, the rest zero).  Never initialise a sem_t
 * by writing these bytes yourself: call sem_init (or the Java binding of it).
 */
#ifndef IPCBRIDGE_IPCB_BOUNDED_H
#define IPCBRIDGE_IPCB_BOUNDED_H

#include <semaphore.h>
#include <stddef.h>
#include <stdint.h>

#define IPCB_BB_MAGIC UINT32_C(0x42424349) /* bytes 'I','C','B','B' */

#define IPCB_BB_OFF_MAGIC 0
#define IPCB_BB_OFF_SLOTS 4
#define IPCB_BB_OFF_RECORD_SIZE 8
#define IPCB_BB_OFF_RESERVED 12
#define IPCB_BB_OFF_EMPTY 16
#define IPCB_BB_OFF_FULL 48
#define IPCB_BB_OFF_MUTEX 80
#define IPCB_BB_OFF_HEAD 112
#define IPCB_BB_OFF_TAIL 120
#define IPCB_BB_OFF_DATA 128

#define IPCB_BB_SEM_SIZE 32    /* bytes reserved per sem_t field          */
#define IPCB_BB_SEQ_SIZE 8     /* sequence number at the start of a record */
#define IPCB_BB_MIN_RECORD_SIZE IPCB_BB_SEQ_SIZE

/* Total segment size in bytes (uint64_t). */
#define IPCB_BB_SIZE(slots, record_size)                                  \
    ((uint64_t)IPCB_BB_OFF_DATA + (uint64_t)(slots) * (uint64_t)(record_size))

/* Offset of record i (uint64_t). */
#define IPCB_BB_RECORD_OFF(i, slots, record_size)                         \
    ((uint64_t)IPCB_BB_OFF_DATA +                                         \
     ((uint64_t)(i) % (uint64_t)(slots)) * (uint64_t)(record_size))

/* Named mode: semaphore name = shared memory name + suffix. */
#define IPCB_BB_SUFFIX_EMPTY "-empty"
#define IPCB_BB_SUFFIX_FULL "-full"
#define IPCB_BB_SUFFIX_MUTEX "-mutex"

typedef struct ipcb_bb_header {
    uint32_t magic;
    uint32_t slots;
    uint32_t record_size;
    uint32_t reserved;
    sem_t empty;
    sem_t full;
    sem_t mutex;
    uint64_t head;
    uint64_t tail;
    unsigned char data[];
} ipcb_bb_header;

_Static_assert(sizeof(sem_t) == IPCB_BB_SEM_SIZE,
               "the layout assumes a 32-byte sem_t (LP64 glibc)");
_Static_assert(offsetof(ipcb_bb_header, magic) == IPCB_BB_OFF_MAGIC, "magic");
_Static_assert(offsetof(ipcb_bb_header, slots) == IPCB_BB_OFF_SLOTS, "slots");
_Static_assert(offsetof(ipcb_bb_header, record_size) == IPCB_BB_OFF_RECORD_SIZE,
               "record_size");
_Static_assert(offsetof(ipcb_bb_header, reserved) == IPCB_BB_OFF_RESERVED,
               "reserved");
_Static_assert(offsetof(ipcb_bb_header, empty) == IPCB_BB_OFF_EMPTY, "empty");
_Static_assert(offsetof(ipcb_bb_header, full) == IPCB_BB_OFF_FULL, "full");
_Static_assert(offsetof(ipcb_bb_header, mutex) == IPCB_BB_OFF_MUTEX, "mutex");
_Static_assert(offsetof(ipcb_bb_header, head) == IPCB_BB_OFF_HEAD, "head");
_Static_assert(offsetof(ipcb_bb_header, tail) == IPCB_BB_OFF_TAIL, "tail");
_Static_assert(offsetof(ipcb_bb_header, data) == IPCB_BB_OFF_DATA, "data");
_Static_assert(sizeof(ipcb_bb_header) == IPCB_BB_OFF_DATA, "header size");

#endif /* IPCBRIDGE_IPCB_BOUNDED_H */
