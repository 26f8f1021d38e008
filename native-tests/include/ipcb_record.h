/*
 * ipcb_record.h -- the sequence-numbered record of the "nothing lost" checks
 * (RELIABILITY.md section 4), mirrored by the Java tests' testing/Records:
 *
 *   offset 0   u64 producer   (little-endian; IPCB_RECORD_STOP = end marker)
 *          8   u64 seq        (0, 1, 2, ... per producer)
 *         16   u32 len        (payload bytes: seq % 32)
 *         20   payload        (byte i = (producer + seq + i) & 0xff)
 *     20+len   u32 crc32      (zlib CRC-32 of bytes 0 .. 20+len-1)
 *
 * The priority a record is sent with (message queues) is
 * ipcb_record_prio(producer, seq) = (seq ^ (seq >> 3) ^ producer) & 3.
 */
#ifndef IPCB_RECORD_H
#define IPCB_RECORD_H

#include "peer.h"

#define IPCB_RECORD_HEADER 20u
#define IPCB_RECORD_MAX (IPCB_RECORD_HEADER + 31u + 4u)
#define IPCB_RECORD_STOP UINT64_MAX

static inline unsigned ipcb_record_prio(uint64_t producer, uint64_t seq)
{
    return (unsigned)((seq ^ (seq >> 3) ^ producer) & 3u);
}

/* Builds record (producer, seq) into buf (IPCB_RECORD_MAX bytes); returns its length. */
static inline size_t ipcb_record_build(uint8_t *buf, uint64_t producer, uint64_t seq)
{
    uint32_t len = (uint32_t)(seq % 32);
    peer_store_le64(buf, producer);
    peer_store_le64(buf + 8, seq);
    peer_store_le32(buf + 16, len);
    for (uint32_t i = 0; i < len; i++)
        buf[IPCB_RECORD_HEADER + i] = (uint8_t)(producer + seq + i);
    peer_store_le32(buf + IPCB_RECORD_HEADER + len,
                    crc32_update(0, buf, IPCB_RECORD_HEADER + len));
    return IPCB_RECORD_HEADER + len + 4;
}

/* Checks a received record of n bytes: 0 if whole (producer and seq stored), -1 if torn. */
static inline int ipcb_record_check(const uint8_t *buf, size_t n, uint64_t *producer, uint64_t *seq)
{
    uint32_t len;
    if (n < IPCB_RECORD_HEADER + 4)
        return -1;
    len = peer_load_le32(buf + 16);
    if (n != IPCB_RECORD_HEADER + (size_t)len + 4 ||
        peer_load_le32(buf + IPCB_RECORD_HEADER + len) != crc32_update(0, buf, IPCB_RECORD_HEADER + len))
        return -1;
    *producer = (uint64_t)peer_load_le32(buf) | (uint64_t)peer_load_le32(buf + 4) << 32;
    *seq = (uint64_t)peer_load_le32(buf + 8) | (uint64_t)peer_load_le32(buf + 12) << 32;
    return 0;
}

#endif /* IPCB_RECORD_H */
