#!/usr/bin/env python3
"""Replica tests' helpers (tests/e2e/replicas.test.sh; docs/DEPLOY.md, "Scale-out").

  stub [--delay-ms N]   a deterministic OpenAI-compatible model on a free loopback port: it prints
                        "port N" and answers every chat completion with the text
                        "echo:" + sha256(m)[:8], m the last "m-<n>" in the prompt, after the delay.
  drive ...             the round-robin client of the scale-out spec: concurrent senders, each message
                        with its own Idempotency-Key and text m-<n>, sent to the replicas in turn; a share
                        resent to another replica with the same key, a share sent to two replicas at once.
                        A replica that stops answering is skipped; the message goes to the next one with
                        the same key. 409 and 503 are retried after Retry-After. Then it checks the
                        invariants on the database (SQLite file, or POSTGRES_URL through psql) and prints
                        "N passed, N failed".
Not a proxy: each request goes straight to one replica.
"""
import argparse
import hashlib
import http.client
import http.server
import json
import os
import random
import re
import signal
import socketserver
import sqlite3
import subprocess
import sys
import threading
import time


# ---------------------------------------------------------------- stub model
def stub(args):
    delay = args.delay_ms / 1000.0

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def do_POST(self):
            n = int(self.headers.get("Content-Length", "0"))
            req = json.loads(self.rfile.read(n) or b"{}")
            prompt = json.dumps(req.get("messages", ""))
            found = re.findall(r"m-[0-9]+", prompt)
            m = found[-1] if found else "none"
            time.sleep(delay)
            text = "echo:" + hashlib.sha256(m.encode()).hexdigest()[:8]
            content = "```json\n" + json.dumps({"user": "Teeliza", "text": text, "action": "NONE"}) + "\n```"
            body = json.dumps({"id": "stub", "object": "chat.completion", "model": req.get("model", "stub"),
                               "choices": [{"index": 0, "finish_reason": "stop",
                                            "message": {"role": "assistant", "content": content}}],
                               "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
        daemon_threads = True

    srv = Server(("127.0.0.1", 0), Handler)
    print("port %d" % srv.server_address[1], flush=True)
    signal.signal(signal.SIGTERM, lambda *a: os._exit(0))
    srv.serve_forever()


# ---------------------------------------------------------------- driver
class Replicas:
    """The replicas' ports, in turn; one that refused a connection is skipped from then on."""

    def __init__(self, ports):
        self.ports = ports
        self.down = set()
        self.next = 0
        self.lock = threading.Lock()

    def pick(self, avoid=None):
        with self.lock:
            for _ in range(2 * len(self.ports)):
                p = self.ports[self.next % len(self.ports)]
                self.next += 1
                if p not in self.down and p != avoid:
                    return p
            live = [p for p in self.ports if p not in self.down]
            return live[0] if live else None

    def mark_down(self, port):
        with self.lock:
            self.down.add(port)


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.status = {}
        self.errors = []
        self.retries = 0

    def count(self, status):
        with self.lock:
            self.status[status] = self.status.get(status, 0) + 1

    def error(self, what):
        with self.lock:
            self.errors.append(what)


def post_once(port, agent, body, key, timeout):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request("POST", "/%s/message" % agent, body=body,
                  headers={"Content-Type": "application/json", "Idempotency-Key": key})
        r = c.getresponse()
        return r.status, r.read(), r.getheader("Retry-After")
    finally:
        c.close()


def send(reps, stats, agent, body, key, first_port=None, timeout=60):
    """Send until a 200: the same key on whichever replica is up; returns the 200's body."""
    port = first_port or reps.pick()
    deadline = time.time() + 120
    while time.time() < deadline:
        if port is None:
            stats.error("no replica left for " + key)
            return None
        try:
            status, data, retry = post_once(port, agent, body, key, timeout)
        except (ConnectionError, OSError, http.client.HTTPException):
            # refused or cut off mid-request (a killed replica): the next one, same key
            stats.count(0)  # 0: no HTTP answer (refused or cut off)
            try:
                post_once_probe = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
                post_once_probe.request("GET", "/healthz")
                post_once_probe.getresponse().read()
            except (ConnectionError, OSError, http.client.HTTPException):
                reps.mark_down(port)
            port = reps.pick(avoid=port)
            with stats.lock:
                stats.retries += 1
            continue
        stats.count(status)
        if status == 200:
            return data
        if status in (409, 503):
            with stats.lock:
                stats.retries += 1
            time.sleep(min(float(retry or "1"), 5.0) / 4)
            continue
        stats.error("%s: HTTP %d %s" % (key, status, data[:200]))
        return None
    stats.error("%s: no 200 within 120 s" % key)
    return None


def drive(args):
    ports = [int(p) for p in args.ports.split(",")]
    reps = Replicas(ports)
    stats = Stats()
    rng = random.Random(args.seed)
    plan = []
    for n in range(args.messages):
        room = n % args.rooms
        user = (n // args.rooms) % 2
        r = rng.random()
        mode = "twice" if r < args.resend else ("both" if r < args.resend + args.concurrent else "once")
        plan.append((n, room, user, mode))
    mismatches = []
    work = list(plan)
    work_lock = threading.Lock()
    done_count = [0]
    killed = [False]

    def maybe_kill():
        if args.kill_pid and not killed[0] and done_count[0] >= args.messages * args.kill_at:
            killed[0] = True
            try:
                os.kill(args.kill_pid, signal.SIGKILL)
                print("killed replica pid %d after %d messages" % (args.kill_pid, done_count[0]), flush=True)
            except ProcessLookupError:
                pass

    def one(n, room, user, mode):
        key = "k-%d-%s" % (n, args.run)
        body = json.dumps({"text": "m-%d-%s" % (n, args.run), "userId": "user-%d-%d" % (room, user),
                           "roomId": "room-%d-%s" % (room, args.run), "userName": "u%d" % user}).encode()
        if mode == "both":
            p1 = reps.pick()
            p2 = reps.pick(avoid=p1)
            got = [None, None]
            ts = [threading.Thread(target=lambda i, p: got.__setitem__(i, send(reps, stats, args.agent, body, key, p)),
                                   args=(i, p)) for i, p in ((0, p1), (1, p2))]
            for t in ts:
                t.start()
            for t in ts:
                t.join()
            if got[0] is not None and got[1] is not None and got[0] != got[1]:
                mismatches.append(key)
            return
        first = send(reps, stats, args.agent, body, key)
        if mode == "twice" and first is not None:
            again = send(reps, stats, args.agent, body, key)
            if again != first:
                mismatches.append(key)

    def worker():
        while True:
            with work_lock:
                if not work:
                    return
                item = work.pop(0)
            one(*item)
            with work_lock:
                done_count[0] += 1
                maybe_kill()

    t0 = time.time()
    threads = [threading.Thread(target=worker) for _ in range(args.senders)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.time() - t0
    print("sent %d messages in %.1f s; statuses %s; retries %d" %
          (args.messages, elapsed, json.dumps(stats.status, sort_keys=True), stats.retries), flush=True)
    return check(args, plan, stats, mismatches)


# ---------------------------------------------------------------- invariants
SQL = {
    "sqlite": {
        "user_msgs": "SELECT json_extract(content,'$.text'), COUNT(*) FROM memories WHERE userId <> agentId "
                     "AND json_extract(content,'$.text') LIKE 'm-%-{run}' GROUP BY 1",
        "replies_per_room": "SELECT roomId, SUM(userId = agentId), SUM(userId <> agentId) FROM memories "
                            "WHERE roomId IN ({rooms}) GROUP BY roomId",
        "requests": "SELECT request_key, state, attempts, (SELECT COUNT(*) FROM memories m WHERE m.id = r.reply_memory_id), "
                    "(SELECT COUNT(*) FROM memories m WHERE m.id = r.user_memory_id) FROM requests r "
                    "WHERE request_key LIKE '%-{run}'",
        "participants": "SELECT roomId, COUNT(*), COUNT(DISTINCT userId) FROM participants "
                        "WHERE roomId IN ({rooms}) GROUP BY roomId",
        "order": "SELECT COUNT(*) FROM requests r JOIN memories u ON u.id = r.user_memory_id "
                 "JOIN memories a ON a.id = r.reply_memory_id WHERE r.request_key LIKE '%-{run}' "
                 "AND NOT (a.createdAt > u.createdAt OR (a.createdAt = u.createdAt AND a.rowid > u.rowid))",
    },
    # PostgreSQL: the design's table names (teeliza_requests with camelCase columns)
    "postgres": {
        "user_msgs": "SELECT content->>'text', COUNT(*) FROM memories WHERE \"userId\" <> \"agentId\" "
                     "AND content->>'text' LIKE 'm-%-{run}' GROUP BY 1",
        "replies_per_room": "SELECT \"roomId\", SUM(CASE WHEN \"userId\" = \"agentId\" THEN 1 ELSE 0 END), "
                            "SUM(CASE WHEN \"userId\" <> \"agentId\" THEN 1 ELSE 0 END) FROM memories "
                            "WHERE \"roomId\" IN ({rooms}) GROUP BY \"roomId\"",
        "requests": "SELECT \"requestKey\", state, attempts, (SELECT COUNT(*) FROM memories m WHERE m.id = r.\"replyMemoryId\"), "
                    "(SELECT COUNT(*) FROM memories m WHERE m.id = r.\"userMemoryId\") FROM teeliza_requests r "
                    "WHERE \"requestKey\" LIKE '%-{run}'",
        "participants": "SELECT \"roomId\", COUNT(*), COUNT(DISTINCT \"userId\") FROM participants "
                        "WHERE \"roomId\" IN ({rooms}) GROUP BY \"roomId\"",
        "order": "SELECT COUNT(*) FROM teeliza_requests r JOIN memories u ON u.id = r.\"userMemoryId\" "
                 "JOIN memories a ON a.id = r.\"replyMemoryId\" WHERE r.\"requestKey\" LIKE '%-{run}' "
                 "AND NOT (a.\"createdAt\" > u.\"createdAt\")",
    },
}


def query(args, sql):
    if os.environ.get("POSTGRES_URL"):
        out = subprocess.run(["psql", os.environ["POSTGRES_URL"], "-AtF", "\t", "-c", sql],
                             check=True, capture_output=True, text=True).stdout
        return [tuple(line.split("\t")) for line in out.splitlines() if line]
    db = sqlite3.connect("file:%s?mode=ro" % args.db, uri=True, timeout=30)
    try:
        return [tuple(str(v) for v in row) for row in db.execute(sql)]
    finally:
        db.close()


def check(args, plan, stats, mismatches):
    dialect = "postgres" if os.environ.get("POSTGRES_URL") else "sqlite"
    q = SQL[dialect]
    # the run's rooms: where its messages (texts m-<n>-<run>) are
    rooms = ("SELECT DISTINCT roomId FROM memories WHERE json_extract(content,'$.text') LIKE 'm-%%-%s'"
             if dialect == "sqlite" else
             "SELECT DISTINCT \"roomId\" FROM memories WHERE content->>'text' LIKE 'm-%%-%s'") % args.run
    passed = failed = 0

    def verdict(what, ok, detail=""):
        nonlocal passed, failed
        if ok:
            passed += 1
            print("ok: " + what)
        else:
            failed += 1
            print("FAIL: %s %s" % (what, detail))

    verdict("every message answered with a 200 (no errors but deliberate 409/503 retries)",
            not stats.errors and not any(isinstance(s, int) and s >= 500 and s != 503 for s in stats.status),
            "%s %s" % (stats.errors[:5], stats.status))
    msgs = query(args, q["user_msgs"].format(run=args.run))
    counts = {t: int(c) for t, c in msgs}
    verdict("1. each message stored once (%d texts, %d expected)" % (len(counts), len(plan)),
            len(counts) == len(plan) and all(c == 1 for c in counts.values()),
            "missing %d, doubled %s" % (len(plan) - len(counts), [t for t, c in counts.items() if c > 1][:5]))
    per_room = query(args, q["replies_per_room"].format(rooms=rooms))
    verdict("2. as many agent replies as user messages in every room (%d rooms)" % len(per_room),
            len(per_room) == args.rooms and all(a == u for _, a, u in per_room),
            str([r for r in per_room if r[1] != r[2]][:5]))
    reqs = query(args, q["requests"].format(run=args.run))
    # a reply answered while the database was away is recorded by its replica's background retry
    # once the database is back (api_idem_pending.c): give that a moment, not a pass
    for _ in range(20):
        if all(r[1] == "done" for r in reqs):
            break
        time.sleep(0.5)
        reqs = query(args, q["requests"].format(run=args.run))
    verdict("2. exactly one reply row and one message row per request (%d requests)" % len(reqs),
            len(reqs) == len(plan) and all(r[3] == "1" and r[4] == "1" for r in reqs),
            str([r for r in reqs if r[3] != "1" or r[4] != "1"][:5]))
    verdict("3. every request done", all(r[1] == "done" for r in reqs),
            str([r for r in reqs if r[1] != "done"][:5]))
    verdict("3. duplicates got byte-identical bodies (%d resent or sent twice)" %
            sum(1 for p in plan if p[3] != "once"), not mismatches, str(mismatches[:5]))
    parts = query(args, q["participants"].format(rooms=rooms))
    verdict("4. each room has its 2 users and the agent, no duplicate participant",
            len(parts) == args.rooms and all(c == "3" and d == "3" for _, c, d in parts),
            str([p for p in parts if p[1] != "3" or p[2] != "3"][:5]))
    bad_order = query(args, q["order"].format(run=args.run))
    verdict("5. every reply stored after its message", bad_order and bad_order[0][0] == "0", str(bad_order))
    if args.expect_takeover:
        taken = [r for r in reqs if int(r[2]) >= 2]
        verdict("kill: requests the killed replica held were taken over (attempts >= 2: %d)" % len(taken),
                len(taken) >= 1)
    print("%d passed, %d failed" % (passed, failed), flush=True)
    return 0 if failed == 0 else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("stub")
    s.add_argument("--delay-ms", type=int, default=0)
    d = sub.add_parser("drive")
    d.add_argument("--ports", required=True, help="the replicas' ports, comma-separated")
    d.add_argument("--agent", required=True)
    d.add_argument("--db", help="the SQLite file (without POSTGRES_URL)")
    d.add_argument("--run", default="r1", help="tags keys and rooms, so that runs on one database stay apart")
    d.add_argument("--messages", type=int, default=1000)
    d.add_argument("--rooms", type=int, default=50)
    d.add_argument("--senders", type=int, default=8)
    d.add_argument("--resend", type=float, default=0.10)
    d.add_argument("--concurrent", type=float, default=0.05)
    d.add_argument("--seed", type=int, default=12)
    d.add_argument("--kill-pid", type=int, default=0, help="kill -9 this replica once kill-at of the messages are done")
    d.add_argument("--kill-at", type=float, default=0.5)
    d.add_argument("--expect-takeover", action="store_true")
    args = ap.parse_args()
    if args.cmd == "stub":
        stub(args)
        return 0
    if not os.environ.get("POSTGRES_URL") and not args.db:
        ap.error("drive needs --db or POSTGRES_URL")
    return drive(args)


if __name__ == "__main__":
    sys.exit(main())
