#!/usr/bin/env bash
# The performance numbers in BENCHMARKS.md, measured again: `scripts/bench.sh`.
#
# A release build of tourgate in demo mode (SQLite, its in-process Knock sandbox answering
# available-times 150 ms late), beside a bare actix-web handler serving the same landing-page
# bytes (crates/bench-bare), in the same run. Landing page: wrk at 64 connections. Booking
# posts and access callbacks: crates/bench-bare's bench-drive (a CSRF token and form key per
# post; a Standard Webhooks signature per callback). Writes BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."

CONNS=${BENCH_CONNECTIONS:-64}
SECS=${BENCH_SECONDS:-10}
LATENCY_MS=${BENCH_KNOCK_LATENCY_MS:-150}
APP_PORT=${BENCH_APP_PORT:-18080}
BARE_PORT=${BENCH_BARE_PORT:-18081}
OUT=${BENCH_OUT:-BENCHMARKS.md}

if ! command -v wrk >/dev/null; then
  apt-get install -y wrk >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }
fi
cargo build --release --locked -p tourgate -p bench-bare

tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT

# The landing page's community, and four with a dense schedule for the booking posts (every
# post takes a slot of its own: 15-minute tours around the clock for two weeks).
cat >"$tmp/communities.toml" <<'TOML'
[[community]]
slug = "maple-court"
knock_community_id = "mapleCourt000001"
name = "Maple Court Apartments"
timezone = "America/New_York"
address = "100 Maple St, Brooklyn, NY 11201"
tour_minutes = 30
default_source_title = "Self-Guided Tour Vendor"
units = ["101", "102", "2B"]
TOML
for i in 1 2 3 4; do
cat >>"$tmp/communities.toml" <<TOML

[[community]]
slug = "bench-$i"
knock_community_id = "benchCommunity0$i"
name = "Bench $i"
timezone = "America/Chicago"
address = "$i Bench St, Chicago, IL 60601"
tour_minutes = 15
default_source_title = "Self-Guided Tour Vendor"
units = ["1"]

[community.sandbox]
opens = "00:00:00"
closes = "23:45:00"
TOML
done

SECRET="whsec_$(head -c 32 /dev/urandom | base64 | tr -d '\n')"
export TOURGATE_LISTEN="127.0.0.1:$APP_PORT"
export TOURGATE_PUBLIC_URL="http://127.0.0.1:$APP_PORT"
METRICS_PORT=${BENCH_METRICS_PORT:-19464}
export TOURGATE_METRICS_LISTEN="127.0.0.1:$METRICS_PORT"
export TOURGATE_DATA_DIR="$tmp/data"
# BENCH_DATABASE_URL: another database (an empty PostgreSQL one) instead of a fresh SQLite file.
export DATABASE_URL="${BENCH_DATABASE_URL:-sqlite://$tmp/bench.db}"
export TOURGATE_COMMUNITIES="$tmp/communities.toml"
export ACCESS_WEBHOOK_SECRET="$SECRET"
export TOURGATE_BOOKINGS_PER_HOUR=100000
export TOURGATE_MIN_FORM_SECONDS=0
export RUST_LOG=${RUST_LOG:-error}

# BENCH_KNOCK=process: the Knock sandbox in a process of its own (`tourgate knock-sandbox`)
# and tourgate configured as in production against it, so that tourgate's own memory and CPU
# are measured without the emulator's. The default is the demo's in-process sandbox.
KNOCK_MODE=${BENCH_KNOCK:-in-process}
if [ "$KNOCK_MODE" = process ]; then
  SANDBOX_PORT=${BENCH_SANDBOX_PORT:-19090}
  target/release/tourgate knock-sandbox --listen "127.0.0.1:$SANDBOX_PORT" \
    --communities "$tmp/communities.toml" >"$tmp/sandbox.log" 2>&1 &
  pids+=("$!")
  export KNOCK_BASE_URL="http://127.0.0.1:$SANDBOX_PORT"
  export KNOCK_PROSPECT_API_KEY=syndication-prospect-TEST-KEY
  export KNOCK_APPOINTMENT_API_KEY=syndication-appointment-TEST-KEY
  export KNOCK_AGENT_USERNAME=bench
  TOURGATE_SECRET_KEY="$(head -c 48 /dev/urandom | base64 | tr -d '\n')"
  export TOURGATE_SECRET_KEY
  for _ in $(seq 1 600); do
    curl -sf "$KNOCK_BASE_URL/_sandbox" -o /dev/null 2>/dev/null && break
    sleep 0.1
  done
fi

target/release/tourgate serve >"$tmp/tourgate.log" 2>&1 &
APP_PID=$!
pids+=("$APP_PID")
# Generous: on a loaded machine the first start (migrations) can take seconds.
# (Its log is quiet at RUST_LOG=error: ask it whether it is ready.)
for _ in $(seq 1 600); do
  curl -sf "http://127.0.0.1:$APP_PORT/readyz" -o /dev/null 2>/dev/null && break
  kill -0 "$APP_PID" 2>/dev/null || { cat "$tmp/tourgate.log"; echo "tourgate stopped" >&2; exit 1; }
  sleep 0.1
done
if [ "$KNOCK_MODE" = process ]; then
  SANDBOX="$KNOCK_BASE_URL/"
else
  for _ in $(seq 1 100); do
    grep -q "what Knock received" "$tmp/tourgate.log" 2>/dev/null && break
    sleep 0.1
  done
  SANDBOX=$(grep -o 'what Knock received): [^ ]*' "$tmp/tourgate.log" | sed 's/.*: //; s/_sandbox$//' || true)
fi
[ -n "$SANDBOX" ] || { cat "$tmp/tourgate.log"; echo "no sandbox address printed" >&2; exit 1; }
BASE="http://127.0.0.1:$APP_PORT"

# Knock answers available-times 150 ms late, for every call of the run.
curl -sf -X POST "${SANDBOX}_sandbox/faults" -H 'content-type: application/json' \
  -d "{\"route\":\"available_times\",\"count\":4000000000,\"latency_ms\":$LATENCY_MS}"

calls() { # available-times calls made so far (tourgate's own knock_calls counter: the
  # sandbox keeps only its last 500 requests)
  curl -sf "http://127.0.0.1:$METRICS_PORT/metrics" | python3 -c '
import sys
print(sum(float(l.rsplit(" ", 1)[1]) for l in sys.stdin
          if l.startswith("tourgate_knock_calls_total{") and "available_times" in l))'
}

CALLS_BEFORE=$(calls)
curl -sf "$BASE/tours/maple-court" -o "$tmp/landing.html"
target/release/bench-bare "$tmp/landing.html" "127.0.0.1:$BARE_PORT" &
pids+=("$!")
sleep 0.5

wrk_run() { # URL -> "rps p50_ms p99_ms non2xx"
  wrk -t4 -c"$CONNS" -d"${SECS}s" --latency "$1" >"$tmp/wrk.txt"
  python3 - "$tmp/wrk.txt" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
def ms(label):
    m = re.search(r"^\s+%s\s+([\d.]+)(us|ms|s)\s*$" % label, t, re.M)
    v, u = float(m.group(1)), m.group(2)
    return v / 1000 if u == "us" else v * 1000 if u == "s" else v
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1))
bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", t)
print(f"{rps:.0f} {ms('50%'):.2f} {ms('99%'):.2f} {bad.group(1) if bad else 0}")
PY
}

echo "bare handler..."
read -r BARE_RPS BARE_P50 BARE_P99 _ < <(wrk_run "http://127.0.0.1:$BARE_PORT/tours/maple-court")
echo "landing page..."
read -r LAND_RPS LAND_P50 LAND_P99 LAND_BAD < <(wrk_run "$BASE/tours/maple-court")
CALLS_AFTER=$(calls)

echo "booking posts..."
target/release/bench-drive book "$BASE" "$CONNS" "$SECS" bench-1,bench-2,bench-3,bench-4 >"$tmp/book.json"
CALLS_END=$(calls)

BOOKED=$(python3 -c "import json; print(json.load(open('$tmp/book.json'))['last_booked'])")
BOOKING_ID=$(curl -sf "$BASE$BOOKED" | grep -o 'data-booking-id="[^"]*"' | head -1 | cut -d'"' -f2)
[ -n "$BOOKING_ID" ] || { echo "no booking to send callbacks for" >&2; exit 1; }
echo "access callbacks..."
target/release/bench-drive callback "$BASE" "$CONNS" "$SECS" "$SECRET" "$BOOKING_ID" >"$tmp/callback.json"

RSS_KB=$(awk '/VmHWM/ {print $2}' "/proc/$APP_PID/status")

python3 - "$OUT" <<PY
import json, sys, datetime, subprocess
out = sys.argv[1]
bare = dict(rps=float("$BARE_RPS"), p50=float("$BARE_P50"), p99=float("$BARE_P99"))
land = dict(rps=float("$LAND_RPS"), p50=float("$LAND_P50"), p99=float("$LAND_P99"), bad=int("$LAND_BAD"))
book = json.load(open("$tmp/book.json"))
cb = json.load(open("$tmp/callback.json"))
before, after, end = float('$CALLS_BEFORE'), float('$CALLS_AFTER'), float('$CALLS_END')
rss_mb = int("$RSS_KB") / 1024
secs, conns, fresh = $SECS, $CONNS, 30
knock_mode = '$KNOCK_MODE'
db = 'PostgreSQL' if '$DATABASE_URL'.startswith('postgres') else 'SQLite'
sh = lambda c: subprocess.run(c, shell=True, capture_output=True, text=True).stdout.strip()
land_calls = int(after - before)
intervals = max(1, -(-secs // fresh))
book_calls = int(end - after)
booked = book["statuses"].get("303", 0)
def goal(ok, text): return ("met" if ok else "MISSED") + f" ({text})"
rows = [
  ("Bare actix-web handler, same bytes", f"{bare['rps']:.0f}", f"{bare['p50']:.2f}", f"{bare['p99']:.2f}", "1.00"),
  ("Landing page GET /tours/maple-court", f"{land['rps']:.0f}", f"{land['p50']:.2f}", f"{land['p99']:.2f}", f"{land['rps']/bare['rps']:.2f}"),
  (f"Booking POST ({db}; page view untimed)", f"{book['per_sec']:.0f}", f"{book['p50_ms']:.2f}", f"{book['p99_ms']:.2f}", f"{book['per_sec']/bare['rps']:.3f}"),
  ("Access callback POST (signed)", f"{cb['per_sec']:.0f}", f"{cb['p50_ms']:.2f}", f"{cb['p99_ms']:.2f}", f"{cb['per_sec']/bare['rps']:.3f}"),
]
# The hand-written part (from "## Notes" on: the PostgreSQL run, profiles, what bounds a
# missed goal) is kept across runs; the measured part above it is written anew.
import os
notes = ""
if os.path.exists(out):
    old = open(out).read()
    at = old.find("\n## Notes")
    notes = old[at:] if at >= 0 else ""
with open(out, "w") as f:
    f.write(f"""# Benchmarks

Measured by \`scripts/bench.sh\` (release build; {conns} connections, {secs} s per run; the Knock
sandbox {'in-process' if knock_mode == 'in-process' else 'in a process of its own (BENCH_KNOCK=process)'}, answering available-times {$LATENCY_MS} ms late; {db};
\`TOURGATE_AVAILABILITY_FRESH_SECS\` at its default, 30).

- Date: {datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}
- Machine: {sh('nproc')} CPUs; kernel {sh('uname -r')}; memory (\`free -g\`):

\`\`\`
{sh('free -g')}
\`\`\`

Load generator and servers share the machine: the numbers compare with each other (the bare
handler is the yardstick), not with another machine's.

| What | Requests/s | p50 ms | p99 ms | Throughput / bare |
|---|---:|---:|---:|---:|
""")
    for r in rows:
        f.write("| " + " | ".join(r) + " |\n")
    f.write(f"""
- Landing page: {land['bad']} non-2xx answers. Knock availability calls for maple-court from
  the first view (the page saved for the bare handler) to the end of its {secs} s run:
  **{land_calls}** (intervals of {fresh} s begun: {intervals}). Each wrk request comes without
  a cookie, as a first visit: every answer starts a session (a new encrypted cookie).
- Booking posts: each of the {conns} connections views the page (untimed, its own cookie
  jar), then posts a booking for a renter of its own at a random offered time (timed); the
  rate counts posts only, the page views between them hold it back. {book['posts']} posts, statuses {json.dumps(book['statuses'])} (303: booked; 409: the
  time was taken by a racing post meanwhile). Knock availability calls during the run: {book_calls} for the 4
  communities, {book_calls/4:.1f} each (a booking checks against times at most 2 s old,
  single flight: at most one call per community per 2 s, each 150 ms).
- Access callbacks: {cb['posts']} posts, statuses {json.dumps(cb['statuses'])}.
- Peak RSS of the tourgate process (VmHWM, {'with its in-process sandbox' if knock_mode == 'in-process' else 'the sandbox in a process of its own'}): **{rss_mb:.1f} MB**.

## Goals

- Landing page ≥ half the bare handler's throughput: {goal(land['rps'] >= bare['rps']/2, f"{land['rps']/bare['rps']:.3f} of it")}
- ≤ 1 availability call per community per interval at {conns} connections: {goal(land_calls <= intervals, f"{land_calls} call(s) in {intervals} interval(s)")}
- Landing p99 < 20 ms at {conns} connections: {goal(land['p99'] < 20, f"{land['p99']:.2f} ms")}
- Booking POST ≥ 300/s on {db}: {goal(book['per_sec'] >= 300, f"{book['per_sec']:.0f}/s")}
- Callbacks ≥ 2,000/s: {goal(cb['per_sec'] >= 2000, f"{cb['per_sec']:.0f}/s")}
- Peak RSS < 64 MB: {goal(rss_mb < 64, f"{rss_mb:.1f} MB")}

\`BENCH_DATABASE_URL=postgres://...\` (an empty database) makes the same run on PostgreSQL.
""")
    f.write(notes)
print(open(out).read())
PY
