-- wrk: POST the body the JS SDK sends for tdxQuote("hello").
wrk.method = "POST"
wrk.path = "/prpc/Tappd.TdxQuote"
wrk.body = '{"report_data":"68656c6c6f"}'
wrk.headers["Content-Type"] = "application/json"
