/*
 * sock_peer.c -- C peer for socket tests of ipcbridge.
 *
 * ADDRESS (the same syntax as the Java CLI):
 *   unix:PATH       filesystem AF_UNIX socket, PATH 1..107 bytes.
 *   abstract:NAME   Linux abstract AF_UNIX socket: sun_path[0] = '\0', then
 *                   NAME (1..107 bytes); the address length is exactly
 *                   offsetof(struct sockaddr_un, sun_path) + 1 + strlen(NAME)
 *                   (no trailing NULs).
 *   tcp:HOST:PORT   TCP / UDP over IPv4 or IPv6, resolved with getaddrinfo;
 *   udp:HOST:PORT   an IPv6 HOST must be bracketed (tcp:[::1]:PORT).  PORT
 *                   is 0..65535.  A server binds the first resolved address
 *                   that binds, a client uses the first that connects.
 * TYPE is stream, dgram or seqpacket; tcp: needs stream, udp: needs dgram.
 *
 * Servers (echo-server, sink) print "ready" (or "ready PORT", the port
 * actually bound, for tcp:/udp: with PORT 0) and flush stdout once they are
 * bound (and listening), so the caller can wait for that line.  A unix: server
 * never removes anything: an existing PATH exits 2; the socket file it
 * creates is unlinked when it finishes, on exit() and on SIGINT / SIGTERM /
 * SIGHUP (only if PATH still is that socket).  Accepted and connected TCP
 * sockets get TCP_NODELAY.  Every mode closes its descriptors, including an
 * inherited FD.  SIGPIPE is ignored, so writing to a closed peer fails with
 * EPIPE.
 *
 * A dgram or seqpacket message is received into a 1 MiB buffer; a larger
 * message exits 2.  A zero-length seqpacket message reads as EOF.
 *
 * Modes:
 *   sock_peer echo-server ADDRESS TYPE COUNT
 *       Bind ADDRESS, listen (not for dgram), print "ready".  Then
 *       stream / seqpacket: COUNT times: accept one connection, echo
 *           everything it sends back until EOF (seqpacket: each message as
 *           one message), close it.  Connections are served one at a time.
 *       dgram: COUNT times: receive one datagram and send it back to its
 *           sender with sendto (a unix dgram sender that has no address of
 *           its own cannot be answered: exit 1).
 *       Pass (exit 0): COUNT connections / datagrams served.
 *
 *   sock_peer echo-client ADDRESS TYPE MESSAGES
 *       Connect (unix/abstract dgram: first autobind to an abstract address,
 *       bind with addrlen = sizeof(sa_family_t), so replies can reach us).
 *       For i = 0..MESSAGES-1: send "msg-<i>" (one message), read its echo
 *       (stream: exactly that many bytes) and compare.  stream / seqpacket:
 *       then shutdown(SHUT_WR) and expect EOF.  Every receive gives up
 *       after CLIENT_TIMEOUT_S seconds.  Prints "ok MESSAGES".
 *       Pass (exit 0): every echo equal.  Mismatch, missing echo (EOF or
 *       timeout), data after the last echo, reset: exit 1.
 *
 *   sock_peer sink ADDRESS
 *       Stream server: bind, listen, print "ready", accept one connection,
 *       read it to EOF in 64 KiB reads, print "<bytes> <crc32, 8 lowercase
 *       hex digits>" (as pipe_peer sink).  Exit 0.
 *   sock_peer sink-fd FD
 *       The same on the already-connected socket FD.
 *
 *   sock_peer source ADDRESS BYTES SEED
 *       Connect (stream), write BYTES bytes of pattern(SEED) (see
 *       include/peer.h) in 64 KiB writes, shutdown(SHUT_WR), close.
 *       Pass (exit 0): all written.  EPIPE: exit 1.  Other error: exit 2.
 *   sock_peer source-fd FD BYTES SEED
 *       The same on the already-connected socket FD.
 *
 *   sock_peer echo-fd FD
 *       Echo everything read on the connected stream or seqpacket socket FD
 *       back on it until EOF (seqpacket: message by message), close FD.
 *       (Ping-pong responder.)  Exit 0; EPIPE / reset: exit 1.
 *
 *   sock_peer pingpong ADDRESS COUNT SIZE
 *       Connect (stream); COUNT times write SIZE bytes (SIZE >= 1) of
 *       pattern(1), read SIZE bytes back and compare.  Prints "<count>
 *       <total elapsed ns, CLOCK_MONOTONIC>".  The whole request is written
 *       before the reply is read, so SIZE must fit in the socket buffers in
 *       flight (<= 64 KiB is always safe).
 *       Pass (exit 0): every reply equals the request; otherwise exit 1.
 *
 *   sock_peer recv-fds FD
 *       One recvmsg (MSG_CMSG_CLOEXEC, room for RECV_FDS_MAX = 8 fds, 4096
 *       data bytes) on the connected AF_UNIX socket FD.  For each received
 *       descriptor i print "<i> <type>", type = fifo (pipes too), socket,
 *       regular (files, shm segments, memfds) or other.  Then use them:
 *         - descriptor 0 a fifo open for writing: write "from-c\n" to it;
 *         - descriptor 0 a fifo open read-only: one read() of up to 4096
 *           bytes, printed as "read 0 <text>" (one trailing '\n' of the
 *           text dropped) -- this blocks until data or EOF arrive;
 *         - every regular one: mmap its first 4096 bytes (MAP_SHARED,
 *           PROT_READ | PROT_WRITE) and write "c-was-here" at offset 0 (a
 *           file shorter than that text: exit 2).
 *       Closes them all, prints "ctrunc" if the kernel set MSG_CTRUNC (more
 *       fds were sent than fit; the extra ones are closed by the kernel),
 *       then "data <in-band bytes as text>".
 *       Exit 0; EOF without any message: exit 1.
 *
 *   sock_peer send-fds FD PATH...
 *       Open every PATH with O_RDWR (a FIFO too: O_RDWR does not block),
 *       send them all in ONE sendmsg with SCM_RIGHTS and the 3 in-band bytes
 *       "fds" on the connected AF_UNIX socket FD, close them.  Exit 0.
 *   sock_peer send-pipe FD
 *       pipe(); write "via-pipe\n" into it; send the READ end with
 *       SCM_RIGHTS and the in-band byte "p"; close both ends.  Exit 0.
 *   sock_peer send-many-fds FD N
 *       Send N (>= 1) duplicates of one /dev/null descriptor in one message,
 *       in-band byte "x".  N above the kernel's SCM_MAX_FD (253) makes
 *       sendmsg fail with EINVAL: exit 2.  Exit 0.
 *
 *   sock_peer creds FD
 *       Print "pid <pid> uid <euid> gid <egid>" of this process, then
 *       getsockopt(SO_PEERCRED) on the connected AF_UNIX socket FD and print
 *       "peer <pid> <uid> <gid>".  Exit 0.
 *
 * Exit codes: 0 pass, 1 check failed (see each mode), 2 usage or
 * environment error, 4 the address family or socket type is not supported
 * here (socket() fails with EAFNOSUPPORT, EPROTONOSUPPORT or
 * ESOCKTNOSUPPORT).  Usage errors print the usage text on stderr.
 */
#include "peer.h"

#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>

#define MSG_BUF_SIZE (1u << 20) /* one dgram / seqpacket message        */
#define CLIENT_TIMEOUT_S 30     /* echo-client: receive timeout         */
#define RECV_FDS_MAX 8          /* recv-fds: descriptors per message    */
#define MAX_ENDPOINTS 8         /* resolved addresses kept per ADDRESS  */

static const char usage_text[] =
    "usage: sock_peer echo-server ADDRESS TYPE COUNT\n"
    "       sock_peer echo-client ADDRESS TYPE MESSAGES\n"
    "       sock_peer sink ADDRESS\n"
    "       sock_peer sink-fd FD\n"
    "       sock_peer source ADDRESS BYTES SEED\n"
    "       sock_peer source-fd FD BYTES SEED\n"
    "       sock_peer echo-fd FD\n"
    "       sock_peer pingpong ADDRESS COUNT SIZE\n"
    "       sock_peer recv-fds FD\n"
    "       sock_peer send-fds FD PATH...\n"
    "       sock_peer send-pipe FD\n"
    "       sock_peer send-many-fds FD N\n"
    "       sock_peer creds FD\n"
    "ADDRESS: unix:PATH | abstract:NAME | tcp:HOST:PORT | udp:HOST:PORT\n"
    "         (IPv6: tcp:[::1]:PORT)\n"
    "TYPE:    stream | dgram | seqpacket (tcp: stream, udp: dgram)\n";

_Noreturn static void usage(void)
{
    fputs(usage_text, stderr);
    exit(PEER_BROKEN);
}

/*
 * Exit after a failed socket I/O call, errno still set: a timeout, EPIPE,
 * ECONNRESET or ECONNREFUSED (the peer misbehaved or went away) exit 1,
 * anything else exits 2.
 */
__attribute__((format(printf, 1, 2)))
_Noreturn static void io_die(const char *fmt, ...)
{
    int e = errno;
    char what[256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (e == EAGAIN || e == EWOULDBLOCK)
        peer_die(PEER_FAIL, "%s: timed out", what);
    peer_die(e == EPIPE || e == ECONNRESET || e == ECONNREFUSED ? PEER_FAIL
                                                                : PEER_BROKEN,
             "%s: %s", what, strerror(e));
}

/* ------------------------------------------------------------- addresses */

enum addr_kind { ADDR_UNIX, ADDR_ABSTRACT, ADDR_TCP, ADDR_UDP };

typedef struct {
    struct sockaddr_storage ss;
    socklen_t len;
} endpoint;

typedef struct {
    enum addr_kind kind;
    const char *text;         /* the ADDRESS argument, for messages     */
    int port_zero;            /* tcp/udp with PORT 0: report the port   */
    size_t n;                 /* resolved endpoints (1 for unix kinds)  */
    endpoint ep[MAX_ENDPOINTS];
} sock_addr;

static int parse_type(const char *s)
{
    if (strcmp(s, "stream") == 0)
        return SOCK_STREAM;
    if (strcmp(s, "dgram") == 0)
        return SOCK_DGRAM;
    if (strcmp(s, "seqpacket") == 0)
        return SOCK_SEQPACKET;
    peer_die(PEER_BROKEN, "invalid TYPE '%s' (expected stream, dgram or "
             "seqpacket)", s);
}

static const char *type_name(int type)
{
    return type == SOCK_STREAM ? "stream"
         : type == SOCK_DGRAM  ? "dgram"
         : type == SOCK_SEQPACKET ? "seqpacket" : "?";
}

/* unix:PATH (abstract = 0) or abstract:NAME (abstract = 1). */
static void parse_unix(sock_addr *a, const char *name, int abstract)
{
    struct sockaddr_un *sun = (struct sockaddr_un *)&a->ep[0].ss;
    size_t n = strlen(name);
    size_t max = sizeof sun->sun_path - 1; /* room for the NUL before/after */

    if (n == 0 || n > max)
        peer_die(PEER_BROKEN, "%s: %s must be 1..%zu bytes", a->text,
                 abstract ? "NAME" : "PATH", max);
    sun->sun_family = AF_UNIX;
    /* ss is zeroed: sun_path[0] = '\0' (abstract) / the terminating NUL. */
    memcpy(sun->sun_path + (abstract ? 1 : 0), name, n);
    a->ep[0].len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
    a->n = 1;
}

/* HOST:PORT or [HOST]:PORT for tcp: / udp:. */
static void parse_inet(sock_addr *a, const char *hostport, int socktype)
{
    const char *colon = strrchr(hostport, ':');
    const char *h = hostport;
    char host[256], port[8];
    size_t hl;
    uint64_t pn;
    struct addrinfo hints, *res, *ai;
    int rc;

    if (colon == NULL)
        peer_die(PEER_BROKEN, "%s: expected HOST:PORT", a->text);
    hl = (size_t)(colon - hostport);
    if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') {
        h++;
        hl -= 2;
    } else if (memchr(h, ':', hl) != NULL) {
        peer_die(PEER_BROKEN, "%s: an IPv6 HOST must be in brackets, e.g. "
                 "tcp:[::1]:PORT", a->text);
    }
    if (hl == 0 || hl >= sizeof host)
        peer_die(PEER_BROKEN, "%s: HOST must be 1..%zu bytes", a->text,
                 sizeof host - 1);
    memcpy(host, h, hl);
    host[hl] = '\0';
    pn = parse_u64(colon + 1);
    if (pn > 65535)
        peer_die(PEER_BROKEN, "%s: PORT must be 0..65535", a->text);
    snprintf(port, sizeof port, "%u", (unsigned)pn);
    a->port_zero = pn == 0;

    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = socktype;
    hints.ai_flags = AI_NUMERICSERV;
    rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0)
        peer_die(PEER_BROKEN, "%s: getaddrinfo: %s", a->text,
                 rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
    for (ai = res; ai != NULL && a->n < MAX_ENDPOINTS; ai = ai->ai_next) {
        if (ai->ai_addrlen > sizeof a->ep[0].ss)
            continue;
        memcpy(&a->ep[a->n].ss, ai->ai_addr, ai->ai_addrlen);
        a->ep[a->n].len = ai->ai_addrlen;
        a->n++;
    }
    freeaddrinfo(res);
    if (a->n == 0)
        peer_die(PEER_BROKEN, "%s: no usable address", a->text);
}

/* Parse ADDRESS for a socket of `type`; invalid input exits 2. */
static void parse_address(const char *text, int type, sock_addr *a)
{
    memset(a, 0, sizeof *a);
    a->text = text;
    if (strncmp(text, "unix:", 5) == 0) {
        a->kind = ADDR_UNIX;
        parse_unix(a, text + 5, 0);
    } else if (strncmp(text, "abstract:", 9) == 0) {
        a->kind = ADDR_ABSTRACT;
        parse_unix(a, text + 9, 1);
    } else if (strncmp(text, "tcp:", 4) == 0) {
        a->kind = ADDR_TCP;
        if (type != SOCK_STREAM)
            peer_die(PEER_BROKEN, "%s: a tcp: address needs TYPE stream, "
                     "not %s", text, type_name(type));
        parse_inet(a, text + 4, SOCK_STREAM);
    } else if (strncmp(text, "udp:", 4) == 0) {
        a->kind = ADDR_UDP;
        if (type != SOCK_DGRAM)
            peer_die(PEER_BROKEN, "%s: a udp: address needs TYPE dgram, "
                     "not %s", text, type_name(type));
        parse_inet(a, text + 4, SOCK_DGRAM);
    } else {
        peer_die(PEER_BROKEN, "invalid ADDRESS '%s' (expected unix:PATH, "
                 "abstract:NAME, tcp:HOST:PORT or udp:HOST:PORT)", text);
    }
}

static int is_unix(const sock_addr *a)
{
    return a->kind == ADDR_UNIX || a->kind == ADDR_ABSTRACT;
}

/* ------------------------------------------------- socket path clean-up */

static struct {
    char path[sizeof ((struct sockaddr_un *)0)->sun_path];
    dev_t dev;
    ino_t ino;
    pid_t owner;              /* only this process (not a child) unlinks */
} bound;

/* Unlink the socket file we created, if PATH still is that file.  Async-
 * signal-safe. */
static void unlink_bound(void)
{
    struct stat st;

    if (bound.path[0] == '\0' || getpid() != bound.owner)
        return;
    if (lstat(bound.path, &st) == 0 && st.st_dev == bound.dev &&
        st.st_ino == bound.ino)
        unlink(bound.path);
    bound.path[0] = '\0';
}

static void unlink_on_signal(int sig)
{
    unlink_bound();
    signal(sig, SIG_DFL);
    raise(sig);
}

/* Register the just-bound socket file `path` for unlinking on every exit. */
static void remember_bound(const char *path)
{
    static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
    struct sigaction sa;
    struct stat st;

    CHECK(lstat(path, &st) == 0);
    strcpy(bound.path, path);   /* length checked by parse_unix */
    bound.dev = st.st_dev;
    bound.ino = st.st_ino;
    bound.owner = getpid();
    CHECK(atexit(unlink_bound) == 0);
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = unlink_on_signal;
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        CHECK(sigaction(sigs[i], &sa, NULL) == 0);
}

/* ---------------------------------------------------- opening sockets */

/* Exit for the last failed call `op` (errno err) on ADDRESS. */
_Noreturn static void open_failed(const char *op, int err, const sock_addr *a,
                                  int type)
{
    int unsupported = strcmp(op, "socket") == 0 &&
        (err == EAFNOSUPPORT || err == EPROTONOSUPPORT ||
         err == ESOCKTNOSUPPORT);
    peer_die(unsupported ? PEER_UNSUPPORTED : PEER_BROKEN, "%s %s (%s): %s",
             op, a->text, type_name(type), strerror(err));
}

static void tcp_nodelay(int fd, const sock_addr *a)
{
    int one = 1;
    if (a->kind == ADDR_TCP)
        CHECK(setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) == 0);
}

/*
 * A socket of `type` bound to ADDRESS (the first endpoint that binds) and,
 * unless dgram, listening.  unix: an existing PATH exits 2; the new socket
 * file is registered for unlinking.  tcp: SO_REUSEADDR.
 */
static int sock_listen(const sock_addr *a, int type)
{
    const char *path = ((const struct sockaddr_un *)&a->ep[0].ss)->sun_path;
    const char *op = "bind";
    int err = 0;
    struct stat st;

    if (a->kind == ADDR_UNIX && lstat(path, &st) == 0)
        peer_die(PEER_BROKEN, "%s: %s already exists (not removing it)",
                 a->text, path);
    for (size_t i = 0; i < a->n; i++) {
        const endpoint *e = &a->ep[i];
        int one = 1;
        int fd = socket(e->ss.ss_family, type | SOCK_CLOEXEC, 0);

        if (fd < 0) {
            err = errno;
            op = "socket";
            continue;
        }
        if (a->kind == ADDR_TCP)
            CHECK(setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one,
                             sizeof one) == 0);
        if (bind(fd, (const struct sockaddr *)&e->ss, e->len) != 0) {
            err = errno;
            op = "bind";
            CHECK(close(fd) == 0);
            continue;
        }
        if (a->kind == ADDR_UNIX)
            remember_bound(path);
        if (type != SOCK_DGRAM && listen(fd, SOMAXCONN) != 0)
            open_failed("listen", errno, a, type);
        return fd;
    }
    open_failed(op, err, a, type);
}

/* Print "ready" or "ready PORT" (tcp:/udp: PORT 0) and flush. */
static void announce_ready(int fd, const sock_addr *a)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;

    if (!a->port_zero) {
        puts("ready");
    } else {
        CHECK(getsockname(fd, (struct sockaddr *)&ss, &len) == 0);
        printf("ready %u\n", ss.ss_family == AF_INET6
               ? (unsigned)ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
               : (unsigned)ntohs(((struct sockaddr_in *)&ss)->sin_port));
    }
    CHECK(fflush(stdout) == 0);
}

static int sock_accept(int lfd, const sock_addr *a)
{
    int fd;

    while ((fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) < 0 &&
           (errno == EINTR || errno == ECONNABORTED))
        ;
    if (fd < 0)
        io_die("accept %s", a->text);
    tcp_nodelay(fd, a);
    return fd;
}

/*
 * A socket of `type` connected to ADDRESS (the first endpoint that
 * connects).  unix dgram: autobinds first (Linux: bind with addrlen =
 * sizeof(sa_family_t) picks a unique abstract address), so that the server
 * can reply.
 */
static int sock_connect(const sock_addr *a, int type)
{
    const char *op = "connect";
    int err = 0;

    for (size_t i = 0; i < a->n; i++) {
        const endpoint *e = &a->ep[i];
        int fd = socket(e->ss.ss_family, type | SOCK_CLOEXEC, 0);

        if (fd < 0) {
            err = errno;
            op = "socket";
            continue;
        }
        if (is_unix(a) && type == SOCK_DGRAM) {
            struct sockaddr_un self = { .sun_family = AF_UNIX };
            CHECK(bind(fd, (struct sockaddr *)&self, sizeof(sa_family_t)) == 0);
        }
        if (connect(fd, (const struct sockaddr *)&e->ss, e->len) == 0) {
            tcp_nodelay(fd, a);
            return fd;
        }
        err = errno;
        op = "connect";
        CHECK(close(fd) == 0);
    }
    open_failed(op, err, a, type);
}

/* SO_TYPE of fd; not a socket exits 2. */
static int socket_type(int fd)
{
    int type;
    socklen_t len = sizeof type;

    peer_check_fd(fd);
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0)
        peer_die(PEER_BROKEN, "fd %d: %s", fd, strerror(errno));
    return type;
}

/* ------------------------------------------------------------------- I/O */

/* One read(); returns the count (0 = EOF).  Errors: io_die. */
static size_t read_some(int fd, void *buf, size_t cap)
{
    ssize_t n;

    while ((n = read(fd, buf, cap)) < 0 && errno == EINTR)
        ;
    if (n < 0)
        io_die("read fd %d", fd);
    return (size_t)n;
}

static void write_all(int fd, const void *buf, size_t n)
{
    if (write_full(fd, buf, n) != 0)
        io_die("write fd %d", fd);
}

/*
 * Receive one message (dgram / seqpacket) of at most cap bytes; its sender
 * into *from / *fromlen when from != NULL.  Returns its length (seqpacket: 0
 * = EOF).  A longer message exits 2; other errors: io_die.
 */
static size_t recv_message(int fd, void *buf, size_t cap,
                           struct sockaddr_storage *from, socklen_t *fromlen)
{
    struct iovec iov = { .iov_base = buf, .iov_len = cap };
    struct msghdr mh;
    ssize_t n;

    do {
        memset(&mh, 0, sizeof mh);
        mh.msg_name = from;
        mh.msg_namelen = from != NULL ? sizeof *from : 0;
        mh.msg_iov = &iov;
        mh.msg_iovlen = 1;
        n = recvmsg(fd, &mh, MSG_TRUNC);   /* MSG_TRUNC: n = real length */
    } while (n < 0 && errno == EINTR);
    if (n < 0)
        io_die("recvmsg fd %d", fd);
    if (mh.msg_flags & MSG_TRUNC)
        peer_die(PEER_BROKEN, "recvmsg fd %d: a %zd-byte message exceeds the "
                 "%zu-byte buffer", fd, n, cap);
    if (fromlen != NULL)
        *fromlen = mh.msg_namelen;
    return (size_t)n;
}

/* Send buf as one message (to `to` if not NULL).  Errors: io_die. */
static void send_message(int fd, const void *buf, size_t n,
                         const struct sockaddr_storage *to, socklen_t tolen)
{
    ssize_t r;

    do
        r = sendto(fd, buf, n, 0, (const struct sockaddr *)to, tolen);
    while (r < 0 && errno == EINTR);
    if (r < 0)
        io_die("sendto fd %d", fd);
    if ((size_t)r != n)
        peer_die(PEER_BROKEN, "sendto fd %d: sent %zd of %zu bytes", fd, r, n);
}

/* Receive one unit: stream: one read of up to PEER_CHUNK; else a message. */
static size_t recv_unit(int fd, int type, char *buf)
{
    if (type == SOCK_STREAM)
        return read_some(fd, buf, PEER_CHUNK);
    return recv_message(fd, buf, MSG_BUF_SIZE, NULL, NULL);
}

/*
 * Echo on the connected stream / seqpacket socket fd until EOF: stream in
 * PEER_CHUNK reads, seqpacket message by message.  buf has MSG_BUF_SIZE
 * bytes.  Does not close fd.
 */
static void echo_conn(int fd, int type, char *buf)
{
    size_t n;

    while ((n = recv_unit(fd, type, buf)) > 0) {
        if (type == SOCK_STREAM)
            write_all(fd, buf, n);
        else
            send_message(fd, buf, n, NULL, 0);
    }
}

/* dgram echo: receive one datagram and send it back to its sender. */
static void echo_datagram(int fd, const sock_addr *a, char *buf, uint64_t seq)
{
    struct sockaddr_storage from;
    socklen_t fromlen;
    size_t n = recv_message(fd, buf, MSG_BUF_SIZE, &from, &fromlen);

    if (is_unix(a) && fromlen <= offsetof(struct sockaddr_un, sun_path))
        peer_die(PEER_FAIL, "echo-server %s: datagram %llu comes from an "
                 "unbound socket: cannot reply", a->text,
                 (unsigned long long)seq);
    send_message(fd, buf, n, &from, fromlen);
}

static void print_sink_result(int fd)
{
    uint64_t count;
    uint32_t crc;

    peer_sink_fd(fd, &count, &crc);
    CHECK(close(fd) == 0);
    printf("%llu %08x\n", (unsigned long long)count, (unsigned)crc);
    CHECK(fflush(stdout) == 0);
}

/* source loop, then shutdown(SHUT_WR) and close.  Returns an exit code. */
static int source_and_close(int fd, uint64_t bytes, uint64_t seed)
{
    int rc = peer_source_fd(fd, bytes, seed);

    if (rc == PEER_PASS && shutdown(fd, SHUT_WR) != 0)
        io_die("shutdown fd %d", fd);
    CHECK(close(fd) == 0);
    return rc;
}

/* ------------------------------------------------------------ fd passing */

/* One sendmsg of data with SCM_RIGHTS fds[0..n-1] on sock.  Errors: io_die. */
static void send_fds(int sock, const int *fds, size_t n, const char *data)
{
    size_t space = CMSG_SPACE(n * sizeof(int));
    char *ctl = calloc(1, space);     /* malloc alignment suits cmsghdr */
    struct iovec iov = { .iov_base = (void *)data, .iov_len = strlen(data) };
    struct msghdr mh;
    struct cmsghdr *c;
    ssize_t r;

    CHECK(ctl != NULL);
    memset(&mh, 0, sizeof mh);
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = ctl;
    mh.msg_controllen = space;
    c = CMSG_FIRSTHDR(&mh);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(n * sizeof(int));
    memcpy(CMSG_DATA(c), fds, n * sizeof(int));
    while ((r = sendmsg(sock, &mh, 0)) < 0 && errno == EINTR)
        ;
    if (r < 0)
        io_die("sendmsg %zu fds on fd %d", n, sock);
    if ((size_t)r != iov.iov_len)
        peer_die(PEER_BROKEN, "sendmsg fd %d: sent %zd of %zu bytes", sock, r,
                 iov.iov_len);
    free(ctl);
}

static void close_all(const int *fds, size_t n)
{
    for (size_t i = 0; i < n; i++)
        CHECK(close(fds[i]) == 0);
}

static const char *fd_kind(mode_t m)
{
    if (S_ISFIFO(m))
        return "fifo";
    if (S_ISSOCK(m))
        return "socket";
    if (S_ISREG(m))
        return "regular";
    return "other";
}

/* recv-fds: the first descriptor is a fifo: write to it or read from it. */
static void use_fifo(int fd)
{
    static const char text[] = "from-c\n";
    char buf[4096];
    int fl;
    size_t n;

    CHECK((fl = fcntl(fd, F_GETFL)) >= 0);
    if ((fl & O_ACCMODE) != O_RDONLY) {
        write_all(fd, text, sizeof text - 1);
        return;
    }
    n = read_some(fd, buf, sizeof buf);
    if (n > 0 && buf[n - 1] == '\n')
        n--;
    fputs("read 0 ", stdout);
    CHECK(fwrite(buf, 1, n, stdout) == n);
    putchar('\n');
}

/* recv-fds: write "c-was-here" at offset 0 of the regular file fd via mmap. */
static void scribble_mapped(int fd, const struct stat *st)
{
    static const char text[] = "c-was-here";
    char *p;

    if (st->st_size < (off_t)(sizeof text - 1))
        peer_die(PEER_BROKEN, "recv-fds: regular fd %d has only %lld bytes",
                 fd, (long long)st->st_size);
    p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    CHECK(p != MAP_FAILED);
    memcpy(p, text, sizeof text - 1);
    CHECK(munmap(p, 4096) == 0);
}

/* --------------------------------------------------------------- modes */

static int mode_echo_server(const char *address, const char *type_s,
                            uint64_t count)
{
    int type = parse_type(type_s);
    sock_addr a;
    char *buf;
    int lfd;

    parse_address(address, type, &a);
    CHECK((buf = malloc(MSG_BUF_SIZE)) != NULL);
    lfd = sock_listen(&a, type);
    announce_ready(lfd, &a);
    for (uint64_t i = 0; i < count; i++) {
        int fd;

        if (type == SOCK_DGRAM) {
            echo_datagram(lfd, &a, buf, i);
            continue;
        }
        fd = sock_accept(lfd, &a);
        echo_conn(fd, type, buf);
        CHECK(close(fd) == 0);
    }
    CHECK(close(lfd) == 0);
    unlink_bound();
    free(buf);
    return PEER_PASS;
}

static int mode_echo_client(const char *address, const char *type_s,
                            uint64_t messages)
{
    int type = parse_type(type_s);
    struct timeval tv = { .tv_sec = CLIENT_TIMEOUT_S };
    sock_addr a;
    char *buf;
    int fd;

    parse_address(address, type, &a);
    CHECK((buf = malloc(MSG_BUF_SIZE)) != NULL);
    fd = sock_connect(&a, type);
    CHECK(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0);
    for (uint64_t i = 0; i < messages; i++) {
        char msg[32];
        size_t len = (size_t)snprintf(msg, sizeof msg, "msg-%llu",
                                      (unsigned long long)i);
        ssize_t got;

        if (type == SOCK_STREAM) {
            write_all(fd, msg, len);
            if ((got = read_full(fd, buf, len)) < 0)
                io_die("echo-client: read echo %llu", (unsigned long long)i);
        } else {
            send_message(fd, msg, len, NULL, 0);
            got = (ssize_t)recv_message(fd, buf, MSG_BUF_SIZE, NULL, NULL);
        }
        if ((size_t)got != len || memcmp(buf, msg, len) != 0)
            peer_die(PEER_FAIL, "echo-client: sent '%s', got %zd bytes '%.*s'",
                     msg, got, got > 64 ? 64 : (int)got, buf);
    }
    if (type != SOCK_DGRAM) {
        size_t extra;

        if (shutdown(fd, SHUT_WR) != 0)
            io_die("echo-client: shutdown");
        if ((extra = recv_unit(fd, type, buf)) != 0)
            peer_die(PEER_FAIL, "echo-client: %zu unexpected bytes after the "
                     "last echo (expected EOF)", extra);
    }
    CHECK(close(fd) == 0);
    free(buf);
    printf("ok %llu\n", (unsigned long long)messages);
    CHECK(fflush(stdout) == 0);
    return PEER_PASS;
}

static int mode_sink(const char *address)
{
    sock_addr a;
    int lfd, fd;

    parse_address(address, SOCK_STREAM, &a);
    lfd = sock_listen(&a, SOCK_STREAM);
    announce_ready(lfd, &a);
    fd = sock_accept(lfd, &a);
    CHECK(close(lfd) == 0);
    unlink_bound();
    print_sink_result(fd);
    return PEER_PASS;
}

static int mode_sink_fd(int fd)
{
    peer_check_fd(fd);
    print_sink_result(fd);
    return PEER_PASS;
}

static int mode_source(const char *address, uint64_t bytes, uint64_t seed)
{
    sock_addr a;

    parse_address(address, SOCK_STREAM, &a);
    return source_and_close(sock_connect(&a, SOCK_STREAM), bytes, seed);
}

static int mode_source_fd(int fd, uint64_t bytes, uint64_t seed)
{
    peer_check_fd(fd);
    return source_and_close(fd, bytes, seed);
}

static int mode_echo_fd(int fd)
{
    int type = socket_type(fd);
    char *buf;

    if (type != SOCK_STREAM && type != SOCK_SEQPACKET)
        peer_die(PEER_BROKEN, "echo-fd: fd %d is a %s socket (expected stream "
                 "or seqpacket)", fd, type_name(type));
    CHECK((buf = malloc(MSG_BUF_SIZE)) != NULL);
    echo_conn(fd, type, buf);
    CHECK(close(fd) == 0);
    free(buf);
    return PEER_PASS;
}

static int mode_pingpong(const char *address, uint64_t count, uint64_t size)
{
    peer_pattern pat;
    sock_addr a;
    char *out, *in;
    uint64_t t0, t1;
    int fd;

    if (size == 0 || size > (uint64_t)SSIZE_MAX)
        peer_die(PEER_BROKEN, "pingpong: SIZE must be >= 1");
    parse_address(address, SOCK_STREAM, &a);
    CHECK((out = malloc((size_t)size)) != NULL);
    CHECK((in = malloc((size_t)size)) != NULL);
    pattern_init(&pat, 1);
    pattern_fill(&pat, out, (size_t)size);
    fd = sock_connect(&a, SOCK_STREAM);

    t0 = peer_now_ns();
    for (uint64_t i = 0; i < count; i++) {
        ssize_t r;

        write_all(fd, out, (size_t)size);
        if ((r = read_full(fd, in, (size_t)size)) < 0)
            io_die("pingpong: read in round %llu", (unsigned long long)i);
        if ((uint64_t)r != size || memcmp(in, out, (size_t)size) != 0)
            peer_die(PEER_FAIL, "pingpong: round %llu: %s",
                     (unsigned long long)i,
                     (uint64_t)r != size ? "EOF before the whole reply"
                                         : "reply differs from the request");
    }
    t1 = peer_now_ns();

    CHECK(close(fd) == 0);
    free(out);
    free(in);
    printf("%llu %llu\n", (unsigned long long)count,
           (unsigned long long)(t1 - t0));
    CHECK(fflush(stdout) == 0);
    return PEER_PASS;
}

static int mode_recv_fds(int sock)
{
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(RECV_FDS_MAX * sizeof(int))];
    } ctl;
    char data[4096];
    struct iovec iov = { .iov_base = data, .iov_len = sizeof data };
    struct msghdr mh;
    struct cmsghdr *c;
    struct stat st[RECV_FDS_MAX];
    int fds[RECV_FDS_MAX];
    size_t nfds = 0;
    ssize_t n;

    peer_check_fd(sock);
    do {
        memset(&mh, 0, sizeof mh);
        mh.msg_iov = &iov;
        mh.msg_iovlen = 1;
        mh.msg_control = ctl.buf;
        mh.msg_controllen = sizeof ctl.buf;
        n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
    } while (n < 0 && errno == EINTR);
    if (n < 0)
        io_die("recv-fds: recvmsg fd %d", sock);
    for (c = CMSG_FIRSTHDR(&mh); c != NULL; c = CMSG_NXTHDR(&mh, c)) {
        size_t k;
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
            continue;
        k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        if (k > RECV_FDS_MAX - nfds)   /* cannot happen: the buffer is full */
            k = RECV_FDS_MAX - nfds;
        memcpy(fds + nfds, CMSG_DATA(c), k * sizeof(int));
        nfds += k;
    }
    if (n == 0 && nfds == 0)
        peer_die(PEER_FAIL, "recv-fds: EOF on fd %d before any message", sock);

    for (size_t i = 0; i < nfds; i++) {
        CHECK(fstat(fds[i], &st[i]) == 0);
        printf("%zu %s\n", i, fd_kind(st[i].st_mode));
    }
    for (size_t i = 0; i < nfds; i++) {
        if (i == 0 && S_ISFIFO(st[i].st_mode))
            use_fifo(fds[i]);
        if (S_ISREG(st[i].st_mode))
            scribble_mapped(fds[i], &st[i]);
    }
    close_all(fds, nfds);
    CHECK(close(sock) == 0);
    if (mh.msg_flags & MSG_CTRUNC)
        puts("ctrunc");
    fputs("data ", stdout);
    CHECK(fwrite(data, 1, (size_t)n, stdout) == (size_t)n);
    putchar('\n');
    CHECK(fflush(stdout) == 0);
    return PEER_PASS;
}

static int mode_send_fds(int sock, char **paths, size_t n)
{
    int *fds;

    peer_check_fd(sock);
    CHECK((fds = malloc(n * sizeof *fds)) != NULL);
    for (size_t i = 0; i < n; i++)
        if ((fds[i] = open(paths[i], O_RDWR | O_CLOEXEC)) < 0)
            peer_die(PEER_BROKEN, "send-fds: open %s: %s", paths[i],
                     strerror(errno));
    send_fds(sock, fds, n, "fds");
    close_all(fds, n);
    CHECK(close(sock) == 0);
    free(fds);
    return PEER_PASS;
}

static int mode_send_pipe(int sock)
{
    static const char text[] = "via-pipe\n";
    int p[2];

    peer_check_fd(sock);
    CHECK(pipe2(p, O_CLOEXEC) == 0);
    write_all(p[1], text, sizeof text - 1);
    send_fds(sock, &p[0], 1, "p");
    close_all(p, 2);
    CHECK(close(sock) == 0);
    return PEER_PASS;
}

static int mode_send_many_fds(int sock, uint64_t n)
{
    int *fds, null;

    peer_check_fd(sock);
    if (n == 0 || n > INT_MAX)
        peer_die(PEER_BROKEN, "send-many-fds: N must be >= 1");
    CHECK((fds = malloc((size_t)n * sizeof *fds)) != NULL);
    CHECK((null = open("/dev/null", O_RDWR | O_CLOEXEC)) >= 0);
    for (size_t i = 0; i < n; i++)
        CHECK((fds[i] = fcntl(null, F_DUPFD_CLOEXEC, 0)) >= 0);
    send_fds(sock, fds, (size_t)n, "x");
    close_all(fds, (size_t)n);
    CHECK(close(null) == 0);
    CHECK(close(sock) == 0);
    free(fds);
    return PEER_PASS;
}

static int mode_creds(int sock)
{
    struct ucred cr;
    socklen_t len = sizeof cr;

    peer_check_fd(sock);
    printf("pid %ld uid %lu gid %lu\n", (long)getpid(),
           (unsigned long)geteuid(), (unsigned long)getegid());
    CHECK(getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &cr, &len) == 0);
    printf("peer %ld %lu %lu\n", (long)cr.pid, (unsigned long)cr.uid,
           (unsigned long)cr.gid);
    CHECK(close(sock) == 0);
    CHECK(fflush(stdout) == 0);
    return PEER_PASS;
}

int main(int argc, char **argv)
{
    const char *mode;

    if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
        peer_die(PEER_BROKEN, "signal(SIGPIPE): %s", strerror(errno));
    if (argc < 2)
        usage();
    mode = argv[1];

    if (strcmp(mode, "echo-server") == 0 && argc == 5)
        return mode_echo_server(argv[2], argv[3], parse_u64(argv[4]));
    if (strcmp(mode, "echo-client") == 0 && argc == 5)
        return mode_echo_client(argv[2], argv[3], parse_u64(argv[4]));
    if (strcmp(mode, "sink") == 0 && argc == 3)
        return mode_sink(argv[2]);
    if (strcmp(mode, "sink-fd") == 0 && argc == 3)
        return mode_sink_fd(parse_fd(argv[2]));
    if (strcmp(mode, "source") == 0 && argc == 5)
        return mode_source(argv[2], parse_u64(argv[3]), parse_u64(argv[4]));
    if (strcmp(mode, "source-fd") == 0 && argc == 5)
        return mode_source_fd(parse_fd(argv[2]), parse_u64(argv[3]),
                              parse_u64(argv[4]));
    if (strcmp(mode, "echo-fd") == 0 && argc == 3)
        return mode_echo_fd(parse_fd(argv[2]));
    if (strcmp(mode, "pingpong") == 0 && argc == 5)
        return mode_pingpong(argv[2], parse_u64(argv[3]), parse_u64(argv[4]));
    if (strcmp(mode, "recv-fds") == 0 && argc == 3)
        return mode_recv_fds(parse_fd(argv[2]));
    if (strcmp(mode, "send-fds") == 0 && argc >= 4)
        return mode_send_fds(parse_fd(argv[2]), argv + 3, (size_t)(argc - 3));
    if (strcmp(mode, "send-pipe") == 0 && argc == 3)
        return mode_send_pipe(parse_fd(argv[2]));
    if (strcmp(mode, "send-many-fds") == 0 && argc == 4)
        return mode_send_many_fds(parse_fd(argv[2]), parse_u64(argv[3]));
    if (strcmp(mode, "creds") == 0 && argc == 3)
        return mode_creds(parse_fd(argv[2]));
    usage();
}
