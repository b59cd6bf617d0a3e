-- wrk script for the catalog server function: the same POST a hydrated catalog page sends.
-- The Accept-Encoding header comes from bench.sh (wrk -H), so it applies to every request.
wrk.method = "POST"
wrk.body = "page=1"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
