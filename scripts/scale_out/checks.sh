# shellcheck shell=bash disable=SC2015  # `test && test || fail`: fail only runs when a test fails
# The checks of scripts/scale_out.sh (sourced by it; uses its variables and helpers). Each adds
# a row to CHECKS (and tables to REPORT) and calls `fail` with a sentence when its check fails.
REPORT=()

# POSTs form fields to a server function; prints the status code. $1 base URL, $2 endpoint,
# $3 cookie ("" for none), then curl --data-urlencode arguments. The body goes to $RUN_DIR/$2.out.
call() {
  local base="$1" endpoint="$2" cookie="$3"
  shift 3
  local args=(-s -o "$RUN_DIR/$endpoint.out" -D "$RUN_DIR/$endpoint.headers" -w '%{http_code}' --max-time 10
    -H 'Sec-Fetch-Site: same-origin') field
  [ -n "$cookie" ] && args+=(-H "Cookie: $cookie")
  [ "$#" -gt 0 ] || args+=(--data '')
  for field in "$@"; do args+=(--data-urlencode "$field"); done
  curl "${args[@]}" "$base/api/$endpoint" || echo 000
}

# A session made by signing up on A: B knows who it is; signed out on B, A knows nobody.
check_session() {
  local a="http://127.0.0.1:$A_PORT" b="http://127.0.0.1:$B_PORT" email="scale-$RUN_TAG@example.com"
  local up cookie me_b rentals_b rentals_anon out me_a ok=1
  say "session: sign up on A, use the cookie on B"
  up="$(call "$a" sign-up "" "name=Scale Out" "email=$email" "password=a long enough password" "next=/account/rentals")"
  cookie="$(tr -d '\r' <"$RUN_DIR/sign-up.headers" | grep -i '^set-cookie: rentwise_session=' | head -1 | sed 's/^[^:]*: //; s/;.*//' || true)"
  [[ "$up" =~ ^(200|302|303)$ ]] && [ -n "$cookie" ] || { fail "sign-up on A answered $up with no session cookie"; ok=0; }
  call "$b" me "$cookie" >/dev/null
  me_b="$(cat "$RUN_DIR/me.out")"
  [[ "$me_b" == *"\"$email\""* ]] || { fail "B does not know A's session: /api/me answered $me_b"; ok=0; }
  rentals_b="$(call "$b" my-rentals "$cookie")"
  rentals_anon="$(call "$b" my-rentals "")"
  [ "$rentals_b" = 200 ] && [ "$rentals_anon" = 401 ] ||
    { fail "B /api/my-rentals answered $rentals_b with A's cookie and $rentals_anon without"; ok=0; }
  out="$(call "$b" sign-out "$cookie")"
  call "$a" me "$cookie" >/dev/null
  me_a="$(cat "$RUN_DIR/me.out")"
  [ "$me_a" = null ] || { fail "signed out on B, A still answers /api/me with $me_a"; ok=0; }
  CHECKS+=("| session made on A is valid on B | $( ((ok)) && echo pass || echo FAIL ) | sign-up on A: $up + \`rentwise_session\` cookie; B \`/api/me\`: the new account (\`$email\`); B \`/api/my-rentals\`: $rentals_b ($rentals_anon without the cookie); signed out on B ($out) → A \`/api/me\`: \`$me_a\` |")
}

# SCALE_JOBS email rows + jobs in one transaction, both instances' runners take them, the SMTP
# sink counts each Message-ID; the sink port says which instance sent it, locked_by which worker.
check_jobs() {
  local t0 t1 row succeeded=0 failed=0 deadline summary ok=1
  say "jobs: $JOBS email jobs in one transaction"
  t0="$(now_ms)"
  sql -v count="$JOBS" -v tag="$RUN_TAG" <<'SQL'
BEGIN;
CREATE TEMP TABLE scale_mail ON COMMIT DROP AS
  SELECT format('<scale-out-%s-%s@rentwise.local>', :'tag', n) AS message_id,
         format('scale-out-%s@example.com', n) AS recipient,
         format('Scale-out check %s', n) AS subject
  FROM generate_series(1, :count) AS n;
INSERT INTO emails (kind, message_id, recipient, subject)
  SELECT 'scale_out', message_id, recipient, subject FROM scale_mail;
INSERT INTO jobs (kind, payload, dedupe_key)
  SELECT 'email',
         jsonb_build_object('message_id', message_id, 'kind', 'scale_out', 'to', recipient,
                            'subject', subject, 'text', 'Sent by scripts/scale_out.sh.',
                            'html', '<p>Sent by scripts/scale_out.sh.</p>'),
         'email:' || message_id
  FROM scale_mail;
COMMIT;
SQL
  deadline=$(( t0 + 180000 ))
  while :; do
    row="$(sql -c "SELECT count(*) FILTER (WHERE state = 'succeeded'), count(*) FILTER (WHERE state = 'failed')
                   FROM jobs WHERE kind = 'email' AND payload->>'kind' = 'scale_out'")"
    IFS='|' read -r succeeded failed <<<"$row"
    [ "$(( succeeded + failed ))" -ge "$JOBS" ] && break
    [ "$(now_ms)" -lt "$deadline" ] || { fail "after 180 s only $succeeded of $JOBS jobs succeeded ($failed failed)"; ok=0; break; }
    sleep 0.2
  done
  t1="$(now_ms)"
  sleep 1   # a duplicate send would come after the job's success: give one a moment to arrive
  # jobs | once | missing | twice or more | attempts | sent_at set | lines received
  summary="$(sql -c "CREATE TEMP TABLE received (port int, message_id text)" -c '\copy received FROM pstdin' -c "
    WITH ours AS (SELECT payload->>'message_id' AS message_id, attempts FROM jobs
                  WHERE kind = 'email' AND payload->>'kind' = 'scale_out'),
         copies AS (SELECT message_id, count(*) AS n FROM received GROUP BY message_id)
    SELECT count(*), count(*) FILTER (WHERE c.n = 1), count(*) FILTER (WHERE c.n IS NULL),
           count(*) FILTER (WHERE c.n > 1), coalesce(sum(o.attempts), 0),
           (SELECT count(*) FROM emails WHERE kind = 'scale_out' AND sent_at IS NOT NULL AND job_id IS NOT NULL),
           (SELECT count(*) FROM received)
    FROM ours o LEFT JOIN copies c USING (message_id)" -c "
    SELECT r.port, j.locked_by, count(*) FROM received r
    JOIN jobs j ON j.kind = 'email' AND j.payload->>'message_id' = r.message_id
    GROUP BY 1, 2 ORDER BY 1, 2" <"$RUN_DIR/received.tsv")"
  local enqueued once missing twice attempts sent lines by_a=0 by_b=0 workers_a="" workers_b="" port worker n
  IFS='|' read -r enqueued once missing twice attempts sent lines <<<"$(head -1 <<<"$summary")"
  while IFS='|' read -r port worker n; do
    [ -n "$port" ] || continue
    if [ "$port" = "$SINK_A_PORT" ]; then by_a=$(( by_a + n )); workers_a+="$worker "
    elif [ "$port" = "$SINK_B_PORT" ]; then by_b=$(( by_b + n )); workers_b+="$worker "; fi
  done < <(tail -n +2 <<<"$summary")
  [ "$enqueued" = "$JOBS" ] && [ "$once" = "$JOBS" ] && [ "$attempts" = "$JOBS" ] && [ "$lines" = "$JOBS" ] &&
    [ "$sent" = "$JOBS" ] || { fail "jobs: $enqueued enqueued, $once received once, $missing missing, $twice more than once, $attempts attempts, $lines messages at the sink"; ok=0; }
  [ "$by_a" -gt 0 ] && [ "$by_b" -gt 0 ] || { fail "jobs: one instance ran them all (A $by_a, B $by_b): not a test of two"; ok=0; }
  [ "$(wc -w <<<"$workers_a")" = 1 ] && [ "$(wc -w <<<"$workers_b")" = 1 ] && [ "$workers_a" != "$workers_b" ] ||
    { fail "jobs: worker ids per instance do not match one to one (A: $workers_a; B: $workers_b)"; ok=0; }
  local elapsed
  elapsed="$(awk -v ms=$(( t1 - t0 )) 'BEGIN { printf "%.1f", ms / 1000 }')"
  CHECKS+=("| $JOBS email jobs each run exactly once | $( ((ok)) && echo pass || echo FAIL ) | $once of $enqueued Message-IDs received once, $missing missing, $twice more than once; $attempts attempts in all; A sent $by_a, B sent $by_b (one worker id each, from \`jobs.locked_by\`); enqueue → all succeeded in $elapsed s ($(( JOBS * 1000 / (t1 - t0 + 1) )) jobs/s) |")
}

# An image of A's demo data (seeded just after startup: waited for, 60 s at most), asked of A and
# of B: B has no file of it, so it must fetch the original from PostgreSQL (image_originals).
image_probe() {
  local url="" a b deadline=$(( $(now_ms) + 60000 ))
  while [ -z "$url" ] && [ "$(now_ms)" -lt "$deadline" ]; do
    url="$(curl -s --max-time 10 "http://127.0.0.1:$A_PORT/" | grep -oE '/img/[A-Za-z0-9_-]+/[0-9]+\.webp' | head -1 || true)"
    [ -n "$url" ] || sleep 0.5
  done
  if [ -z "$url" ]; then
    fail "images: no /img/ link on A's catalog page within 60 s"
    CHECKS+=("| a photo stored by A is served by B | FAIL | no \`/img/\` link on A's catalog page within 60 s |")
    return 0
  fi
  a="$(curl -s -o /dev/null -w '%{http_code} %{content_type}' --max-time 30 "http://127.0.0.1:$A_PORT$url")"
  b="$(curl -s -o /dev/null -w '%{http_code} %{content_type}' --max-time 30 "http://127.0.0.1:$B_PORT$url")"
  local ok=1
  [ "$a" = "200 image/webp" ] && [ "$b" = "200 image/webp" ] || { fail "images: $url answered A: $a, B: $b"; ok=0; }
  CHECKS+=("| a photo stored by A is served by B | $( ((ok)) && echo pass || echo FAIL ) | \`$url\`: A $a, B $b (B fetched the original from PostgreSQL) |")
}

# One wrk run; prints "req/s|p50|p99|errors|requests" (errors: socket errors + non-2xx/3xx).
run_wrk() {
  local url="$1" seconds="$2" out
  out="$(wrk -t2 -c"$CONNS" -d"${seconds}s" --latency --timeout 5s -H "Accept-Encoding: $ACCEPT_ENCODING" "$url" 2>&1)" ||
    { echo "$out" >&2; die "wrk failed on $url."; }
  echo "$out" >>"$RUN_DIR/wrk.txt"
  awk '
    function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0
                     if (v ~ /m$/) return v * 60000; if (v ~ /s$/) return v * 1000; return v + 0 }
    /^Requests\/sec:/ { rps = $2 }
    / requests in / { requests = $1 }
    $1 == "50%" { p50 = ms($2) }
    $1 == "99%" { p99 = ms($2) }
    /Socket errors:/ { gsub(",", ""); errors += $4 + $6 + $8 + $10 }
    /Non-2xx or 3xx responses:/ { errors += $NF }
    END { printf "%.0f|%.2f|%.2f|%d|%d\n", rps, p50, p99, errors, requests }' <<<"$out"
}

measure_throughput() {
  local rows=() label port result rps p50 p99 errors requests
  for row in "direct to A (no proxy)|$A_PORT" "nginx → A|$NGINX_ONE_PORT" "nginx → A + B|$NGINX_TWO_PORT"; do
    IFS='|' read -r label port <<<"$row"
    say "throughput: $label, ${SECS} s"
    result="$(run_wrk "http://127.0.0.1:$port/" "$SECS")"
    IFS='|' read -r rps p50 p99 errors requests <<<"$result"
    rows+=("| $label | $rps | $p50 | $p99 | $errors |")
  done
  REPORT+=("Throughput, GET \`/\` (the catalog page), wrk -t2 -c$CONNS, ${SECS} s each, Accept-Encoding: $ACCEPT_ENCODING:" ""
    "| path | req/s | p50 ms | p99 ms | errors |" "|---|---:|---:|---:|---:|" "${rows[@]}" "")
}

# Load through nginx → A + B; B gets SIGKILL halfway. nginx's access log says what happened.
check_kill() {
  local url="http://127.0.0.1:$NGINX_KILL_PORT/" kill_at result rps p50 p99 errors requests deadline stats ok=1
  say "kill: ${SECS} s of load through nginx → A + B, SIGKILL to B after $(( SECS / 2 )) s"
  run_wrk "$url" "$SECS" >"$RUN_DIR/wrk-kill.result" &
  WRK_PID=$!
  sleep "$(( SECS / 2 ))"
  kill -KILL "$B_PID"
  kill_at="$(date +%s.%3N)"
  wait "$B_PID" 2>/dev/null || true
  B_PID=""
  deadline=$(( $(now_ms) + (SECS + 30) * 1000 ))
  while kill -0 "$WRK_PID" 2>/dev/null; do
    [ "$(now_ms)" -lt "$deadline" ] || die "the load run during the kill did not end within $(( SECS + 30 )) s."
    sleep 0.2
  done
  wait "$WRK_PID" || die "the load run during the kill failed."
  WRK_PID=""
  IFS='|' read -r rps p50 p99 errors requests <"$RUN_DIR/wrk-kill.result"
  # total | failed | closed by wrk | in flight on B at the kill | moved to A | A before | B before
  # | A after | B after. 499 is nginx's "the client closed the connection": wrk ending its run.
  stats="$(awk -F'"' -v kill="$kill_at" -v b="127.0.0.1:$B_PORT" '
    { split($1, f, " "); end = f[1]; start = f[1] - f[2]; status = f[3]; addr = $2
      n = split(addr, hops, ", "); last = hops[n]; on_b = index(addr, b) > 0
      total++
      if (status == 499) closed++
      else if (status !~ /^[23]/) failed++
      if (start <= kill && end > kill && on_b) in_flight++
      if (n > 1) moved++
      if (status !~ /^[23]/) next
      if (end <= kill) { if (last == b) b_before++; else a_before++ }
      else { if (last == b) b_after++; else a_after++ } }
    END { printf "%d|%d|%d|%d|%d|%d|%d|%d|%d\n", total, failed, closed, in_flight, moved, a_before, b_before, a_after, b_after }' \
    "$RUN_DIR/kill-access.log")"
  local total failed closed in_flight moved a_before b_before a_after b_after after_ok=0 code health
  IFS='|' read -r total failed closed in_flight moved a_before b_before a_after b_after <<<"$stats"
  for _ in $(seq 200); do
    code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$NGINX_TWO_PORT/" || true)"
    [ "$code" = 200 ] && after_ok=$(( after_ok + 1 ))
  done
  health="$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$A_PORT/performance/health" || true)"
  [ "$errors" -le "$in_flight" ] && [ "$failed" -le "$in_flight" ] ||
    { fail "kill: $errors errors seen by the client, $failed failed in nginx's log, more than the $in_flight in flight on B"; ok=0; }
  [ "$after_ok" = 200 ] && [ "$health" = 200 ] && [ "$a_after" -gt 0 ] ||
    { fail "kill: after it, $after_ok of 200 requests answered 200, A's health $health, A answered $a_after under load"; ok=0; }
  CHECKS+=("| one instance killed mid-load, the other keeps serving | $( ((ok)) && echo pass || echo FAIL ) | $errors errors seen by clients of $requests requests ($in_flight in flight on B at the kill, $moved moved to A by nginx); after the kill A answered $a_after, B $b_after; then $after_ok of 200 sequential requests answered 200 |")
  REPORT+=("B killed with SIGKILL after $(( SECS / 2 )) s of ${SECS} s of load (wrk -t2 -c$CONNS) through nginx → A + B:" ""
    "| figure | value |" "|---|---:|"
    "| requests answered (wrk / nginx's log) | $requests / $total |"
    "| req/s, p50 ms, p99 ms over the whole run | $rps, $p50, $p99 |"
    "| errors seen by the client (socket errors + non-2xx) | $errors |"
    "| failed in nginx's log (not 2xx/3xx, not 499) | $failed |"
    "| closed by wrk as its run ended (499 in nginx's log) | $closed |"
    "| in flight on B at the kill | $in_flight |"
    "| moved to the other instance by nginx (\`proxy_next_upstream\`) | $moved |"
    "| answered by A / B before the kill | $a_before / $b_before |"
    "| answered by A / B after the kill | $a_after / $b_after |"
    "| sequential requests after the load answered 200 | $after_ok of 200 |"
    "| A's \`/performance/health\` after | $health |" "")
}
