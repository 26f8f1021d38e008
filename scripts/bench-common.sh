# bench-common.sh -- sourced by scripts/bench-pipe, bench-mq, bench-shm and bench-sock: the part they share.
#
# bench_run NAME CLASS [ARGS...]
#   Takes --cpus LIST out of ARGS (everything then runs under `taskset -c LIST`: the JVM, the C
#   peers it spawns, bench-cc), builds target/ipcbridge.jar if it is missing (and says so if it is
#   older than src/main), builds the C peers if they are out of date, then execs the benchmark's
#   main CLASS with the other ARGS. NAME prefixes error messages.

bench_run() {
    local name="$1" class="$2"
    shift 2
    local root native
    root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
    native="$root/target/native-tests"
    cd "$root"

    local pin=() args=()
    while [ $# -gt 0 ]; do
        case "$1" in
            --cpus)
                [ $# -ge 2 ] || { echo "$name: --cpus needs a CPU list" >&2; exit 2; }
                pin=(taskset -c "$2")
                shift 2
                ;;
            *)
                args+=("$1")
                shift
                ;;
        esac
    done

    if [ ! -f target/ipcbridge.jar ]; then
        mvn -q -DskipTests package
    elif [ -n "$(find src/main -newer target/ipcbridge.jar -type f -print -quit)" ]; then
        echo "$name: note: target/ipcbridge.jar is older than src/main; mvn -q -DskipTests package rebuilds it" >&2
    fi
    make -s -C native-tests OUT="$native"

    exec "${pin[@]}" java --enable-native-access=ALL-UNNAMED -Dipcbridge.native.dir="$native" \
        -cp target/ipcbridge.jar "$class" "${args[@]}"
}
