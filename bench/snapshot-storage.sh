#!/usr/bin/env bash
# Raft's storage over a long run (issue 16, item 4): a fresh 3-node `ballot cluster raft` on
# 127.0.0.1 with `--snapshot-every N`, driven by `ballot bench raft` (per client, one operation
# at a time: put, put, linearizable get, cas over 8 keys; puts and cas go through the log, so
# --writes W asks for ceil(W / 0.75) operations), while the size of each node's storage files
# (storage.ballot + storage.journal, as `ls -l` counts them, preallocated journal included) is
# sampled every 0.5 s. Prints the bench's result and the largest size seen per node.
#
# Usage: bench/snapshot-storage.sh [--writes W] [--snapshot-every N] [--clients C]
#        [--ballot PATH] [--dir DIR] [--port P]
# Defaults: 100000 writes, --snapshot-every 1000 (the node's default), 8 clients,
# target/release/ballot, a temporary directory (removed at the end), ports 7700..7702.
# Exit codes: 0 done; 1 the cluster did not start or the bench failed; 2 usage.

set -eu

WRITES=100000
EVERY=1000
CLIENTS=8
BALLOT=target/release/ballot
DIR=""
PORT=7700

while [ $# -gt 0 ]; do
    case $1 in
    --writes) WRITES=$2 ;;
    --snapshot-every) EVERY=$2 ;;
    --clients) CLIENTS=$2 ;;
    --ballot) BALLOT=$2 ;;
    --dir) DIR=$2 ;;
    --port) PORT=$2 ;;
    -h | --help)
        sed -n '2,/^$/s/^# \{0,1\}//p' "$0"
        exit 0
        ;;
    *)
        echo "usage: $0 [--writes W] [--snapshot-every N] [--clients C] [--ballot PATH] [--dir DIR] [--port P]" >&2
        exit 2
        ;;
    esac
    shift 2
done

[ -x "$BALLOT" ] || {
    echo "error: no ballot executable at $BALLOT (cargo build --release)" >&2
    exit 2
}
KEEP=1
if [ -z "$DIR" ]; then
    DIR=$(mktemp -d "${TMPDIR:-/tmp}/ballot-snapshot-storage.XXXXXX")
    KEEP=0
fi
mkdir -p "$DIR"

# Operations per client: 3 of every 4 bench operations are writes.
OPS=$(((WRITES * 4 + 3 * CLIENTS - 1) / (3 * CLIENTS)))

"$BALLOT" cluster raft --nodes 3 --data "$DIR/data" --base-port "$PORT" \
    --snapshot-every "$EVERY" --log-level warn >"$DIR/cluster.log" 2>&1 &
CLUSTER=$!
SAMPLER=""
cleanup() {
    [ -n "$SAMPLER" ] && kill "$SAMPLER" 2>/dev/null || true
    kill "$CLUSTER" 2>/dev/null || true
    wait "$CLUSTER" 2>/dev/null || true
    [ "$KEEP" = 1 ] || rm -rf "$DIR"
}
trap cleanup EXIT

for _ in $(seq 50); do
    [ -s "$DIR/data/cluster.key" ] && break
    sleep 0.1
done
[ -s "$DIR/data/cluster.key" ] || {
    echo "error: the cluster did not start" >&2
    cat "$DIR/cluster.log" >&2
    exit 1
}
PEERS="127.0.0.1:$PORT,127.0.0.1:$((PORT + 1)),127.0.0.1:$((PORT + 2))"
AUTH="--key-file $DIR/data/cluster.key"

size() {
    local total=0 f
    for f in "$1/storage.ballot" "$1/storage.journal"; do
        [ -e "$f" ] && total=$((total + $(stat -c %s "$f")))
    done
    echo "$total"
}

# The sampler: one line per sample, "node0 node1 node2" bytes.
(
    while true; do
        echo "$(size "$DIR/data/node-0") $(size "$DIR/data/node-1") $(size "$DIR/data/node-2")"
        sleep 0.5
    done
) >"$DIR/sizes" &
SAMPLER=$!

# Ready: a few operations answered.
"$BALLOT" bench raft --peers "$PEERS" $AUTH --clients 1 --ops 4 >/dev/null

echo "# ballot bench raft --clients $CLIENTS --ops $OPS (about $WRITES writes), cluster --snapshot-every $EVERY"
echo "# $(date -u +%FT%TZ), load average: $(cut -d' ' -f1-3 /proc/loadavg)"
"$BALLOT" bench raft --peers "$PEERS" $AUTH --clients "$CLIENTS" --ops "$OPS" --timeout 10
echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
kill "$SAMPLER"
SAMPLER=""
echo "$(size "$DIR/data/node-0") $(size "$DIR/data/node-1") $(size "$DIR/data/node-2")" >>"$DIR/sizes"
awk '{ for (i = 1; i <= 3; i++) if ($i > m[i]) m[i] = $i }
     END { printf "max storage bytes per node: %d %d %d (%d samples)\n", m[1], m[2], m[3], NR }' "$DIR/sizes"
echo "final storage bytes per node: $(tail -1 "$DIR/sizes")"
