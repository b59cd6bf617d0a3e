#!/usr/bin/env bash
# `bash scripts/scale_out.sh`: two release server instances on one fresh database behind nginx,
# all on 127.0.0.1, then checks that a session made on one instance is valid on the other, that
# SCALE_JOBS email jobs are each run exactly once across both, the throughput of one upstream
# against two, and that the survivor keeps serving when one instance is SIGKILLed mid-load.
# Installs nginx, wrk, curl, psql and python3 with apt-get when missing; never builds. Prints
# Markdown to stdout, progress to stderr; exits 1 when a check fails. Logs stay in
# target/scale-out/. Knobs: SCALE_JOBS (1000), SCALE_SECONDS (10 per load run),
# SCALE_CONNECTIONS (64).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
source scripts/database.sh   # port_answers, free_port, use_database, stop_embedded_postgres
source scripts/tools.sh      # ensure_command

SERVER="$ROOT/target/release/server"
SITE_ROOT="${RENTWISE_SITE_ROOT:-$ROOT/target/site}"
RUN_DIR="$ROOT/target/scale-out"
SINK="$ROOT/scripts/scale_out/smtp_sink.py"
JOBS="${SCALE_JOBS:-1000}"
SECS="${SCALE_SECONDS:-10}"
CONNS="${SCALE_CONNECTIONS:-64}"
ACCEPT_ENCODING='br, gzip'
RUN_TAG="$(date +%s)"
DB_NAME="rentwise_scale_${RUN_TAG}_$$"
A_PID="" B_PID="" NGINX_PID="" SINK_PID="" WRK_PID="" DB_OURS=""
TAKEN=" "
FAILED=()      # one sentence per failed check
CHECKS=()      # rows of the checks table

say() { printf '\033[1m[scale-out]\033[0m %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }
fail() { FAILED+=("$1"); say "FAILED: $1"; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
sql() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$DATABASE_URL" "$@"; }

# Sets variable $1 to a port of 54329-54400 that nothing answers on and this run has not taken.
take_port() {
  local port
  for port in $(seq 54329 54400); do
    [[ "$TAKEN" == *" $port "* ]] && continue
    port_answers "$port" && continue
    TAKEN+="$port "
    printf -v "$1" '%s' "$port"
    return 0
  done
  die "no free port in 54329-54400."
}

# Waits (at most $3 seconds) until port $1 answers, while process $2 lives.
wait_listening() {
  local deadline=$(( $(now_ms) + $3 * 1000 ))
  until port_answers "$1"; do
    kill -0 "$2" 2>/dev/null || return 1
    [ "$(now_ms)" -lt "$deadline" ] || return 1
    sleep 0.05
  done
}

stop_pid() {
  local pid="$1"
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

# Stops everything this run started, drops its database, and stops a private PostgreSQL if
# database.sh started one (this trap replaces its).
cleanup() {
  set +e
  stop_pid "$WRK_PID"; stop_pid "$A_PID"; stop_pid "$B_PID"; stop_pid "$NGINX_PID"; stop_pid "$SINK_PID"
  if [ -n "$DB_OURS" ]; then
    psql -X -q -d "$ADMIN_URL" -c "DROP DATABASE IF EXISTS \"$DB_NAME\" WITH (FORCE)" >/dev/null 2>&1 ||
      say "could not drop database $DB_NAME"
  fi
  stop_embedded_postgres
}

preflight() {
  ensure_command curl curl
  ensure_command wrk wrk
  ensure_command nginx nginx
  ensure_command psql postgresql-client
  ensure_command python3 python3
  [ -x "$SERVER" ] || die "There is no release server at $SERVER: build it first (./x run or ./x bench do)."
  [ -d "$SITE_ROOT/pkg" ] || die "There are no built site assets in $SITE_ROOT (RENTWISE_SITE_ROOT): build them first."
  ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
  rm -rf "$RUN_DIR" && mkdir -p "$RUN_DIR/nginx-temp"
}

# A fresh database on the chosen server (DATABASE_URL's, 127.0.0.1:5432, or a private one).
fresh_database() {
  use_database "$DB_NAME"
  local url="$DATABASE_URL" query="" server
  if [[ "$url" == *\?* ]]; then query="?${url#*\?}"; url="${url%%\?*}"; fi
  server="$url"
  [[ "${url#*://}" == */* ]] && server="${url%/*}"
  export DATABASE_URL="$server/$DB_NAME$query"
  ADMIN_URL="$server/postgres$query"
  [ -z "$(psql -X -At -d "$ADMIN_URL" -c "SELECT 1 FROM pg_database WHERE datname = '$DB_NAME'")" ] ||
    die "database $DB_NAME exists already."
  DB_OURS=1
}

start_sink() {
  take_port SINK_A_PORT; take_port SINK_B_PORT
  : >"$RUN_DIR/received.tsv"
  python3 "$SINK" "$RUN_DIR/received.tsv" "$SINK_A_PORT" "$SINK_B_PORT" 2>"$RUN_DIR/sink.log" &
  SINK_PID=$!
  if ! wait_listening "$SINK_A_PORT" "$SINK_PID" 10 || ! wait_listening "$SINK_B_PORT" "$SINK_PID" 10; then
    cat "$RUN_DIR/sink.log" >&2
    die "the SMTP sink did not start."
  fi
}

# start_instance a|b PORT SINK_PORT DEMO_DATA: the release server with its own data directory
# and SMTP port, waited for (90 s at most) until /performance/health answers 200.
start_instance() {
  local name="$1" port="$2" sink="$3" demo="$4" pid code deadline
  mkdir -p "$RUN_DIR/$name-data"
  DATABASE_URL="$DATABASE_URL" RENTWISE_LISTEN="127.0.0.1:$port" RENTWISE_SITE_ROOT="$SITE_ROOT" \
    RENTWISE_DATA_DIR="$RUN_DIR/$name-data" RENTWISE_LOG=warn,server=info RENTWISE_LOG_FORMAT=text \
    SMTP_URL="smtp://127.0.0.1:$sink" RENTWISE_DEMO_DATA="$demo" RENTWISE_TRUST_X_FORWARDED_FOR=true \
    RENTWISE_DB_MIN_CONNECTIONS=4 RENTWISE_DB_MAX_CONNECTIONS=30 \
    "$SERVER" >"$RUN_DIR/$name.log" 2>&1 &
  pid=$!
  printf -v "${name^^}_PID" '%s' "$pid"
  deadline=$(( $(now_ms) + 90000 ))
  while :; do
    code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$port/performance/health" || true)"
    [ "$code" = 200 ] && return 0
    kill -0 "$pid" 2>/dev/null || { tail -30 "$RUN_DIR/$name.log" >&2; die "instance $name exited during startup (log tail above)."; }
    [ "$(now_ms)" -lt "$deadline" ] || die "instance $name did not answer /performance/health within 90 s."
    sleep 0.1
  done
}

# nginx on three loopback ports: one upstream, two upstreams, and two upstreams with an access
# log (for the kill). A failed or 502/503 request moves to the other instance.
start_nginx() {
  take_port NGINX_ONE_PORT; take_port NGINX_TWO_PORT; take_port NGINX_KILL_PORT
  local a="127.0.0.1:$A_PORT" b="127.0.0.1:$B_PORT" temp="$RUN_DIR/nginx-temp"
  cat >"$RUN_DIR/nginx.conf" <<EOF
daemon off;
worker_processes 2;
pid $RUN_DIR/nginx.pid;
error_log $RUN_DIR/nginx-error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  log_format scale '\$msec \$request_time \$status "\$upstream_addr" "\$upstream_status"';
  client_body_temp_path $temp/body; proxy_temp_path $temp/proxy; fastcgi_temp_path $temp/fastcgi;
  uwsgi_temp_path $temp/uwsgi; scgi_temp_path $temp/scgi;
  upstream one { server $a; keepalive 32; }
  upstream two {
    zone two 64k;
    server $a max_fails=3 fail_timeout=5s;
    server $b max_fails=3 fail_timeout=5s;
    keepalive 64;
  }
  proxy_http_version 1.1;
  proxy_set_header Connection "";
  proxy_set_header Host \$http_host;
  proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
  proxy_set_header X-Forwarded-Proto \$scheme;
  proxy_next_upstream error timeout http_502 http_503;
  proxy_next_upstream_tries 2;
  proxy_connect_timeout 1s;
  proxy_read_timeout 35s;
  proxy_buffers 16 16k;
  proxy_max_temp_file_size 0;
  server { listen 127.0.0.1:$NGINX_ONE_PORT; location / { proxy_pass http://one; } }
  server { listen 127.0.0.1:$NGINX_TWO_PORT; location / { proxy_pass http://two; } }
  server {
    listen 127.0.0.1:$NGINX_KILL_PORT;
    access_log $RUN_DIR/kill-access.log scale;
    location / { proxy_pass http://two; }
  }
}
EOF
  nginx -t -q -p "$RUN_DIR" -e "$RUN_DIR/nginx-error.log" -c "$RUN_DIR/nginx.conf" ||
    die "nginx refused its configuration ($RUN_DIR/nginx.conf)."
  nginx -p "$RUN_DIR" -e "$RUN_DIR/nginx-error.log" -c "$RUN_DIR/nginx.conf" &
  NGINX_PID=$!
  wait_listening "$NGINX_KILL_PORT" "$NGINX_PID" 10 || { cat "$RUN_DIR/nginx-error.log" >&2; die "nginx did not start."; }
}

source "$ROOT/scripts/scale_out/checks.sh"

main() {
  local t0
  t0="$(now_ms)"
  preflight
  trap 'exit 130' INT TERM
  fresh_database   # before our trap: database.sh sets its own when it starts a private server
  trap cleanup EXIT
  say "database $DB_NAME"
  start_sink
  take_port A_PORT; take_port B_PORT
  start_instance a "$A_PORT" "$SINK_A_PORT" true
  say "instance A on 127.0.0.1:$A_PORT (migrated, demo data loaded)"
  start_instance b "$B_PORT" "$SINK_B_PORT" false
  say "instance B on 127.0.0.1:$B_PORT"
  start_nginx
  say "nginx: one upstream on :$NGINX_ONE_PORT, two on :$NGINX_TWO_PORT and :$NGINX_KILL_PORT (logged)"

  check_session
  check_jobs
  image_probe
  measure_throughput
  check_kill

  echo "## Scale-out on loopback: 2 instances, 1 PostgreSQL, nginx ($(date -u +%F))"
  echo
  echo "| check | result | figures |"
  echo "|---|---|---|"
  printf '%s\n' "${CHECKS[@]}"
  echo
  printf '%s\n' "${REPORT[@]}"
  echo "machine: $(nproc) cores, Linux $(uname -r); PostgreSQL, nginx, wrk and both instances share them."
  echo "ran in $(( ($(now_ms) - t0 + 500) / 1000 )) s; logs in target/scale-out/"
  if [ "${#FAILED[@]}" -gt 0 ]; then
    echo
    printf -- '- FAILED: %s\n' "${FAILED[@]}"
    exit 1
  fi
}

main "$@"
