/*
 * peer.h -- shared helpers for the ipcbridge C test peers.
 *
 * Header-only: everything is static / static inline, so each program is a
 * single translation unit and there is no separate link step.
 *
 * Contents:
 *   PEER_PASS / PEER_FAIL / PEER_BROKEN / PEER_UNSUPPORTED   exit codes
 *   CHECK(cond)                       abort with PEER_BROKEN on failure
 *   peer_die(code, fmt, ...)          print a message and exit(code)
 *   parse_u64(s)                      strict decimal parser
 *   peer_pattern, pattern_init, pattern_fill
 *                                     deterministic xorshift64 byte stream
 *   crc32_update(crc, buf, n)         zlib / java.util.zip.CRC32 compatible
 *   write_full / read_full            EINTR- and short-transfer-safe I/O
 *   peer_now_ns()                     CLOCK_MONOTONIC in nanoseconds
 *   peer_check_fd(fd)                 verify that fd is open
 *   peer_sink_fd / peer_source_fd     the common sink and source loops
 */
#ifndef IPCBRIDGE_PEER_H
#define IPCBRIDGE_PEER_H

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---------------------------------------------------------------- exit codes */

#define PEER_PASS 0        /* the scenario behaved as expected             */
#define PEER_FAIL 1        /* the scenario ran but the check failed        */
#define PEER_BROKEN 2      /* usage error or unexpected environment error  */
#define PEER_UNSUPPORTED 4 /* the mechanism is not available here          */

/* Size used for every bulk read()/write() in the peers. */
#define PEER_CHUNK (64u * 1024u)

/* ------------------------------------------------------------------- CHECK */

_Noreturn static inline void peer_check_failed(const char *file, int line,
                                               const char *expr)
{
    int e = errno;
    fprintf(stderr, "%s:%d: %s: %s\n", file, line, expr, strerror(e));
    exit(PEER_BROKEN);
}

/*
 * CHECK(cond): cond is evaluated exactly once; if its value is false (0) or
 * negative, prints "file:line: <cond text>: <strerror(errno)>" to stderr and
 * exits with PEER_BROKEN.
 *
 * Always write a comparison, because a raw 0 counts as failure:
 *     CHECK(close(fd) == 0);
 *     CHECK((fd = open(path, O_RDONLY)) >= 0);
 *     CHECK((n = read(fd, buf, len)) >= 0);
 * (A raw -1 from a syscall is caught too, but a raw 0 -- close() success, or
 * fd 0 from open() -- would also be reported as an error.)  Pointers must be
 * compared explicitly: CHECK(p != NULL).
 */
#define CHECK(cond)                                                        \
    do {                                                                   \
        if ((cond) <= 0)                                                   \
            peer_check_failed(__FILE__, __LINE__, #cond);                  \
    } while (0)

/* Print "fmt\n" to stderr and exit with code. */
__attribute__((format(printf, 2, 3)))
_Noreturn static inline void peer_die(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(code);
}

/* --------------------------------------------------------------- parse_u64 */

/*
 * Strict unsigned decimal: one or more digits 0-9, nothing else (no sign,
 * no whitespace, no 0x), must fit in uint64_t.  Bad input prints a message
 * and exits PEER_BROKEN.
 */
static inline uint64_t parse_u64(const char *s)
{
    uint64_t v = 0;
    const char *p = s;

    if (s == NULL || *s == '\0')
        peer_die(PEER_BROKEN, "invalid number: empty string");
    for (; *p != '\0'; p++) {
        unsigned d;
        if (*p < '0' || *p > '9')
            peer_die(PEER_BROKEN, "invalid number: '%s' (expected decimal digits)", s);
        d = (unsigned)(*p - '0');
        if (v > (UINT64_MAX - d) / 10)
            peer_die(PEER_BROKEN, "invalid number: '%s' (out of range)", s);
        v = v * 10 + d;
    }
    return v;
}

/* parse_u64 limited to a file-descriptor number (0 .. INT_MAX). */
static inline int parse_fd(const char *s)
{
    uint64_t v = parse_u64(s);
    if (v > 0x7fffffffu)
        peer_die(PEER_BROKEN, "invalid fd: '%s'", s);
    return (int)v;
}

/* ------------------------------------------------------- little-endian I/O */

static inline void peer_store_le64(uint8_t *p, uint64_t v)
{
    p[0] = (uint8_t)v;         p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
    p[4] = (uint8_t)(v >> 32); p[5] = (uint8_t)(v >> 40);
    p[6] = (uint8_t)(v >> 48); p[7] = (uint8_t)(v >> 56);
}

static inline void peer_store_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;         p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
}

static inline uint32_t peer_load_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

/* ----------------------------------------------------------------- pattern */

/*
 * Deterministic byte stream, shared bit-exactly with the Java side.
 *
 *   state = seed, or 0x9E3779B97F4A7C15 if seed == 0
 *   for each 8 output bytes:
 *       state ^= state << 13; state ^= state >> 7; state ^= state << 17;
 *       emit state as 8 bytes, little-endian
 *   a length that is not a multiple of 8 takes the first bytes of the last
 *   word.
 *
 * pattern_fill() keeps the unused tail of a partially consumed word, so
 * producing N bytes in any sequence of chunk sizes yields the same stream
 * as producing all N at once.
 */
#define PEER_PATTERN_ZERO_SEED UINT64_C(0x9E3779B97F4A7C15)

typedef struct {
    uint64_t state;  /* xorshift64 state (last word generated)            */
    uint8_t word[8]; /* last word, little-endian                          */
    unsigned pos;    /* bytes of word[] already emitted; 8 = none pending */
} peer_pattern;

static inline void pattern_init(peer_pattern *p, uint64_t seed)
{
    p->state = seed != 0 ? seed : PEER_PATTERN_ZERO_SEED;
    memset(p->word, 0, sizeof p->word);
    p->pos = 8;
}

static inline uint64_t pattern_next_word(peer_pattern *p)
{
    uint64_t s = p->state;
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    p->state = s;
    return s;
}

static inline void pattern_fill(peer_pattern *p, void *buf, size_t n)
{
    uint8_t *out = buf;

    while (n > 0 && p->pos < 8) {          /* finish a partial word */
        *out++ = p->word[p->pos++];
        n--;
    }
    while (n >= 8) {                       /* whole words */
        peer_store_le64(out, pattern_next_word(p));
        out += 8;
        n -= 8;
    }
    if (n > 0) {                           /* start a new partial word */
        peer_store_le64(p->word, pattern_next_word(p));
        p->pos = 0;
        while (n > 0) {
            *out++ = p->word[p->pos++];
            n--;
        }
    }
}

/* ------------------------------------------------------------------ CRC-32 */

/*
 * CRC-32 as in zlib's crc32() and java.util.zip.CRC32: reflected polynomial
 * 0xEDB88320, initial value 0xFFFFFFFF, final xor 0xFFFFFFFF.  Slicing-by-8.
 *
 * Usage (same convention as zlib):
 *     uint32_t crc = 0;
 *     crc = crc32_update(crc, chunk1, n1);
 *     crc = crc32_update(crc, chunk2, n2);   -> crc of chunk1||chunk2
 * crc32_update(0, buf, n) == zlib.crc32(buf) == CRC32.update(buf); getValue().
 */
static inline uint32_t crc32_update(uint32_t crc, const void *buf, size_t n)
{
    static uint32_t t[8][256];
    static int ready;
    const uint8_t *p = buf;
    uint32_t c;

    if (!ready) {
        for (uint32_t i = 0; i < 256; i++) {
            uint32_t v = i;
            for (int k = 0; k < 8; k++)
                v = (v & 1u) ? (v >> 1) ^ UINT32_C(0xEDB88320) : v >> 1;
            t[0][i] = v;
        }
        for (uint32_t i = 0; i < 256; i++)
            for (int k = 1; k < 8; k++)
                t[k][i] = (t[k - 1][i] >> 8) ^ t[0][t[k - 1][i] & 0xffu];
        ready = 1;
    }

    c = ~crc;
    while (n >= 8) {
        uint32_t lo = c ^ peer_load_le32(p);
        uint32_t hi = peer_load_le32(p + 4);
        c = t[7][lo & 0xffu] ^ t[6][(lo >> 8) & 0xffu] ^
            t[5][(lo >> 16) & 0xffu] ^ t[4][lo >> 24] ^
            t[3][hi & 0xffu] ^ t[2][(hi >> 8) & 0xffu] ^
            t[1][(hi >> 16) & 0xffu] ^ t[0][hi >> 24];
        p += 8;
        n -= 8;
    }
    while (n > 0) {
        c = t[0][(c ^ *p++) & 0xffu] ^ (c >> 8);
        n--;
    }
    return ~c;
}

/* --------------------------------------------------------- full transfers */

/*
 * Write all n bytes, retrying EINTR and partial writes.
 * Returns 0 on success, -1 with errno set on error (e.g. EPIPE).
 */
static inline int write_full(int fd, const void *buf, size_t n)
{
    const char *p = buf;
    while (n > 0) {
        ssize_t r = write(fd, p, n);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (r == 0) {          /* should not happen for n > 0 */
            errno = EIO;
            return -1;
        }
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

/*
 * Read until n bytes or EOF, retrying EINTR and partial reads.
 * Returns the number of bytes read (< n only at EOF), or -1 with errno set.
 */
static inline ssize_t read_full(int fd, void *buf, size_t n)
{
    char *p = buf;
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, p + got, n - got);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (r == 0)
            break;
        got += (size_t)r;
    }
    return (ssize_t)got;
}

/* ------------------------------------------------------------------- misc */

static inline uint64_t peer_now_ns(void)
{
    struct timespec ts;
    CHECK(clock_gettime(CLOCK_MONOTONIC, &ts) == 0);
    return (uint64_t)ts.tv_sec * UINT64_C(1000000000) + (uint64_t)ts.tv_nsec;
}

/* Exit PEER_BROKEN with a message if fd is not an open descriptor. */
static inline void peer_check_fd(int fd)
{
    if (fcntl(fd, F_GETFD) == -1)
        peer_die(PEER_BROKEN, "fd %d: %s", fd, strerror(errno));
}

/*
 * Read fd to EOF in PEER_CHUNK reads; return byte count and CRC-32.
 * Read errors exit PEER_BROKEN.  Does not close fd.
 */
static inline void peer_sink_fd(int fd, uint64_t *count_out, uint32_t *crc_out)
{
    char *buf = malloc(PEER_CHUNK);
    uint64_t count = 0;
    uint32_t crc = 0;

    CHECK(buf != NULL);
    for (;;) {
        ssize_t r = read(fd, buf, PEER_CHUNK);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            peer_die(PEER_BROKEN, "read fd %d after %llu bytes: %s", fd,
                     (unsigned long long)count, strerror(errno));
        }
        if (r == 0)
            break;
        crc = crc32_update(crc, buf, (size_t)r);
        count += (uint64_t)r;
    }
    free(buf);
    *count_out = count;
    *crc_out = crc;
}

/*
 * Write `bytes` bytes of pattern(seed) to fd in PEER_CHUNK writes.
 * Returns PEER_PASS, PEER_FAIL on EPIPE (reader went away; SIGPIPE must be
 * ignored by the caller), PEER_BROKEN on any other error.  Does not close fd.
 */
static inline int peer_source_fd(int fd, uint64_t bytes, uint64_t seed)
{
    char *buf = malloc(PEER_CHUNK);
    peer_pattern pat;
    uint64_t done = 0;

    CHECK(buf != NULL);
    pattern_init(&pat, seed);
    while (done < bytes) {
        size_t n = bytes - done < PEER_CHUNK ? (size_t)(bytes - done) : PEER_CHUNK;
        pattern_fill(&pat, buf, n);
        if (write_full(fd, buf, n) != 0) {
            int e = errno;
            fprintf(stderr, "write fd %d after %llu of %llu bytes: %s\n", fd,
                    (unsigned long long)done, (unsigned long long)bytes,
                    strerror(e));
            free(buf);
            return e == EPIPE ? PEER_FAIL : PEER_BROKEN;
        }
        done += n;
    }
    free(buf);
    return PEER_PASS;
}

/* Decodes HEX (an even number of hex digits, either case; "" is empty) into a malloc'ed buffer
 * (never NULL) and its length; exits PEER_BROKEN with "WHAT: ..." on bad input. */
static inline uint8_t *peer_parse_hex(const char *hex, size_t *len, const char *what)
{
    size_t digits = strlen(hex);
    uint8_t *buf;

    if (digits % 2 != 0)
        peer_die(PEER_BROKEN, "%s: HEX has an odd number of digits", what);
    *len = digits / 2;
    CHECK((buf = malloc(*len ? *len : 1)) != NULL);
    for (size_t i = 0; i < digits; i++) {
        char c = hex[i];
        int v = c >= '0' && c <= '9' ? c - '0'
              : c >= 'a' && c <= 'f' ? c - 'a' + 10
              : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (v < 0)
            peer_die(PEER_BROKEN, "%s: invalid hex '%s'", what, hex);
        buf[i / 2] = (uint8_t)(i % 2 == 0 ? v << 4 : buf[i / 2] | v);
    }
    return buf;
}

#endif /* IPCBRIDGE_PEER_H */
