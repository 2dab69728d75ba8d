-- wrk: POST Eliza's direct-client message body to /<agent>/message.
-- $BENCH_AGENT: the agent (default the bundled "Teeliza").
-- $BENCH_MODE:
--   users (default)  {"text":"hello","userId":"u<N>"}: a new user every request,
--                    all in the agent's default room, which so gains a participant
--                    every request (Eliza's state lists them all in the prompt)
--   one              {"text":"hello","userId":"u0"}: one conversation
--   rooms            {"text":"hello","userId":"u<N>","roomId":"r<N>"}: a new
--                    user in a room of its own every request
-- $BENCH_USER_BASE: the first N (default 100000, above bench_message's users).
local path = "/" .. (os.getenv("BENCH_AGENT") or "Teeliza") .. "/message"
local mode = os.getenv("BENCH_MODE") or "users"
local headers = { ["Content-Type"] = "application/json" }
local n = tonumber(os.getenv("BENCH_USER_BASE") or "100000")

if mode ~= "users" and mode ~= "one" and mode ~= "rooms" then
	error("BENCH_MODE must be users, one or rooms, not " .. mode)
end

request = function()
	n = n + 1
	local body
	if mode == "one" then
		body = '{"text":"hello","userId":"u0"}'
	elseif mode == "rooms" then
		body = '{"text":"hello","userId":"u' .. n .. '","roomId":"r' .. n .. '"}'
	else
		body = '{"text":"hello","userId":"u' .. n .. '"}'
	end
	return wrk.format("POST", path, headers, body)
end
