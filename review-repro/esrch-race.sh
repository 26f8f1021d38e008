#!/bin/sh
# review-repro/esrch-race.sh [SECONDS] [CLASSES_DIR]: churn.py forks short-lived creators (each
# names a file after itself and ends at once) while ReapLoop reaps their prefix in a loop.
# Expected: no reap throws. Before the fix, about 1 reap in 1,000 threw
# "java.io.IOException: No such process" (ESRCH: the creator was released between the open and
# the read of /proc/PID/stat), failing the whole reap.
set -e
secs="${1:-10}"
root="$(cd "$(dirname "$0")/.." && pwd)"
classes="${2:-$root/target/classes}"
work="$(mktemp -d)"
(cd "$root" && mvn -q -o dependency:build-classpath -Dmdep.outputFile="$work/cp.txt" >/dev/null)
cp="$classes:$(cat "$work/cp.txt")"
javac -d "$work" -cp "$cp" "$root/review-repro/ReapLoop.java"
python3 "$root/review-repro/churn.py" esrch-race "$secs" &
java -cp "$work:$cp" ReapLoop esrch-race "$secs" > "$work/log"
wait
echo "$(grep -c threw "$work/log") reaps threw; $(tail -1 "$work/log")"
grep threw "$work/log" | head -3
rm -f /dev/shm/esrch-race.*; rm -rf "$work"
