-- wrk: POST the body the JS SDK sends for deriveKey("bench", "bench").
wrk.method = "POST"
wrk.path = "/prpc/Tappd.DeriveKey"
wrk.body = '{"path":"bench","subject":"bench"}'
wrk.headers["Content-Type"] = "application/json"
