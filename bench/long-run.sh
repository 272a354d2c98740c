#!/usr/bin/env bash
# One Ballot cluster under load for a while: does it hold its pace as its storage grows?
#
# Starts a fresh 3-node `ballot cluster PROTOCOL` on 127.0.0.1 in a new directory under --dir,
# waits until it answers, then runs `ballot bench PROTOCOL --clients C --duration SECS` RUNS
# times back to back on the same cluster, printing after each run its throughput and latency,
# the size of node 0's data directory and the three nodes' resident memory; at the end, what
# the nodes' counters (`ballot client stats`) say: slow batches, the longest save, and each
# node's role and term (Raft) or promised ballot (Multi-Paxos). Stops the cluster and deletes
# its data.
#
# Usage: bench/long-run.sh PROTOCOL [--runs N] [--duration SECS] [--clients C] [--ballot PATH]
#        [--dir DIR] [--base-port PORT]
# PROTOCOL: raft or multi-paxos. Defaults: 4 runs of 15 s, 64 clients, target/release/ballot,
# $TMPDIR or /tmp, ports 7700..7702.
# Exit codes: 0 done; 1 the cluster did not start or a run gave no result; 2 usage.

set -eu

RUNS=4
DURATION=15
CLIENTS=64
BALLOT=target/release/ballot
PARENT=${TMPDIR:-/tmp}
PORT=7700

usage() {
    sed -n '2,/^$/s/^# \{0,1\}//p' "$0"
}

[ $# -ge 1 ] || { usage >&2; exit 2; }
case $1 in
-h | --help) usage; exit 0 ;;
raft | multi-paxos) PROTOCOL=$1 ;;
*) echo "error: unknown protocol '$1' (raft, multi-paxos)" >&2; exit 2 ;;
esac
shift
while [ $# -gt 0 ]; do
    case $1 in
    --runs | --duration | --clients | --ballot | --dir | --base-port)
        [ $# -ge 2 ] || { echo "error: $1 needs a value" >&2; exit 2; }
        case $1 in
        --runs) RUNS=$2 ;;
        --duration) DURATION=$2 ;;
        --clients) CLIENTS=$2 ;;
        --ballot) BALLOT=$2 ;;
        --dir) PARENT=$2 ;;
        --base-port) PORT=$2 ;;
        esac
        shift
        ;;
    -h | --help) usage; exit 0 ;;
    *) echo "error: unknown argument $1" >&2; usage >&2; exit 2 ;;
    esac
    shift
done
case $RUNS in '' | *[!0-9]* | 0) echo "error: --runs must be a positive integer" >&2; exit 2 ;; esac
[ -x "$BALLOT" ] || { echo "error: no ballot executable at $BALLOT (cargo build --release, or --ballot PATH)" >&2; exit 2; }

mkdir -p "$PARENT"
WORK=$(mktemp -d "$PARENT/ballot-long-run.XXXXXX")
CLUSTER=""
cleanup() {
    if [ -n "$CLUSTER" ]; then
        kill -TERM "$CLUSTER" 2>/dev/null || true
        wait "$CLUSTER" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

DATA=$WORK/data
PEERS=127.0.0.1:$PORT,127.0.0.1:$((PORT + 1)),127.0.0.1:$((PORT + 2))
"$BALLOT" cluster "$PROTOCOL" --nodes 3 --data "$DATA" --base-port "$PORT" >"$WORK/cluster.log" 2>&1 &
CLUSTER=$!
for _ in $(seq 100); do
    [ -s "$DATA/cluster.key" ] && break
    sleep 0.1
done
[ -s "$DATA/cluster.key" ] || { echo "error: the cluster wrote no key file" >&2; tail -n 15 "$WORK/cluster.log" >&2; exit 1; }
AUTH="--key-file $DATA/cluster.key"
# shellcheck disable=SC2086
"$BALLOT" bench "$PROTOCOL" --peers "$PEERS" $AUTH --clients 1 --ops 4 --timeout 30 >/dev/null 2>&1 ||
    { echo "error: the cluster did not answer" >&2; tail -n 15 "$WORK/cluster.log" >&2; exit 1; }

# json FIELD FILE: a number from `ballot bench --json`'s one-line object.
json() {
    sed -n "s/.*\"$1\":\([^,}]*\).*/\1/p" "$2"
}

echo "# $PROTOCOL, $CLIENTS clients, $RUNS runs of $DURATION s back to back on one cluster; $(nproc) cores; load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
for run in $(seq "$RUNS"); do
    # shellcheck disable=SC2086
    "$BALLOT" bench "$PROTOCOL" --peers "$PEERS" $AUTH --clients "$CLIENTS" --duration "$DURATION" \
        --json >"$WORK/run.json" 2>"$WORK/run.err" || true
    [ -s "$WORK/run.json" ] || { echo "error: run $run gave no result" >&2; cat "$WORK/run.err" >&2; exit 1; }
    rss=""
    for i in 0 1 2; do
        pid=$(pgrep -f " node $PROTOCOL --id $i .*--data $DATA/node-$i" | head -n 1 || true)
        rss="$rss $( [ -n "$pid" ] && ps -o rss= -p "$pid" | awk '{ printf "%.0f", $1 / 1024 }' || echo '?')"
    done
    printf 'run %d: %8.0f ops/s  p99 %7.2f ms  max %7.2f ms  failed %s  node 0 data %s  nodes'"'"' memory (MiB):%s\n' \
        "$run" "$(json ops_per_s "$WORK/run.json")" "$(json p99_ms "$WORK/run.json")" \
        "$(json max_ms "$WORK/run.json")" "$(json failed "$WORK/run.json")" \
        "$(du -sh "$DATA/node-0" | cut -f1)" "$rss"
done
# shellcheck disable=SC2086
"$BALLOT" client --peers "$PEERS" $AUTH stats 2>/dev/null >"$WORK/stats" || true
awk '
function field(name) { return match($0, "\"" name "\":[0-9]+") ? substr($0, RSTART + length(name) + 3, RLENGTH - length(name) - 3) + 0 : 0 }
{ n++; slow += field("slow_batches"); s = field("save_max_us"); if (s > save) save = s }
END { printf "nodes: %d answered; slow batches %d; longest save %.1f ms\n", n, slow, save / 1000 }' "$WORK/stats"
echo "roles: $(grep -o '"promised":[^,}]*\|"role":"[a-z]*"\|"term":[0-9]*' "$WORK/stats" | sed 's/"//g' | tr '\n' ' ')"
