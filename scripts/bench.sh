#!/usr/bin/env bash
# `./x bench`: HTTP load test of the release server (already built by `./x bench`; the HTTP part
# never builds), then the booking benchmark (see its section at the end). Prints Markdown tables
# to stdout; progress goes to stderr.
# Knobs: BENCH_SECONDS (15), BENCH_CONNECTIONS ("64 1000"), BENCH_ONLY (substring of a label),
# BENCH_BOOKING (1; 0 skips the booking benchmark).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
source scripts/database.sh   # free_port, use_database, stop_embedded_postgres
source scripts/tools.sh      # ensure_command

SECS="${BENCH_SECONDS:-15}"
CONNS="${BENCH_CONNECTIONS:-64 1000}"
ONLY="${BENCH_ONLY:-}"
SERVER="$ROOT/target/release/server"
LOG="$ROOT/target/bench-server.log"
ACCEPT_ENCODING='br, gzip'   # what a browser sends: measures the compressed responses users get
POST_LUA="$ROOT/scripts/bench/post.lua"
SERVER_PID=""

say() { printf '\033[1m[bench]\033[0m %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# Stops the server (and a private PostgreSQL, if database.sh started one: this trap replaces its).
cleanup() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$SERVER_PID" 2>/dev/null || true
  fi
  stop_embedded_postgres
}

# Launches the server and times it to the first 200. /performance/health is the honest probe (it
# answers only once the app is ready); `/` stands in while a build lacks it (404).
start_server() {
  [ -x "$SERVER" ] || die "There is no release server at $SERVER: build it first (cargo leptos build --release --precompress, as ./x bench does)."
  PORT="$(free_port)" || die "No free port in 54329-54400 for the server."
  BASE="http://127.0.0.1:$PORT"
  mkdir -p "$ROOT/target/bench-data"
  PROBE=/performance/health
  local t0 code
  t0="$(now_ms)"
  RENTWISE_LISTEN="127.0.0.1:$PORT" RENTWISE_SITE_ROOT="$ROOT/target/site" \
    RENTWISE_DATA_DIR="$ROOT/target/bench-data" RENTWISE_LOG=warn,server=info RENTWISE_METRICS_TOKEN=bench-token-not-secret-0001 \
    "$SERVER" >"$LOG" 2>&1 &
  SERVER_PID=$!
  while :; do
    code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$BASE$PROBE" || true)"
    [ "$code" = 200 ] && break
    if [ "$code" = 404 ] && [ "$PROBE" != / ]; then PROBE=/; continue; fi
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$LOG" >&2; die "The server exited during startup (its log is above)."; }
    [ $(( $(now_ms) - t0 )) -lt 60000 ] || die "The server did not answer $BASE$PROBE within 60 s."
    sleep 0.01
  done
  STARTUP_MS=$(( $(now_ms) - t0 ))
  # tracing may colour its fields even into a file, so strip ANSI escapes before matching.
  SERVER_STARTUP_MS="$(sed 's/\x1b\[[0-9;]*m//g' "$LOG" | grep -o -m1 ' ready startup_ms=[0-9]*' | cut -d= -f2 || true)"
}

# Fills ENDPOINTS with "label|path|lua-script" rows, reading the catalog HTML for real URLs.
discover() {
  local html slug css
  html="$(curl -fsS "$BASE/")" || die "GET / failed, so there is nothing to discover URLs from."
  slug="$(grep -oE 'href="/rentals/[^"?#]+"' <<<"$html" | head -1 | sed -E 's|href="/rentals/(.*)"|\1|' || true)"
  css="$(grep -oE '<link[^>]*rel="stylesheet"[^>]*>' <<<"$html" | grep -oE 'href="/pkg/[^"]+\.css"' | head -1 | cut -d'"' -f2 || true)"
  ENDPOINTS=("catalog page|/|")
  if [ -n "$slug" ]; then ENDPOINTS+=("product page|/rentals/$slug|"); else say "no /rentals/ link on the catalog page: skipping the product page"; fi
  ENDPOINTS+=("server fn, POST page=1|/api/catalog|$POST_LUA")
  if [ -n "$css" ]; then ENDPOINTS+=("static asset (until the image pipeline lands; then a cached /img variant)|$css|")
  else say "no /pkg/*.css stylesheet link on the catalog page: skipping the static asset"; fi
  if [ "$PROBE" = /performance/health ]; then ENDPOINTS+=("health|/performance/health|")
  else say "/performance/health answers 404 in this build: skipping it"; fi
}

# "4,210 (br)": the size on the wire of one response, and its Content-Encoding.
bytes_per_response() {
  local path="$1" lua="$2" out size enc
  local args=(-s -o /dev/null -D - -w '%{size_download}' -H "Accept-Encoding: $ACCEPT_ENCODING")
  [ -n "$lua" ] && args+=(-X POST -H 'Content-Type: application/x-www-form-urlencoded' --data 'page=1')
  out="$(curl "${args[@]}" "$BASE$path" | tr -d '\r')"
  size="$(tail -n1 <<<"$out" | grep -oE '[0-9]+$')"
  enc="$(grep -i '^content-encoding:' <<<"$out" | awk '{print $2}' | tail -1)"
  printf '%s (%s)' "$(sed ':a;s/\B[0-9]\{3\}\>/,&/;ta' <<<"$size")" "${enc:-identity}"
}

# One wrk run; prints "req/s|p50|p99|errors". Errors = socket errors (connect, read, write,
# timeout) + non-2xx/3xx responses; a fast stream of 500s must not look like a win.
run_wrk() {
  local path="$1" lua="$2" conns="$3" threads=2 out
  [ "$conns" -lt 2 ] && threads=1   # wrk refuses fewer connections than threads
  out="$(wrk -t"$threads" -c"$conns" -d"${SECS}s" --latency --timeout 10s -H "Accept-Encoding: $ACCEPT_ENCODING" \
    ${lua:+-s "$lua"} "$BASE$path" 2>&1)" || { echo "$out" >&2; die "wrk failed on $path."; }
  awk '
    function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0
                     if (v ~ /m$/) return v * 60000; if (v ~ /s$/) return v * 1000; return v + 0 }
    /^Requests\/sec:/ { rps = $2 }
    $1 == "50%" { p50 = ms($2) }
    $1 == "99%" { p99 = ms($2) }
    /Socket errors:/ { gsub(",", ""); errors += $4 + $6 + $8 + $10 }
    /Non-2xx or 3xx responses:/ { errors += $NF }
    END { printf "%.0f|%.2f|%.2f|%d\n", rps, p50, p99, errors }' <<<"$out"
}

main() {
  ensure_command wrk wrk
  ensure_command curl curl
  [ -n "${DATABASE_URL:-}" ] || use_database rentwise_bench
  trap cleanup EXIT
  trap 'exit 130' INT TERM
  # 1000 connections need 1000+ descriptors in wrk and in the server (which inherits this limit).
  ulimit -n 65536 2>/dev/null || { ulimit -n "$(ulimit -Hn)"; say "open-file limit capped at $(ulimit -n)"; }
  start_server
  say "server up on $BASE in $STARTUP_MS ms"
  discover

  local rows=() row label path lua conns bytes result rps p50 p99 errors
  for row in "${ENDPOINTS[@]}"; do
    IFS='|' read -r label path lua <<<"$row"
    [ -z "$ONLY" ] || [[ "$label $path" == *"$ONLY"* ]] || continue
    bytes="$(bytes_per_response "$path" "$lua")"
    for conns in $CONNS; do
      say "$label $path: $conns connections, ${SECS} s"
      result="$(run_wrk "$path" "$lua" "$conns")"   # not < <(...): a die in there must stop us
      IFS='|' read -r rps p50 p99 errors <<<"$result"
      kill -0 "$SERVER_PID" 2>/dev/null || { tail -20 "$LOG" >&2; die "The server died under load (log tail above)."; }
      rows+=("| $label \`$path\` | $conns | $rps | $p50 | $p99 | $errors | $bytes |")
    done
  done
  # VmHWM is the peak resident set over the whole run, read before the server stops.
  local peak_mib
  peak_mib="$(awk '/^VmHWM:/ { printf "%.1f", $2 / 1024 }' "/proc/$SERVER_PID/status")"

  echo "| endpoint | conns | req/s | p50 ms | p99 ms | errors | bytes/response |"
  echo "|---|---:|---:|---:|---:|---:|---|"
  printf '%s\n' "${rows[@]}"
  echo
  echo "startup: $STARTUP_MS ms (to first 200 on $PROBE)"
  echo "server-reported startup: ${SERVER_STARTUP_MS:-n/a (no \"ready startup_ms=N\" line on stderr)}${SERVER_STARTUP_MS:+ ms}"
  echo "peak RSS: $peak_mib MiB"
  echo "machine: $(nproc) cores, Linux $(uname -r); wrk, PostgreSQL and the server share these cores," \
    "so req/s is a floor, not a capacity figure. wrk -t2 --timeout 10s, ${SECS} s per run, Accept-Encoding: $ACCEPT_ENCODING."
}

# --- Booking benchmark -------------------------------------------------------------------------
# server/src/bin/booking_bench.rs, apart from HTTP: the month calendar query over 10,000
# reservations and place_hold with 32 concurrent bookers, in a database of its own (created on
# DATABASE_URL's server, dropped afterwards). Unlike the part above, this builds its binary.
booking_bench() {
  [ "${BENCH_BOOKING:-1}" = 1 ] || return 0
  say "booking benchmark: cargo run --release --bin booking_bench"
  echo
  cargo run --release -p server --features app/ssr --bin booking_bench
}

# --- Schedule benchmark ------------------------------------------------------------------------
# server/src/bin/schedule_bench.rs: the staff schedule of 500 units × 30 days, its query and the
# whole page rendered by the router in-process, in a database of its own.
schedule_bench() {
  [ "${BENCH_SCHEDULE:-1}" = 1 ] || return 0
  say "schedule benchmark: cargo run --release --bin schedule_bench"
  echo
  cargo run --release -p server --features app/ssr --bin schedule_bench
}

main "$@"
booking_bench
schedule_bench
