# Shared helpers of the end-to-end benchmark scripts; sourced, not run.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$ROOT/target/bench-tools"
mkdir -p "$TOOLS"

# The profile the binaries are built with: release, unless SHIELDWALL_BENCH_PROFILE names
# another. The test command runs each script once on tiny input with `dev`, which its test build
# has already compiled: such a run shows that the script still works, and its figures mean
# nothing.
PROFILE=${SHIELDWALL_BENCH_PROFILE:-release}

# Builds the shieldwall binary and every benchmark tool (benches is outside the default members)
# with one command, the same for every script, so a second script rebuilds nothing; sets BIN,
# SHIELDWALL and GEN (the corpus generator).
build() {
    (cd "$ROOT" && cargo build --profile "$PROFILE" -q -p shieldwall -p shieldwall-benches --bins)
    local dir=$PROFILE
    case "$PROFILE" in dev | test) dir=debug ;; bench) dir=release ;; esac
    BIN="${CARGO_TARGET_DIR:-$ROOT/target}/$dir"
    SHIELDWALL="$BIN/shieldwall"
    GEN="$BIN/gen-corpus"
    if [ "$PROFILE" != release ]; then
        echo "built with the $PROFILE profile: this run checks that the script works; its figures are not measurements" >&2
    fi
}

# CPU seconds (user + system) a process has used so far, from /proc.
cpu_seconds() {
    local pid=$1 ticks
    ticks=$(getconf CLK_TCK)
    awk -v t="$ticks" '{ printf "%.2f", ($14 + $15) / t }' "/proc/$pid/stat"
}

# Waits until `count_cmd` prints at least $2, polling every $POLL_INTERVAL seconds (default
# 0.05); gives up after $3 seconds.
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
        sleep "${POLL_INTERVAL:-0.05}"
    done
}

median() { sort -g | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

# Stops unless the disk under $WORK has room for a store of $1 events: 1,000 bytes per event
# (a store takes 500 to 700, and merges need room for a second copy of a day while they run)
# and 1 GiB to spare. Sets AVAIL_KB.
need_disk_for_events() {
    local need_kb=$(( $1 * 1000 / 1024 + 1024 * 1024 ))
    AVAIL_KB=$(df -Pk "$WORK" | awk 'NR == 2 { print $4 }')
    if [ "$AVAIL_KB" -lt "$need_kb" ]; then
        echo "not enough free disk under $WORK: $((AVAIL_KB / 1024)) MiB free, want $((need_kb / 1024)) MiB" >&2
        exit 1
    fi
}

# Makes the first administrator of the configuration $WORK/shieldwall.toml (whose API listens
# on 127.0.0.1:$API_PORT) and starts `shieldwall serve` on it with the extra arguments given,
# logging to $WORK/serve.log; returns once it is ready. Sets PASSWORD, SECRET (the
# administrator's TOTP secret, base32) and CA; adds the server to PIDS.
start_server() {
    PASSWORD="bench administrator passphrase"
    SECRET=$(printf '%s\n' "$PASSWORD" | "$SHIELDWALL" admin init --config "$WORK/shieldwall.toml" --name admin --password-stdin \
        | awk '/secret \(base32\)/ { print $3 }')
    "$SHIELDWALL" serve --config "$WORK/shieldwall.toml" "$@" > "$WORK/serve.log" 2>&1 &
    PIDS+=($!)
    CA="$WORK/data/tls/api-cert.pem"
    for _ in $(seq 1 600); do
        curl -s --cacert "$CA" "https://127.0.0.1:$API_PORT/ready" 2>/dev/null | grep -q '"ok"' && break
        sleep 0.1
    done
    curl -s --fail --cacert "$CA" "https://127.0.0.1:$API_PORT/ready" > /dev/null \
        || { echo "the server did not become ready:" >&2; tail -20 "$WORK/serve.log" >&2; exit 1; }
}

# The sender of the TCP benchmarks.
need_socat() {
    command -v socat >/dev/null || { echo "installing socat"; DEBIAN_FRONTEND=noninteractive apt-get install -y -q socat >/dev/null; }
}

# syslog-ng from Debian's package, extracted into $TOOLS/syslog-ng without installing it (it
# conflicts with rsyslog, which the tests use); sets SNG_ROOT and SNG_VERSION.
fetch_syslog_ng() {
    SNG_ROOT="$TOOLS/syslog-ng"
    if [ ! -x "$SNG_ROOT/usr/sbin/syslog-ng" ]; then
        echo "fetching syslog-ng-core from Debian (not installed; extracted into $SNG_ROOT)"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q libivykis0 libnet1 libjson-c5 libwrap0 libpcre3 >/dev/null
        (cd "$TOOLS" && apt-get download -q syslog-ng-core >/dev/null 2>&1 && dpkg -x syslog-ng-core_*.deb "$SNG_ROOT" && rm -f syslog-ng-core_*.deb)
    fi
    SNG_VERSION=$(LD_LIBRARY_PATH="$SNG_ROOT/usr/lib/x86_64-linux-gnu:$SNG_ROOT/usr/lib/syslog-ng" "$SNG_ROOT/usr/sbin/syslog-ng" --version | head -1)
}

# The TCP runs below use the caller's WORK (the corpus is $WORK/corpus), LINES, PIDS (daemons
# to kill on exit) and MEASURE_OUT (where each run appends "events_per_s cpu_s").

# syslog-ng 3.38: network() source over TCP (newline framing), its syslog header parser, and a
# file destination of one JSON object a line; run $1 of the caller's series.
run_syslog_ng() {
    local port out dir
    port=$(free_port); dir="$WORK/sng.$1"; mkdir -p "$dir"; out="$dir/out.json"
    cat > "$dir/syslog-ng.conf" <<CONF
@version: 3.38
options { threaded(yes); log-fetch-limit(1000); log-iw-size(100000); flush-lines(1000); };
source s_tcp { network(ip("127.0.0.1") port($port) transport("tcp") max-connections(10) log-msg-size(65536)); };
destination d_json { file("$out" template("\$(format-json --scope rfc5424 --scope nv-pairs)\n")); };
log { source(s_tcp); destination(d_json); };
CONF
    LD_LIBRARY_PATH="$SNG_ROOT/usr/lib/x86_64-linux-gnu:$SNG_ROOT/usr/lib/syslog-ng" \
        "$SNG_ROOT/usr/sbin/syslog-ng" --module-path="$SNG_ROOT/usr/lib/syslog-ng/3.38" \
        -f "$dir/syslog-ng.conf" -F --no-caps -p "$dir/pid" -R "$dir/persist" -c "$dir/ctl" \
        > "$dir/log" 2>&1 &
    local pid=$!; PIDS+=("$pid")
    wait_for_count "ss -ltn | grep -c ':$port '" 1 20
    measure_run "$pid" "$port" "wc -l < '$out'"
    kill "$pid"; wait "$pid" 2>/dev/null || true
}

# Sends the corpus with socat and waits until `count-command` prints LINES (at most $WAIT_LIMIT
# seconds, default 600); appends the rate (wall time from the first byte sent) and the daemon's
# CPU seconds to MEASURE_OUT.
measure_run() { # pid port count-command -> prints "events_per_s cpu_s"
    local pid=$1 port=$2 count=$3 cpu0 cpu1 t0 t1
    cpu0=$(cpu_seconds "$pid"); t0=$(date +%s.%N)
    socat -u "OPEN:$WORK/corpus" "TCP:127.0.0.1:$port"
    wait_for_count "$count" "$LINES" "${WAIT_LIMIT:-600}"
    t1=$(date +%s.%N); cpu1=$(cpu_seconds "$pid")
    awk -v n="$LINES" -v a="$t0" -v b="$t1" -v c0="$cpu0" -v c1="$cpu1" \
        'BEGIN { printf "%.0f %.2f\n", n / (b - a), c1 - c0 }' >> "$MEASURE_OUT"
}
