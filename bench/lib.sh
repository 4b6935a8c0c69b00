# Shared helpers of the end-to-end benchmark scripts; sourced, not run.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$ROOT/target/bench-tools"
mkdir -p "$TOOLS"

# Builds the release binary and the corpus generator (benches is outside the default members).
build() {
    (cd "$ROOT" && cargo build --release -q -p shieldwall -p shieldwall-benches --bin shieldwall --bin gen-corpus)
    SHIELDWALL="$ROOT/target/release/shieldwall"
    GEN="$ROOT/target/release/gen-corpus"
}

# CPU seconds (user + system) a process has used so far, from /proc.
cpu_seconds() {
    local pid=$1 ticks
    ticks=$(getconf CLK_TCK)
    awk -v t="$ticks" '{ printf "%.2f", ($14 + $15) / t }' "/proc/$pid/stat"
}

# Waits until `count_cmd` prints at least $2, polling; gives up after $3 seconds.
wait_for_count() {
    local count_cmd=$1 want=$2 limit=$3 start now n
    start=$(date +%s.%N)
    while true; do
        n=$( (eval "$count_cmd") 2>/dev/null | tail -n 1 || true)
        [[ "$n" =~ ^[0-9]+$ ]] || n=0
        [ "$n" -ge "$want" ] && return 0
        now=$(date +%s.%N)
        if awk -v a="$now" -v b="$start" -v l="$limit" 'BEGIN { exit !(a - b > l) }'; then
            echo "timed out after ${limit}s with $n of $want" >&2
            return 1
        fi
        sleep 0.05
    done
}

median() { sort -g | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
