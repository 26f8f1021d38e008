# bench_peer.py -- the Python side of `ipcbridge bench` (conn): the modes of native-tests/bench_peer.c
# on multiprocessing.connection, run as `python3 -c "$(cat bench_peer.py)" MODE ARGS...`.
#   echo conn:FD conn:FD SIZE TOTAL      TOTAL times: recv_bytes, send_bytes it back
#   sink conn:FD BYTES CHUNK             recv_bytes until BYTES arrived; prints "<bytes> <ns>": ns from the
#                                        first receive to the last, bytes those that arrived in that time;
#                                        an early end, more than BYTES, or a byte at a multiple of
#                                        SAMPLE_STRIDE that differs from what source sends there exits 1
#                                        with a message
#   pp-latency SIZE WARMUP COUNT         multiprocessing.Pipe between this process and a forked echo;
#                                        prints "<median ns> <p99 ns> <mean ns>" of COUNT timed round trips
#   pp-throughput BYTES CHUNK            this process sends BYTES in CHUNK-byte messages to a forked sink,
#                                        which prints "<bytes> <ns>"
# As bench_peer's source, message k is CHUNK bytes of pattern(1) from byte 8 (k mod SEND_STARTS).
import multiprocessing as mp
import sys
import time
from multiprocessing.connection import Connection

SEND_STARTS = 512
# one byte checked in about 100 KB (bench_peer and the Java sink check one in 4099): a check costs the
# interpreter some 200 ns, a tenth of what receiving 4 KiB takes it, so one per 4 KiB would cost a tenth
SAMPLE_STRIDE = 100003


def source_pattern(chunk):
    """pattern(1) of native-tests/include/peer.h (xorshift64, little-endian words), CHUNK + 8 SEND_STARTS bytes."""
    words, s, mask = [], 1, (1 << 64) - 1
    for _ in range((chunk + 7) // 8 + SEND_STARTS):
        s ^= (s << 13) & mask
        s ^= s >> 7
        s ^= (s << 17) & mask
        words.append(s.to_bytes(8, "little"))
    return b"".join(words)


def conn(spec):
    if not spec.startswith("conn:"):
        sys.exit("bench_peer.py: not a conn:FD endpoint: " + spec)
    return Connection(int(spec[5:]))


def echo(c, total):
    for _ in range(total):
        c.send_bytes(c.recv_bytes())


def sink(c, nbytes, chunk):
    pattern = source_pattern(chunk)
    got, first, t0, t1, sample = 0, 0, 0, 0, 0
    while got < nbytes:
        try:
            m = c.recv_bytes()
        except EOFError:
            sys.exit("bench_peer.py: sink: the data ended after %d of %d bytes" % (got, nbytes))
        t1 = time.perf_counter_ns()
        if got == 0:
            t0, first = t1, len(m)
        got += len(m)
        while sample < got:
            want, found = pattern[sample // chunk % SEND_STARTS * 8 + sample % chunk], m[sample - got + len(m)]
            if found != want:
                sys.exit("bench_peer.py: sink: byte %d of the data is 0x%02x, expected 0x%02x" % (sample, found, want))
            sample += SAMPLE_STRIDE
    if got != nbytes:
        sys.exit("bench_peer.py: sink: received %d bytes, expected %d" % (got, nbytes))
    print(got - first, t1 - t0, flush=True)


def ping(c, size, warmup, count):
    t = []
    pad = bytes(size - 8)
    for i in range(warmup + count):
        msg = i.to_bytes(8, "little") + pad
        t0 = time.perf_counter_ns()
        c.send_bytes(msg)
        r = c.recv_bytes()
        t1 = time.perf_counter_ns()
        if r != msg:
            sys.exit("bench_peer.py: round trip %d: the echo differs" % i)
        if i >= warmup:
            t.append(t1 - t0)
    t.sort()
    n = len(t)
    median = t[n // 2] if n % 2 else (t[n // 2 - 1] + t[n // 2]) / 2
    print("%.1f %d %.1f" % (median, t[(n * 99 + 99) // 100 - 1], sum(t) / n), flush=True)


def source(c, nbytes, chunk):
    pattern = source_pattern(chunk)
    whole, rest = divmod(nbytes, chunk)
    for k in range(whole):
        c.send_bytes(pattern, k % SEND_STARTS * 8, chunk)
    if rest:
        c.send_bytes(pattern, whole % SEND_STARTS * 8, rest)


def forked(target, args, parent):
    ctx = mp.get_context("fork")
    a, b = ctx.Pipe()
    p = ctx.Process(target=target, args=(b,) + args)
    p.start()
    b.close()
    parent(a)
    p.join()
    if p.exitcode != 0:
        sys.exit("bench_peer.py: the forked side exited with %s" % p.exitcode)


def main(argv):
    mode = argv[0]
    if mode == "echo":
        c = conn(argv[1])
        echo(c, int(argv[4]))
    elif mode == "sink":
        sink(conn(argv[1]), int(argv[2]), int(argv[3]))
    elif mode == "pp-latency":
        size, warmup, count = int(argv[1]), int(argv[2]), int(argv[3])
        forked(echo, (warmup + count,), lambda a: ping(a, size, warmup, count))
    elif mode == "pp-throughput":
        nbytes, chunk = int(argv[1]), int(argv[2])
        forked(sink, (nbytes, chunk), lambda a: source(a, nbytes, chunk))
    else:
        sys.exit("bench_peer.py: unknown mode " + mode)


main(sys.argv[1:])
