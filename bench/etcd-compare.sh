#!/usr/bin/env bash
# Ballot's Raft and Multi-Paxos side by side with etcd (issue 15, item 6).
#
# For each client count and repetition, starts a fresh 3-member etcd cluster and fresh 3-node
# `ballot cluster`s (raft, multi-paxos) on 127.0.0.1, one system at a time, in a temporary
# directory; runs the same workload against each with `ballot bench SYSTEM --duration SECS`
# (the same client loop, operations and latency recording: per client, one operation at a
# time, put, put, linearizable get, cas over 8 keys); tears the cluster down; and prints a table
# with throughput and latency and the ratios Ballot / etcd per repetition (min and median).
# The systems are interleaved, and their order rotates from one repetition to the next.
# After each Ballot run it prints what the nodes' counters (`ballot client stats`) say of it:
# slow batches, the longest save, datagrams dropped at each node's socket, and whether
# leadership changed (a term or ballot that moved during the run); with --results FILE, every
# node's counters go to FILE's name with .nodes.tsv for .tsv.
#
# It installs nothing: it uses the `etcd` on PATH (Debian: apt-get install etcd-server), with
# its defaults (WAL fsync on), and target/release/ballot (cargo build --release).
#
# Usage: bench/etcd-compare.sh [--quick] [--duration SECS] [--reps N] [--clients "1 4 16 64"]
#        [--systems "etcd raft multi-paxos"] [--ballot PATH] [--dir DIR] [--results FILE]
# Exit codes: 0 done; 1 a cluster did not start or a run failed to produce a result; 2 usage,
# or etcd / ballot missing.

set -eu

DURATION=5
REPS=3
CLIENTS="1 4 16 64"
SYSTEMS="etcd raft multi-paxos"
BALLOT=target/release/ballot
PARENT=${TMPDIR:-/tmp}
RESULTS=""
ETCD_CLIENT_PORT=23790 # members' client URLs: 23790..23792
ETCD_PEER_PORT=23800   # members' peer URLs: 23800..23802
BALLOT_PORT=7600       # Ballot nodes: 7600..7602 (UDP)
KEYS=8

usage() {
    sed -n '2,/^$/s/^# \{0,1\}//p' "$0"
}

while [ $# -gt 0 ]; do
    case $1 in
    --quick)
        REPS=1
        CLIENTS="1 16"
        DURATION=2
        ;;
    --duration | --reps | --clients | --systems | --ballot | --dir | --results)
        [ $# -ge 2 ] || {
            echo "error: $1 needs a value" >&2
            exit 2
        }
        case $1 in
        --duration) DURATION=$2 ;;
        --reps) REPS=$2 ;;
        --clients) CLIENTS=$(echo "$2" | tr ',' ' ') ;;
        --systems) SYSTEMS=$(echo "$2" | tr ',' ' ') ;;
        --ballot) BALLOT=$2 ;;
        --dir) PARENT=$2 ;;
        --results) RESULTS=$2 ;;
        esac
        shift
        ;;
    -h | --help)
        usage
        exit 0
        ;;
    *)
        echo "error: unknown argument $1" >&2
        usage >&2
        exit 2
        ;;
    esac
    shift
done

case $REPS in '' | *[!0-9]* | 0)
    echo "error: --reps must be a positive integer, got '$REPS'" >&2
    exit 2
    ;;
esac
for s in $SYSTEMS; do
    case $s in etcd | raft | multi-paxos) ;; *)
        echo "error: --systems: unknown system '$s' (etcd, raft, multi-paxos)" >&2
        exit 2
        ;;
    esac
done
case " $SYSTEMS " in *" etcd "*) ;; *)
    echo "error: --systems must include etcd (the ratios are to etcd)" >&2
    exit 2
    ;;
esac

if ! command -v etcd >/dev/null 2>&1; then
    cat >&2 <<EOF
error: no etcd on PATH. This script installs nothing; on Debian or Ubuntu install etcd with
  apt-get install etcd-server
(as root; the package's service is not needed: the script starts its own members), or put an
etcd 3.4+ binary on PATH.
EOF
    exit 2
fi
if [ ! -x "$BALLOT" ]; then
    echo "error: no ballot executable at $BALLOT: run \`cargo build --release\` from the repository root, or pass --ballot PATH" >&2
    exit 2
fi

mkdir -p "$PARENT" || { echo "error: cannot create the directory $PARENT" >&2; exit 2; }
WORK=$(mktemp -d "$PARENT/ballot-etcd-compare.XXXXXX")
PIDS=""
cleanup() {
    for p in $PIDS; do
        kill -TERM "$p" 2>/dev/null || true
    done
    for p in $PIDS; do
        wait "$p" 2>/dev/null || true
    done
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

RAW=$WORK/results.tsv
: >"$RAW"

# forget PID...: no longer ours to stop.
forget() {
    local keep="" p
    for p in $PIDS; do
        case " $* " in *" $p "*) ;; *) keep="$keep $p" ;; esac
    done
    PIDS=$keep
}

# stop PID...: SIGTERM, then wait (ballot cluster stops its nodes; etcd members exit).
stop() {
    local p
    for p in "$@"; do
        kill -TERM "$p" 2>/dev/null || true
    done
    for p in "$@"; do
        wait "$p" 2>/dev/null || true
    done
    forget "$@"
}

# run CMD...: runs CMD in the background and waits for it, so that Ctrl-C or SIGTERM stops the
# script at once (bash runs a trap only once the foreground command has ended).
run() {
    local p rc=0
    "$@" &
    p=$!
    PIDS="$PIDS $p"
    wait "$p" || rc=$?
    forget "$p"
    return "$rc"
}

# fail MESSAGE LOG...: prints the message and the end of each log, exits 1.
fail() {
    echo "error: $1" >&2
    shift
    for f in "$@"; do
        [ -f "$f" ] && {
            echo "--- $f (last lines)" >&2
            tail -n 15 "$f" >&2
        }
    done
    exit 1
}

# start_etcd DIR: a fresh 3-member cluster; sets CLUSTER_PIDS, PEERS, AUTH, LOGS.
start_etcd() {
    local dir=$1 i initial="" token
    token=compare-$(basename "$dir")
    for i in 0 1 2; do
        initial="$initial${initial:+,}e$i=http://127.0.0.1:$((ETCD_PEER_PORT + i))"
    done
    CLUSTER_PIDS=""
    PEERS=""
    LOGS=""
    for i in 0 1 2; do
        etcd --name "e$i" --data-dir "$dir/e$i" \
            --listen-client-urls "http://127.0.0.1:$((ETCD_CLIENT_PORT + i))" \
            --advertise-client-urls "http://127.0.0.1:$((ETCD_CLIENT_PORT + i))" \
            --listen-peer-urls "http://127.0.0.1:$((ETCD_PEER_PORT + i))" \
            --initial-advertise-peer-urls "http://127.0.0.1:$((ETCD_PEER_PORT + i))" \
            --initial-cluster "$initial" --initial-cluster-token "$token" \
            --initial-cluster-state new --logger zap --log-outputs stderr \
            >"$dir/e$i.log" 2>&1 &
        CLUSTER_PIDS="$CLUSTER_PIDS $!"
        PEERS="$PEERS${PEERS:+,}127.0.0.1:$((ETCD_CLIENT_PORT + i))"
        LOGS="$LOGS $dir/e$i.log"
    done
    PIDS="$PIDS $CLUSTER_PIDS"
    AUTH=""
}

# start_ballot PROTOCOL DIR: a fresh 3-node `ballot cluster`; sets the same variables.
start_ballot() {
    local protocol=$1 dir=$2 i
    "$BALLOT" cluster "$protocol" --nodes 3 --data "$dir" --base-port "$BALLOT_PORT" \
        >"$dir.log" 2>&1 &
    CLUSTER_PIDS=$!
    PIDS="$PIDS $CLUSTER_PIDS"
    LOGS="$dir.log"
    PEERS=""
    for i in 0 1 2; do
        PEERS="$PEERS${PEERS:+,}127.0.0.1:$((BALLOT_PORT + i))"
    done
    for i in $(seq 100); do
        [ -s "$dir/cluster.key" ] && break
        sleep 0.1
    done
    [ -s "$dir/cluster.key" ] || fail "ballot cluster $protocol wrote no key file" $LOGS
    AUTH="--key-file $dir/cluster.key"
}

# The kernel's count of UDP datagrams dropped for a full receive buffer, machine-wide
# (RcvbufErrors in /proc/net/snmp; 0 where that file is not there).
rcvbuf_errors() {
    awk '/^Udp:/ { n++; if (n == 1) { for (i = 1; i <= NF; i++) if ($i == "RcvbufErrors") k = i } else { print $k; found = 1; exit } }
        END { if (!found) print 0 }' /proc/net/snmp 2>/dev/null || echo 0
}

# node_stats FILE: each Ballot node's `ballot client stats` (one JSON object a line) into FILE.
node_stats() {
    # shellcheck disable=SC2086
    "$BALLOT" client --peers "$PEERS" $AUTH stats >"$1" 2>/dev/null || true
}

# leadership FILE: each node's role and term (Raft) or promised ballot (Multi-Paxos), from
# node_stats: the same before and after a run unless leadership changed during it.
leadership() {
    grep -o '"promised":[^,}]*\|"role":"[a-z]*"\|"term":[0-9]*' "$1" | sed 's/"//g' | tr '\n' ' '
}

# node_summary FILE: what the nodes' counters say of a run (from node_stats): batches longer
# than the runtime's slow-batch bound, the longest save, and the datagrams each node's own
# socket lost for a full buffer (summed over the nodes; counted since the nodes started).
node_summary() {
    awk '
    function field(name,    m) { return match($0, "\"" name "\":[0-9]+") ? substr($0, RSTART + length(name) + 3, RLENGTH - length(name) - 3) + 0 : 0 }
    { n++; slow += field("slow_batches"); drops += field("kernel_drops"); s = field("save_max_us"); if (s > save) save = s }
    END { printf "%d node(s) answered: slow batches %d, longest save %.1f ms, socket drops %d", n, slow, save / 1000, drops }' "$1"
}

# json FIELD FILE: a number (or null) from `ballot bench --json`'s one-line object.
json() {
    sed -n "s/.*\"$1\":\([^,}]*\).*/\1/p" "$2"
}

ETCD_VERSION=$(etcd --version 2>/dev/null | sed -n 's/^etcd Version: //p')
COMMIT=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
FSTYPE=$(df -T "$WORK" 2>/dev/null | awk 'NR == 2 { print $2 }')
echo "# etcd $ETCD_VERSION (WAL fsync on: its defaults), ballot $BALLOT at $COMMIT"
echo "# data in $WORK ($FSTYPE); $(nproc) cores; load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# clients: $CLIENTS; $REPS repetition(s) of $DURATION s per system; keys: $KEYS"
if [ "$FSTYPE" = tmpfs ]; then
    echo "# warning: $WORK is on tmpfs: fsync costs nothing there; use --dir DIR on a disk" >&2
fi

RUN=0
for c in $CLIENTS; do
    for rep in $(seq "$REPS"); do
        # Rotate the order: repetition r starts with the (r-1)-th system.
        set -- $SYSTEMS
        n=$#
        order=""
        for k in $(seq 0 $((n - 1))); do
            idx=$(((k + rep - 1) % n + 1))
            eval "order=\"\$order \${$idx}\""
        done
        for sys in $order; do
            RUN=$((RUN + 1))
            dir=$WORK/run-$RUN-$sys
            mkdir -p "$dir"
            case $sys in
            etcd) start_etcd "$dir" ;;
            *) start_ballot "$sys" "$dir" ;;
            esac
            # Ready: a few operations answered (the clients retry until the cluster is up and
            # has a leader). Not measured.
            # shellcheck disable=SC2086
            run "$BALLOT" bench "$sys" --peers "$PEERS" $AUTH --clients 1 --ops 4 --keys "$KEYS" \
                --timeout 30 >"$dir.warmup" 2>&1 ||
                fail "$sys did not answer (run $RUN)" "$dir.warmup" $LOGS
            [ "$sys" = etcd ] || node_stats "$dir.before"
            load=$(cut -d' ' -f1 /proc/loadavg)
            drops_before=$(rcvbuf_errors)
            # shellcheck disable=SC2086
            run "$BALLOT" bench "$sys" --peers "$PEERS" $AUTH --clients "$c" --keys "$KEYS" \
                --duration "$DURATION" --json >"$dir.json" 2>"$dir.err" || true
            drops=$(($(rcvbuf_errors) - drops_before))
            [ -s "$dir.json" ] || fail "no result from $sys (run $RUN)" "$dir.err" $LOGS
            [ "$sys" = etcd ] || node_stats "$dir.after"
            # shellcheck disable=SC2086
            stop $CLUSTER_PIDS
            ops=$(json ops_per_s "$dir.json")
            p50=$(json p50_ms "$dir.json")
            p99=$(json p99_ms "$dir.json")
            max=$(json max_ms "$dir.json")
            failed=$(json failed "$dir.json")
            # Ballot's clients count the attempts that got no answer and were sent again.
            unanswered=$(json unanswered_attempts "$dir.json")
printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
                "$c" "$rep" "$sys" "$ops" "$p50" "$p99" "$max" "$failed" "$load" "$drops" >>"$RAW"
            printf '# run %d: %2d clients, rep %d, %-11s %8.0f ops/s  p50 %7.2f ms  p99 %7.2f ms  max %7.2f ms  failed %s  kernel drops %s  load %s%s\n' \
                "$RUN" "$c" "$rep" "$sys" "$ops" "$p50" "$p99" "$max" "$failed" "$drops" "$load" \
                "$([ "${unanswered:-null}" = null ] || echo "  unanswered attempts $unanswered")"
            [ "$failed" = 0 ] || sed 's/^/#   /' "$dir.err"
            if [ "$sys" != etcd ]; then
                before=$(leadership "$dir.before")
                after=$(leadership "$dir.after")
                if [ "$before" = "$after" ]; then
                    changed="leadership unchanged"
                else
                    changed="LEADERSHIP CHANGED: before: $before; after: $after"
                fi
                echo "#   nodes: $(node_summary "$dir.after"); $changed"
                if [ -n "$RESULTS" ]; then
                    # Every node's counters after the run, with the run they belong to.
                    sed "s/^/$RUN\t$c\t$rep\t$sys\t/" "$dir.after" >>"$WORK/nodes.tsv"
                fi
            fi
            rm -rf "$dir"
        done
    done
done

if [ -n "$RESULTS" ]; then
    mkdir -p "$(dirname "$RESULTS")"
    {
        printf 'clients\trep\tsystem\tops_per_s\tp50_ms\tp99_ms\tmax_ms\tfailed\tload1\tkernel_drops\n'
        cat "$RAW"
    } >"$RESULTS"
    if [ -s "$WORK/nodes.tsv" ]; then
        {
            printf 'run\tclients\trep\tsystem\tstats\n'
            cat "$WORK/nodes.tsv"
        } >"${RESULTS%.tsv}.nodes.tsv"
    fi
fi

echo
echo "Medians over $REPS repetition(s) of $DURATION s; ratios Ballot / etcd are taken per"
echo "repetition (the runs of one repetition are next to each other) and summarized: throughput"
echo "ratio min and median (higher is better), p99 ratio median and max (lower is better); max ms is"
echo "the slowest operation of all repetitions; kernel drops: UDP datagrams the kernel dropped for"
echo "a full receive buffer during the runs (machine-wide RcvbufErrors), summed."
echo
awk -F'\t' -v systems="$SYSTEMS" -v clients="$CLIENTS" '
function median(a, n,    i, j, t) {
    for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
function minimum(a, n,    i, m) { m = a[1]; for (i = 2; i <= n; i++) if (a[i] < m) m = a[i]; return m }
function maximum(a, n,    i, m) { m = a[1]; for (i = 2; i <= n; i++) if (a[i] > m) m = a[i]; return m }
{ ops[$1, $3, $2] = $4; p50[$1, $3, $2] = $5; p99[$1, $3, $2] = $6; fail[$1, $3] += $8; drops[$1, $3] += $10
  if ($7 > worst[$1, $3]) worst[$1, $3] = $7; reps[$1] = ($2 > reps[$1] ? $2 : reps[$1]) }
END {
    ns = split(systems, S, " "); nc = split(clients, C, " ")
    print "| clients | system | ops/s (median) | ops/s (min) | p50 ms | p99 ms | max ms | failed | kernel drops | ops/s ÷ etcd: min, median | p99 ÷ etcd: median, max |"
    print "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    for (ci = 1; ci <= nc; ci++) {
        c = C[ci]; n = reps[c]
        for (si = 1; si <= ns; si++) {
            s = S[si]
            for (r = 1; r <= n; r++) { a[r] = ops[c, s, r]; b[r] = p50[c, s, r]; d[r] = p99[c, s, r] }
            line = sprintf("| %s | %s | %.0f | %.0f | %.2f | %.2f | %.1f | %d | %d |", c, s, median(a, n), minimum(a, n), median(b, n), median(d, n), worst[c, s], fail[c, s], drops[c, s])
            if (s == "etcd") { print line " | |"; continue }
            for (r = 1; r <= n; r++) {
                t[r] = ops[c, "etcd", r] > 0 ? ops[c, s, r] / ops[c, "etcd", r] : 0
                q[r] = p99[c, "etcd", r] > 0 ? p99[c, s, r] / p99[c, "etcd", r] : 0
            }
            print line sprintf(" %.2f, %.2f | %.2f, %.2f |", minimum(t, n), median(t, n), median(q, n), maximum(q, n))
        }
    }
}' "$RAW"
echo
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
