#!/bin/sh
# review-repro/hidepid.sh HIDEPID [CLASSES_DIR]: as root, in a private mount namespace with /proc
# mounted hidepid=HIDEPID (1 = noaccess, 2 = invisible), uid 65534 runs a non-dumpable Python
# creator (as ssh-agent and gpg-agent make themselves) that names a segment after itself, then
# `ipcbridge reap` as uid 65534. Expected: no output, exit 0, the creator's segment kept.
# Before the fix: hidepid=2 reaps the running creator's segment; hidepid=1 fails the whole reap
# (exit 1, "ipcbridge: open(/proc/PID/stat): EPERM (Operation not permitted)").
# Usage: unshare -m --propagation private sh review-repro/hidepid.sh 2
set -e
hp="${1:-2}"
root="$(cd "$(dirname "$0")/.." && pwd)"
classes="${2:-$root/target/classes}"
work="$(mktemp -d)"; chmod 755 "$work"
(cd "$root" && mvn -q -o dependency:build-classpath -Dmdep.outputFile="$work/cp.txt" >/dev/null)
mkdir "$work/cp"; for j in $(tr ':' '\n' < "$work/cp.txt"); do cp "$j" "$work/cp/"; done
cp -r "$classes" "$work/cp/classes"; chmod -R a+rX "$work"
cat > "$work/creator.py" <<'PY'
import ctypes, os, sys, time
start = open('/proc/self/stat').read().rsplit(')', 1)[1].split()[19]
name = 'hp%s.%d.%s.%d.agent' % (sys.argv[1], os.getpid(), start, os.stat('/proc/self/ns/pid').st_ino)
open('/dev/shm/' + name, 'w').close()
ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE 0
print('/' + name, os.getpid(), flush=True)
sys.stdin.read()
PY
mount -t proc -o hidepid="$hp" proc /proc
mkfifo "$work/in"; exec 3<>"$work/in"
setpriv --reuid=65534 --regid=65534 --clear-groups /usr/bin/python3 "$work/creator.py" "$hp" <"$work/in" >"$work/out" 3>&- &
while [ ! -s "$work/out" ]; do sleep 0.1; done
read -r name pid < "$work/out"
echo "creator $pid made $name"
set +e
setpriv --reuid=65534 --regid=65534 --clear-groups java -cp "$work/cp/classes:$work/cp/*" io.ipcbridge.cli.Main reap "hp$hp"
echo "reap exit $?"
kill -0 "$pid" && echo "creator $pid runs"
[ -e "/dev/shm$name" ] && echo "KEPT $name" || echo "REMOVED $name (its creator runs)"
exec 3>&-; wait; rm -f "/dev/shm$name"; rm -rf "$work"
