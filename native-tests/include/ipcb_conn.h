/*
 * ipcb_conn.h -- message framing of CPython's multiprocessing.connection,
 * for C programs (the ipcbridge C peers, or any other program).
 *
 * Self-contained and header-only: everything is static inline; it needs only
 * the C library (no peer.h).  Works on any file descriptor that is a byte
 * stream: a pipe end, a FIFO, a stream socket (AF_UNIX or TCP).
 *
 * Wire format (the same bytes as Connection.send_bytes() / recv_bytes() of
 * CPython >= 3.8, see Lib/multiprocessing/connection.py, Connection._send_bytes
 * and Connection._recv_bytes):
 *
 *   payload length n <= 0x7FFFFFFF:
 *       +--------------------------------+-----------------+
 *       | n: int32, big-endian, signed   | n payload bytes |
 *       +--------------------------------+-----------------+
 *   payload length n >  0x7FFFFFFF:
 *       +------------------+------------------------------+-----------------+
 *       | -1: int32, BE    | n: uint64, big-endian        | n payload bytes |
 *       | (ff ff ff ff)    |                              |                 |
 *       +------------------+------------------------------+-----------------+
 *
 *   e.g. b"hi"  -> 00 00 00 02 68 69
 *        b""    -> 00 00 00 00
 *   There is no terminator and no message type: a message is a byte string.
 *   (What Connection.send()/recv() add on top -- pickling -- is not here;
 *   send_bytes()/recv_bytes() on the Python side are the counterparts.)
 *
 * Sending, like CPython: a payload of at most IPCB_CONN_SMALL_MAX (16384)
 * bytes is copied behind its header and the frame goes out in one write()
 * (CPython concatenates for the same reason: no Nagle delay on TCP, and a
 * 0-byte message is never a separate 0-byte write).  A larger payload is
 * written as header, then payload.  (CPython writes the -1 and the 8-byte
 * length of the long form as two writes; here they are one 12-byte write --
 * the byte stream is the same.)  Partial writes and EINTR are retried.
 *
 * Receiving (ipcb_conn_recv):
 *   - 0 bytes then end of file        -> -2, the clean end of the stream
 *     (CPython: EOFError)
 *   - end of file inside the 4- or 12-byte header or inside the payload
 *                                     -> -1, errno = EPROTO
 *     (CPython: OSError "got end of file during message"; note that CPython
 *     raises EOFError, not OSError, when EOF falls exactly between the 4-byte
 *     and the 8-byte part of a long header, or exactly between a header and a
 *     non-empty payload -- here those truncated frames are EPROTO too)
 *   - a 4-byte length < -1            -> -1, errno = EPROTO
 *     (CPython would fail trying to read a negative count)
 *   - a length > max                  -> -1, errno = EMSGSIZE; the payload
 *     is neither allocated nor read
 *     (CPython recv_bytes(maxlength): closes the connection and raises
 *     OSError "bad message length")
 *   The long form is accepted even for a length <= 0x7FFFFFFF (CPython
 *   accepts it as well).
 *   After any -1 return the stream is no longer at a message boundary (e.g.
 *   the rejected payload is still unread): close the descriptor.
 *
 * Not in this header: the authentication handshake (the HMAC challenge /
 * response of multiprocessing.connection.deliver_challenge() and
 * answer_challenge(), used by Listener/Client with an authkey).  These
 * functions speak the framing only, i.e. what two Connection objects do
 * after a connection is established (or on a Pipe() / an inherited fd, where
 * there is no handshake).  A peer that talks to a Listener with an authkey
 * must do the handshake itself, in these frames.
 *
 * Signals: writing to a pipe or socket without a reader raises SIGPIPE;
 * ignore it (signal(SIGPIPE, SIG_IGN)) to get -1 / EPIPE from
 * ipcb_conn_send() instead.
 *
 * Thread safety: as for read()/write() -- one sender and one receiver per
 * descriptor at a time; frames of concurrent senders would interleave.
 */
#ifndef IPCBRIDGE_IPCB_CONN_H
#define IPCBRIDGE_IPCB_CONN_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

/* Largest payload sent in the same write() as its header (CPython: 16384). */
#define IPCB_CONN_SMALL_MAX 16384u

/* Largest length of the short (4-byte) header form. */
#define IPCB_CONN_SHORT_MAX UINT64_C(0x7FFFFFFF)

/* Header sizes. */
#define IPCB_CONN_HDR_SHORT 4u
#define IPCB_CONN_HDR_LONG 12u

/* Largest count passed to one read()/write() (Linux caps at ~2 GiB anyway). */
#define IPCB_CONN_IO_MAX ((size_t)1 << 30)

/* ------------------------------------------------------------- internals */

static inline void ipcb_conn__store_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24); p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);  p[3] = (unsigned char)v;
}

static inline void ipcb_conn__store_be64(unsigned char *p, uint64_t v)
{
    ipcb_conn__store_be32(p, (uint32_t)(v >> 32));
    ipcb_conn__store_be32(p + 4, (uint32_t)v);
}

static inline uint32_t ipcb_conn__load_be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           (uint32_t)p[3];
}

static inline uint64_t ipcb_conn__load_be64(const unsigned char *p)
{
    return (uint64_t)ipcb_conn__load_be32(p) << 32 | ipcb_conn__load_be32(p + 4);
}

/* Write all n bytes; retries EINTR and partial writes.  0, or -1 + errno. */
static inline int ipcb_conn__write_all(int fd, const void *buf, size_t n)
{
    const unsigned char *p = (const unsigned char *)buf;

    while (n > 0) {
        size_t chunk = n < IPCB_CONN_IO_MAX ? n : IPCB_CONN_IO_MAX;
        ssize_t r = write(fd, p, chunk);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (r == 0) {                  /* should not happen for chunk > 0 */
            errno = EIO;
            return -1;
        }
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

/*
 * Read exactly n bytes; retries EINTR and partial reads.
 * Returns 0 when all n bytes were read, 1 at end of file (*got = bytes read
 * before it, < n), -1 with errno set on a read error.
 */
static inline int ipcb_conn__read_all(int fd, void *buf, size_t n, size_t *got)
{
    unsigned char *p = (unsigned char *)buf;
    size_t done = 0;

    while (done < n) {
        size_t want = n - done;
        ssize_t r;
        if (want > IPCB_CONN_IO_MAX)
            want = IPCB_CONN_IO_MAX;
        r = read(fd, p + done, want);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            *got = done;
            return -1;
        }
        if (r == 0) {
            *got = done;
            return 1;
        }
        done += (size_t)r;
    }
    *got = done;
    return 0;
}

/* ------------------------------------------------------------------ API */

/*
 * Send one message: the header for len, then len bytes of buf (buf may be
 * NULL when len == 0).  Payloads up to IPCB_CONN_SMALL_MAX bytes go out in a
 * single write() of header + payload (copied through a 16 KiB stack buffer);
 * larger ones as a header write followed by payload writes.
 * Returns 0, or -1 with errno set: the write() error (EPIPE, ...), or
 * EINVAL if buf is NULL with len > 0 or len does not fit in size_t.
 * After an error part of the frame may have been written.
 */
static inline int ipcb_conn_send(int fd, const void *buf, uint64_t len)
{
    unsigned char hdr[IPCB_CONN_HDR_LONG];
    size_t hlen;

    if (buf == NULL && len > 0) {
        errno = EINVAL;
        return -1;
    }
#if SIZE_MAX < UINT64_MAX
    if (len > (uint64_t)SIZE_MAX) {
        errno = EINVAL;
        return -1;
    }
#endif

    if (len <= IPCB_CONN_SMALL_MAX) {
        unsigned char frame[IPCB_CONN_HDR_SHORT + IPCB_CONN_SMALL_MAX];
        ipcb_conn__store_be32(frame, (uint32_t)len);
        if (len > 0)
            memcpy(frame + IPCB_CONN_HDR_SHORT, buf, (size_t)len);
        return ipcb_conn__write_all(fd, frame, IPCB_CONN_HDR_SHORT + (size_t)len);
    }

    if (len <= IPCB_CONN_SHORT_MAX) {
        ipcb_conn__store_be32(hdr, (uint32_t)len);
        hlen = IPCB_CONN_HDR_SHORT;
    } else {
        ipcb_conn__store_be32(hdr, UINT32_C(0xFFFFFFFF));      /* -1 */
        ipcb_conn__store_be64(hdr + IPCB_CONN_HDR_SHORT, len);
        hlen = IPCB_CONN_HDR_LONG;
    }
    if (ipcb_conn__write_all(fd, hdr, hlen) != 0)
        return -1;
    return ipcb_conn__write_all(fd, buf, (size_t)len);
}

/*
 * Receive one message of at most max bytes.
 *
 * On success returns the payload length (>= 0) and stores in *buf a buffer
 * from malloc() holding the payload; the caller frees it.  The buffer is
 * never NULL, also for a 0-byte message (then it has 1 unused byte).
 * Otherwise *buf is set to NULL and the result is
 *   -2  clean end: end of file before the first byte of a header (errno is
 *       left unchanged)
 *   -1  with errno set:
 *       EPROTO    end of file inside a header or a payload (truncated
 *                 frame), or a 4-byte length below -1
 *       EMSGSIZE  the length is above max (or does not fit in int64_t /
 *                 size_t); the payload is not read and nothing is allocated
 *       ENOMEM    malloc failed (the payload is not read)
 *       other     the read() error (EBADF, ECONNRESET, ...)
 *   After -1 the stream is out of step: close the descriptor.
 */
static inline int64_t ipcb_conn_recv(int fd, void **buf, uint64_t max)
{
    unsigned char hdr[IPCB_CONN_HDR_LONG];
    unsigned char *data;
    uint64_t len;
    int32_t slen;
    size_t got;
    int r;
    int saved_errno = errno;           /* a retried EINTR must not show at -2 */

    *buf = NULL;

    r = ipcb_conn__read_all(fd, hdr, IPCB_CONN_HDR_SHORT, &got);
    if (r < 0)
        return -1;
    if (r > 0) {
        if (got == 0) {
            errno = saved_errno;
            return -2;                 /* clean end */
        }
        errno = EPROTO;                /* EOF inside the 4-byte header */
        return -1;
    }

    {
        uint32_t u = ipcb_conn__load_be32(hdr);
        /* two's complement without relying on implementation-defined casts */
        slen = u <= UINT32_C(0x7FFFFFFF) ? (int32_t)u
                                         : -(int32_t)(UINT32_C(0xFFFFFFFF) - u) - 1;
    }
    if (slen >= 0) {
        len = (uint64_t)slen;
    } else if (slen == -1) {
        r = ipcb_conn__read_all(fd, hdr + IPCB_CONN_HDR_SHORT,
                                IPCB_CONN_HDR_LONG - IPCB_CONN_HDR_SHORT, &got);
        if (r < 0)
            return -1;
        if (r > 0) {
            errno = EPROTO;            /* EOF inside the 8-byte length */
            return -1;
        }
        len = ipcb_conn__load_be64(hdr + IPCB_CONN_HDR_SHORT);
    } else {
        errno = EPROTO;                /* negative length other than -1 */
        return -1;
    }

    if (len > max || len > (uint64_t)INT64_MAX) {
        errno = EMSGSIZE;
        return -1;
    }
#if SIZE_MAX < UINT64_MAX
    if (len >= (uint64_t)SIZE_MAX) {
        errno = EMSGSIZE;
        return -1;
    }
#endif

    data = (unsigned char *)malloc(len > 0 ? (size_t)len : 1);
    if (data == NULL) {
        errno = ENOMEM;
        return -1;
    }
    r = ipcb_conn__read_all(fd, data, (size_t)len, &got);
    if (r != 0) {
        int e = r < 0 ? errno : EPROTO;    /* r > 0: EOF inside the payload */
        free(data);
        errno = e;
        return -1;
    }
    *buf = data;
    return (int64_t)len;
}

#endif /* IPCBRIDGE_IPCB_CONN_H */
