#!/usr/bin/env bash
# scripts/cli-interop.sh -- drives the ipcbridge command line from a shell script against the C peers
# of native-tests/ (mq_peer, sem_peer, shm_peer): message queues, semaphores and shared memory, both
# ways. RELIABILITY.md cases: CLI-01, CLI-02, CLI-03, MQ-10, MQ-12, SEM-06, SEM-09, SHM-09.
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
set -euo pipefail

root="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
peers="${NATIVE_DIR:-$root/native-tests/build}"
if [[ ! -x "$peers/mq_peer" || ! -x "$peers/sem_peer" || ! -x "$peers/shm_peer" ]]; then
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
work="$(mktemp -d)"
cleanup() {
    ipcb mq rm "$q" 2>/dev/null || true
    ipcb sem rm "$s" 2>/dev/null || true
    ipcb shm rm "$m" 2>/dev/null || true
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

# --- ls ------------------------------------------------------------------------------------------
ls_mine() { ipcb ls | grep -F "$prefix" | cut -f1,2; }
check "ls lists the queue, the semaphore and the segment" 0 \
    "$(printf 'shm\t%s\nsem\t%s\nmq\t%s' "$m" "$s" "$q")" -- ls_mine

echo "$passed passed, $failed failed"
[[ "$failed" -eq 0 ]]
