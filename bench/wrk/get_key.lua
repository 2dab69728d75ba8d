-- wrk: POST the body the JS SDK's DstackClient sends for getKey("wallet/eth", "signing") to an http:// endpoint.
wrk.method = "POST"
wrk.path = "/GetKey"
wrk.body = '{"path":"wallet/eth","purpose":"signing","algorithm":"secp256k1"}'
wrk.headers["Content-Type"] = "application/json"
