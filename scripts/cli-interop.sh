#!/usr/bin/env bash
# scripts/cli-interop.sh -- drives the ipcbridge command line from a shell script against the C peers
# of native-tests/ (mq_peer, sem_peer, shm_peer, sock_peer, pipe_peer): message queues, semaphores,
# shared memory, message rings (whose records shm_peer reads and writes by the layout of
# native-tests/include/ipcbridge_ring.h) and sockets, both ways. RELIABILITY.md cases: CLI-01,
# CLI-02, CLI-03, CLI-05, MQ-10, MQ-12, SEM-06, SEM-09, SHM-09, SHM-15, UDS-01, UDS-03. Last, `reap`
# against a segment a shell left behind.
#
# Inputs (environment):
#   CP          class path holding io.ipcbridge.cli.Main and its dependencies (the JUnit test passes
#               its own); without it, scripts/ipcbridge (the jar) is used
#   JAVA        the java to run with CP (default: $JAVA_HOME/bin/java, else java)
#   IPCBRIDGE_JAVA_OPTS  JVM options for scripts/ipcbridge (default: fast start-up options)
#   NATIVE_DIR  where the C peers are (default: native-tests/build, built with make if missing)
#
# Output: one line per check on stdout ("ok - ..." or "FAIL - ..." with what differed), then
# "N passed, M failed". Exit status 0 when every check passed, 1 otherwise, 2 when it cannot run.
# Every object it creates is named /ipcb-clish-PID-* and removed on exit.
#
# usage: scripts/cli-interop.sh    (no arguments; -h or --help prints this)
set -euo pipefail
# -h, --help: the comment above, without its marks
help() { sed -n '2,/^[^#]/{/^#/{s/^# \{0,1\}//;p}}' "${BASH_SOURCE[0]}"; }
case "${1:-}" in
    "") ;;
    -h|--help) help; exit 0 ;;
    *) echo "cli-interop: takes no arguments, not $1" >&2; echo "usage: scripts/cli-interop.sh" >&2; exit 2 ;;
esac

root="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
peers="${NATIVE_DIR:-$root/native-tests/build}"
if [[ ! -x "$peers/mq_peer" || ! -x "$peers/sem_peer" || ! -x "$peers/shm_peer" || ! -x "$peers/sock_peer" \
    || ! -x "$peers/pipe_peer" ]]; then
    make -s -C "$root/native-tests" OUT="$peers" >&2 || { echo "cli-interop: cannot build the C peers" >&2; exit 2; }
fi

# Many short-lived JVMs: the C1 compiler and the serial collector start fastest.
quick=(-XX:TieredStopAtLevel=1 -XX:+UseSerialGC)
if [[ -n "${CP:-}" ]]; then
    java="${JAVA:-${JAVA_HOME:+$JAVA_HOME/bin/}java}"
    ipcb() { "$java" --enable-native-access=ALL-UNNAMED "${quick[@]}" -cp "$CP" io.ipcbridge.cli.Main "$@"; }
else
    export IPCBRIDGE_JAVA_OPTS="${IPCBRIDGE_JAVA_OPTS:-${quick[*]}}"
    ipcb() { "$root/scripts/ipcbridge" "$@"; }
fi

prefix="/ipcb-clish-$$"
q="$prefix-q"
s="$prefix-s"
m="$prefix-m"
g="$prefix-g"
work="$(mktemp -d)"
cleanup() {
    ipcb ring rm "$g" 2>/dev/null || true
    ipcb mq rm "$q" 2>/dev/null || true
    ipcb sem rm "$s" 2>/dev/null || true
    ipcb shm rm "$m" 2>/dev/null || true
    rm -f "/dev/shm$prefix-r".*
    rm -rf "$work"
}
trap cleanup EXIT

passed=0
failed=0
pass() { passed=$((passed + 1)); echo "ok - $1"; }
fail() { failed=$((failed + 1)); echo "FAIL - $1"; }

# check DESCRIPTION EXPECTED_STATUS EXPECTED_STDOUT -- COMMAND...: runs COMMAND (stderr to a file)
# and compares its exit status and its stdout (as text, trailing newlines dropped).
check() {
    local what="$1" want_status="$2" want_out="$3"
    shift 4
    local out status=0
    out="$("$@" 2>"$work/err")" || status=$?
    if [[ "$status" == "$want_status" && "$out" == "$want_out" ]]; then
        pass "$what"
    else
        fail "$what: exit $status (want $want_status), stdout [$out] (want [$want_out]), stderr [$(cat "$work/err")]"
    fi
}

# --- message queues ------------------------------------------------------------------------------
check "mq create" 0 "" -- ipcb mq create "$q" --max-messages 8 --message-size 64
check "mq send --priority 7 -> mq_peer receive-raw (CLI-01)" 0 "" -- ipcb mq send "$q" --priority 7 hello
check "  ... the C peer got the bytes and the priority" 0 "7 5 68656c6c6f" -- "$peers/mq_peer" receive-raw "$q"

printf 'a\0b\n\377' >"$work/bin"
send_binary() { ipcb mq send "$q" <"$work/bin"; }
check "mq send of binary stdin (NUL, newline, 0xff) (CLI-03)" 0 "" -- send_binary
check "  ... byte-identical in C" 0 "0 5 6100620aff" -- "$peers/mq_peer" receive-raw "$q"

check "mq_peer send-raw priority 1" 0 "" -- "$peers/mq_peer" send-raw "$q" 1 6c6f77
check "mq_peer send-raw priority 9" 0 "" -- "$peers/mq_peer" send-raw "$q" 9 68696768
check "mq_peer send-raw priority 5" 0 "" -- "$peers/mq_peer" send-raw "$q" 5 6d6964
check "mq receive --print-priority: highest first (MQ-10)" 0 $'9\thigh\n5\tmid\n1\tlow' -- \
    ipcb mq receive "$q" --count 3 --print-priority

check "mq_peer send-raw of 00 ff 0a 00" 0 "" -- "$peers/mq_peer" send-raw "$q" 0 00ff0a00
receive_raw_hex() { ipcb mq receive "$q" --raw | od -An -tx1 | tr -d ' \n'; }
check "mq receive --raw of a C message: bytes alone (CLI-03)" 0 "00ff0a00" -- receive_raw_hex

check "mq receive --nonblock on the empty queue: exit 3 (MQ-12)" 3 "" -- ipcb mq receive "$q" --nonblock
check "mq receive --timeout 200ms on the empty queue: exit 3 (CLI-02)" 3 "" -- ipcb mq receive "$q" --timeout 200ms

# --- semaphores ----------------------------------------------------------------------------------
check "sem create" 0 "" -- ipcb sem create "$s"
check "sem wait --timeout 200ms with nothing posted: exit 3" 3 "" -- ipcb sem wait "$s" --timeout 200ms
check "sem trywait at zero: exit 3 (SEM-06)" 3 "" -- ipcb sem trywait "$s"
check "sem_peer post" 0 "" -- "$peers/sem_peer" post "$s"
check "  ... then sem wait --timeout 2s: exit 0 (SEM-09)" 0 "" -- ipcb sem wait "$s" --timeout 2s
# A waiter started first and a post from C, in whichever order they meet: the wait succeeds either way.
ipcb sem wait "$s" --timeout 20s 2>"$work/wait.err" &
waiter=$!
check "sem_peer post to a waiting ipcbridge" 0 "" -- "$peers/sem_peer" post "$s"
status=0
wait "$waiter" || status=$?
if [[ "$status" == 0 ]]; then
    pass "  ... the background sem wait --timeout 20s returned 0"
else
    fail "  ... the background sem wait: exit $status, stderr [$(cat "$work/wait.err")]"
fi
post_then_value() { ipcb sem post "$s" --count 3 && "$peers/sem_peer" value "$s"; }
check "sem post --count 3 -> sem_peer value" 0 "3" -- post_then_value
check "sem_peer trywait" 0 "" -- "$peers/sem_peer" trywait "$s"
check "  ... ipcbridge sem value" 0 "2" -- ipcb sem value "$s"

# --- shared memory -------------------------------------------------------------------------------
check "shm create --size 64" 0 "" -- ipcb shm create "$m" --size 64
write_abc() { printf 'abc' | ipcb shm write "$m" --offset 8; }
check "shm write --offset 8 from stdin" 0 "" -- write_abc
check "  ... shm_peer read sees it" 0 "616263" -- "$peers/shm_peer" read "$m" 8 3
check "shm_peer write deadbeef at 16" 0 "" -- "$peers/shm_peer" write "$m" 16 deadbeef
read_hex() { ipcb shm read "$m" --offset 16 --length 4 | od -An -tx1 | tr -d ' \n'; }
check "  ... shm read --offset 16 --length 4 gives it" 0 "deadbeef" -- read_hex
write_past_end() { head -c 57 /dev/zero | tr '\0' 'x' | ipcb shm write "$m" --offset 8; }
check "shm write past the end: exit 1" 1 "" -- write_past_end
check "  ... and nothing was written (SHM: refused before any byte)" 0 "616263" -- "$peers/shm_peer" read "$m" 8 3

# --- message rings -------------------------------------------------------------------------------
# The ring's header is 512 bytes, then records of {int32 length, int32 type (1 = message), payload}
# at 8-byte aligned offsets; integers in the machine's byte order (little-endian here).
check "ring create --capacity 1k --max-message 64" 0 "" -- ipcb ring create "$g" --capacity 1k --max-message 64
check "  ... its header starts with the magic IPCBRING" 0 "4950434252494e47" -- "$peers/shm_peer" read "$g" 0 8
check "ring send hello" 0 "" -- ipcb ring send "$g" hello
check "  ... shm_peer reads the record: length 5, type 1, the bytes" 0 "05000000010000006865""6c6c6f" -- \
    "$peers/shm_peer" read "$g" 512 13
# A record written from C at the next offset (512 + 16), then published: producer_position (at 64) = 32.
check "shm_peer writes a record of abc after it" 0 "" -- "$peers/shm_peer" write "$g" 528 0300000001000000616263
check "  ... and publishes it" 0 "" -- "$peers/shm_peer" write "$g" 64 2000000000000000
check "ring receive --count 2: the CLI's message, then C's" 0 $'hello\nabc' -- ipcb ring receive "$g" --count 2
send_ring_binary() { ipcb ring send "$g" <"$work/bin"; }
check "ring send of binary stdin (NUL, newline, 0xff) (CLI-03)" 0 "" -- send_ring_binary
ring_raw_hex() { ipcb ring receive "$g" --raw | od -An -tx1 | tr -d ' \n'; }
check "  ... ring receive --raw gives it back byte for byte" 0 "6100620aff" -- ring_raw_hex
check "ring receive --nonblock on the empty ring: exit 3" 3 "" -- ipcb ring receive "$g" --nonblock
check "ring receive --timeout 200ms on the empty ring: exit 3" 3 "" -- ipcb ring receive "$g" --timeout 200ms
lines_to_ring() { printf 'one\ntwo\n' | ipcb ring send "$g" --lines; }
check "ring send --lines" 0 "" -- lines_to_ring
ring_positions() { ipcb ring info "$g" | grep -E '^(producer|consumer|used)'; }
check "  ... ring info: 5 records sent (80 bytes), 2 waiting, no pid left registered" 0 \
    $'producer-position: 80\nconsumer-position: 48\nused: 32\nconsumer-pid: -\nproducer-pids: -' -- ring_positions
check "ring create --capacity 1000 (not a power of two): exit 1" 1 "" -- ipcb ring create "$prefix-x" --capacity 1000
check "ring create --capacity 4kb (malformed): exit 2" 2 "" -- ipcb ring create "$prefix-x" --capacity 4kb
check "ring rm of a plain segment: exit 1" 1 "" -- ipcb ring rm "$m"
check "  ... and the segment is still there" 0 "616263" -- "$peers/shm_peer" read "$m" 8 3

# --- sockets -------------------------------------------------------------------------------------
# A server is used once it has said so: the C peer prints "ready" (or "ready PORT") on stdout, and
# `sock listen` writes "ipcbridge: listening on ADDRESS" on stderr. Both are read through a FIFO,
# which the script keeps open until that server has ended (so later diagnostics are kept): no sleeps.
sp="$peers/sock_peer"
mkfifo "$work/said"
# stderr_of COMMAND...: the stderr of COMMAND (which is expected to fail), its stdout dropped.
stderr_of() { "$@" 2>&1 >/dev/null || true; }
# awaited STATUS_WANTED PID WHAT: waits for a background server and checks its exit status.
awaited() {
    local status=0
    wait "$2" || status=$?
    if [[ "$status" == "$1" ]]; then pass "$3"; else fail "$3: exit $status (want $1)"; fi
}

printf 'sock\0\n\377' >"$work/sock.bin"
"$sp" echo-server "unix:$work/echo.sock" stream 1 >"$work/said" 2>"$work/echo.err" &
echo_pid=$!
exec 3<"$work/said"
read -r said <&3 || true
check "sock_peer echo-server is ready" 0 "ready" -- echo "$said"
connect_echo() { ipcb sock connect "unix:$work/echo.sock" <"$work/sock.bin" | od -An -tx1 | tr -d ' \n'; }
check "sock connect to a C echo-server: binary stdin comes back (CLI-03)" 0 "736f636b000aff" -- connect_echo
exec 3<&-
awaited 0 "$echo_pid" "  ... the C echo-server served it and ended"

"$sp" echo-server udp:127.0.0.1:0 dgram 1 >"$work/said" 2>"$work/echo.err" &
echo_pid=$!
exec 3<"$work/said"
read -r said <&3 || true
connect_udp() { ipcb sock connect "udp:127.0.0.1:${said#ready }" <"$work/sock.bin"; }
check "sock connect udp: stdin as one datagram to a C server (port 0: its ready line)" 0 "" -- connect_udp
exec 3<&-
awaited 0 "$echo_pid" "  ... the C server received the datagram"

ipcb sock listen "unix:$work/l.sock" --count 2 >"$work/listened" 2>"$work/said" &
listen_pid=$!
exec 3<"$work/said"
read -r said <&3 || true
check "sock listen says it listens, on stderr" 0 "ipcbridge: listening on unix:$work/l.sock" -- echo "$said"
check "  ... its socket file has mode 0600" 0 "600 socket" -- stat -c '%a %F' "$work/l.sock"
check "sock_peer source of 100000 bytes -> sock listen" 0 "" -- "$sp" source "unix:$work/l.sock" 100000 3
check "sock_peer source of 5 more bytes (--count 2)" 0 "" -- "$sp" source "unix:$work/l.sock" 5 4
awaited 0 "$listen_pid" "  ... sock listen ended after 2 connections"
check "  ... and wrote nothing more on stderr" 0 "" -- cat <&3
exec 3<&-
expected_sum() { { "$peers/pipe_peer" source 1 100000 3; "$peers/pipe_peer" source 1 5 4; } | sha256sum; }
check "  ... stdout holds exactly what the two C sources sent" 0 "$(expected_sum)" -- sha256sum <"$work/listened"
check "  ... the socket file was removed" 1 "" -- test -e "$work/l.sock"

ipcb sock listen tcp:127.0.0.1:0 >"$work/listened" 2>"$work/said" &
listen_pid=$!
exec 3<"$work/said"
read -r said <&3 || true
tcp_address="${said#ipcbridge: listening on }"
check "sock listen tcp:127.0.0.1:0 names the port chosen" 0 "tcp:127.0.0.1:" -- echo "${tcp_address%:*}:"
check "sock_peer source over tcp -> sock listen" 0 "" -- "$sp" source "$tcp_address" 70000 9
awaited 0 "$listen_pid" "  ... sock listen ended"
exec 3<&-
check "  ... stdout holds what C sent" 0 "$("$peers/pipe_peer" source 1 70000 9 | sha256sum)" -- \
    sha256sum <"$work/listened"

check "sock connect to nothing: exit 1 (CLI-05, UDS-01)" 1 "" -- ipcb sock connect "unix:$work/nobody.sock"
check "  ... one line: connect(ADDRESS): ENOENT" 0 \
    "ipcbridge: connect(unix:$work/nobody.sock): ENOENT (No such file or directory)" -- \
    stderr_of ipcb sock connect "unix:$work/nobody.sock"
check "sock connect of a malformed address: exit 2" 2 "" -- ipcb sock connect tcp:127.0.0.1:99999
check "sock connect of a 108-byte path: exit 2 (UDS-03)" 2 "" -- ipcb sock connect "unix:/$(printf 'p%.0s' {1..107})"

# --- ls ------------------------------------------------------------------------------------------
ls_mine() { ipcb ls | grep -F "$prefix" | cut -f1,2; }
check "ls lists the queue, the semaphore, the segment and the ring (as a ring only)" 0 \
    "$(printf 'shm\t%s\nsem\t%s\nmq\t%s\nring\t%s' "$m" "$s" "$q" "$g")" -- ls_mine
ls_rings() { ipcb ls --type ring | grep -F "$prefix" | cut -f1-3; }
check "ls --type ring: the ring and its capacity" 0 "$(printf 'ring\t%s\t1024' "$g")" -- ls_rings

# --- reap ----------------------------------------------------------------------------------------
# A segment named after a shell that then ended (the README's form), and one named after this script,
# which runs: reap removes the first only (SHM-15).
r="$prefix-r"
left="$(sh -c 'n="$1.$$.$(sed -n "\$s/.*) //p" /proc/$$/stat | cut -d" " -f20).$(stat -Lc %i /proc/$$/ns/pid).left"
    : > "/dev/shm$n"; echo "$n $$"' sh "$r")"
mine="$r.$$.$(sed -n '$s/.*) //p' /proc/$$/stat | cut -d' ' -f20).$(stat -Lc %i /proc/$$/ns/pid).mine"
: > "/dev/shm$mine"
check "reap removes what a dead creator left: TYPE NAME PID" 0 "$(printf 'shm\t%s\t%s' "${left% *}" "${left#* }")" -- \
    ipcb reap "$r"
check "  ... and keeps this script's segment, whose creator runs" 0 "" -- test -e "/dev/shm$mine"
check "reap again: nothing left to remove" 0 "" -- ipcb reap "$r"

echo "$passed passed, $failed failed"
[[ "$failed" -eq 0 ]]
