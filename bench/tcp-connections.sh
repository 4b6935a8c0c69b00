#!/usr/bin/env bash
# Holds many concurrent TCP syslog connections against `shieldwall serve` and checks that each
# delivers: N clients connect and stay connected, each sends one message, the server's status
# must show N open connections at once, and after the clients close, N events must be stored.
# Reports the server's resident memory with all connections open.
#
#   bench/tcp-connections.sh [CONNECTIONS]     (default: 1000)
source "$(dirname "$0")/lib.sh"
N=${1:-1000}
build
WORK=$(mktemp -d)
PID=""
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
PORT=$(free_port)
cat > "$WORK/shieldwall.toml" <<CONF
data_dir = "data"
[api]
listen = "127.0.0.1:0"
[health]
check_secs = 1
[[sources]]
type = "syslog-tcp"
name = "many"
listen = "127.0.0.1:$PORT"
max_connections = $((N + 10))
CONF
"$SHIELDWALL" serve --config "$WORK/shieldwall.toml" --log warn > "$WORK/log" 2>&1 &
PID=$!
wait_for_count "ss -ltn | grep -c ':$PORT '" 1 20
RSS_IDLE=$(awk '/VmRSS/ { print $2 }' "/proc/$PID/status")
python3 - "$PORT" "$N" "$WORK" "$PID" <<'PY'
import json, os, resource, socket, sys, time
port, n, work, pid = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, n + 100)), hard))
socks = []
for i in range(n):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"<13>Nov 29 10:00:00 client-%d app: connection %d says hello\n" % (i, i))
    socks.append(s)
deadline = time.time() + 30
peak = 0
while time.time() < deadline:
    try:
        status = json.load(open(os.path.join(work, "data", "status.json")))
        peak = max(peak, status["sources"][0]["connections"])
        if peak >= n:
            break
    except (OSError, ValueError, KeyError, IndexError):
        pass
    time.sleep(0.2)
rss = [l.split()[1] for l in open("/proc/%s/status" % pid) if l.startswith("VmRSS")][0]
print("open connections seen by the server: %d of %d" % (peak, n))
print("server resident memory with them open: %s KiB" % rss)
for s in socks:
    s.close()
if peak < n:
    sys.exit("the server did not hold all connections at once")
PY
STORED="'$SHIELDWALL' search '*' --count --store '$WORK/data/store'"
wait_for_count "$STORED" "$N" 60
echo "events stored: $(eval "$STORED") of $N (idle server: ${RSS_IDLE} KiB resident)"
