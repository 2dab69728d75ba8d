#!/usr/bin/env python3
"""Static checks of teeliza's deployment files, for tests/e2e/deploy.test.sh.

  deploy_check.py cloud FILE        the TDX cloud manifest (deploy/docker-compose.yaml)
  deploy_check.py local FILE        the laptop stack (deploy/docker-compose.local.yaml)
  deploy_check.py dockerfile FILE   deploy/Dockerfile: stages, platform, user, volume, ports,
                                    health checks, commands
  deploy_check.py data-dir FILE     print the Dockerfile's one VOLUME (the data directory)
  deploy_check.py argv FILE TARGET WHAT
                                    print the target's CMD or HEALTHCHECK (WHAT = cmd | health)
                                    as NUL-terminated argv words (shell form: /bin/sh -c TEXT)
  deploy_check.py context SRC DST   copy SRC to DST as `docker build` would send it as the
                                    build context, leaving out what SRC/.dockerignore excludes

The checks print one line per problem and exit 1 when there is any, 0
otherwise. Compose files are read as written (before variable
interpolation), so a secret given inline is seen as such. PyYAML comes with
Debian's docker-compose.
"""
import json
import os
import posixpath
import re
import shlex
import shutil
import sys

import yaml

# Settings whose values are secrets: they may only name a variable that the
# cloud's encrypted environment (or deploy/.env) fills in.
SECRET_NAME = re.compile(r"(SALT|API_KEY|TOKEN|SECRET|PASSWORD|PRIVATE_KEY)$")
# $NAME, ${NAME}, ${NAME:-}, ${NAME-}, ${NAME:?message}, ${NAME?message}: a reference, no value.
SECRET_REF = re.compile(r"^(\$(?P<bare>[A-Z_][A-Z0-9_]*)|\$\{(?P<name>[A-Z_][A-Z0-9_]*)(:?-|:?\?[^}]*)?\})$")
TAPPD_SOCK = "/var/run/tappd.sock"


class Checker:
    def __init__(self, path):
        self.path = path
        self.problems = []
        with open(path, encoding="utf-8") as f:
            self.doc = yaml.safe_load(f)
        if not isinstance(self.doc, dict) or not isinstance(self.doc.get("services"), dict):
            self.fail("no services mapping")
            self.doc = {"services": {}}

    def fail(self, msg):
        self.problems.append(f"{self.path}: {msg}")

    def service(self, name):
        svc = self.doc["services"].get(name)
        if not isinstance(svc, dict):
            self.fail(f"no service '{name}'")
            return None
        return svc

    def env(self, name, svc):
        raw = svc.get("environment") or {}
        out = {}
        if isinstance(raw, dict):
            out = {str(k): "" if v is None else str(v) for k, v in raw.items()}
        elif isinstance(raw, list):
            for item in raw:
                key, sep, val = str(item).partition("=")
                out[key] = val if sep else ""
        else:
            self.fail(f"{name}: environment is neither a list nor a mapping")
        return out

    def check_secrets(self, name, env):
        for key, val in env.items():
            if not SECRET_NAME.search(key):
                continue
            m = SECRET_REF.match(val)
            if not m:
                self.fail(f"{name}: {key} has a value written in the file; it must be ${{{key}}} "
                          "from the encrypted environment")
            elif (m.group("name") or m.group("bare")) != key:
                self.fail(f"{name}: {key} takes ${{{m.group('name') or m.group('bare')}}}, not ${{{key}}}")

    def volumes(self, name, svc):
        """(source, target) of each short-syntax or long-syntax mount."""
        out = []
        for v in svc.get("volumes") or []:
            if isinstance(v, str):
                parts = v.split(":")
                if len(parts) < 2:
                    out.append(("", parts[0]))
                else:
                    out.append((parts[0], parts[1]))
            elif isinstance(v, dict):
                out.append((str(v.get("source", "")), str(v.get("target", ""))))
        return out

    def check_tappd_socket(self, name, svc):
        if (TAPPD_SOCK, TAPPD_SOCK) not in self.volumes(name, svc):
            self.fail(f"{name}: no {TAPPD_SOCK}:{TAPPD_SOCK} mount (tappd's socket)")

    def check_data_volume(self, name, svc, env, data_dir):
        sqlite = env.get("SQLITE_FILE", "")
        if not sqlite.startswith("/"):
            self.fail(f"{name}: SQLITE_FILE must be an absolute path in the image (got '{sqlite}')")
            return
        db_dir = posixpath.dirname(posixpath.normpath(sqlite))
        if data_dir is not None and db_dir != data_dir:
            self.fail(f"{name}: SQLITE_FILE {sqlite} is not in the image's data volume {data_dir}")
        named = self.doc.get("volumes") or {}
        hits = [src for src, dst in self.volumes(name, svc) if posixpath.normpath(dst) == db_dir]
        if not hits:
            self.fail(f"{name}: nothing mounted on {db_dir}, the directory that holds SQLITE_FILE")
        for src in hits:
            if src not in named:
                self.fail(f"{name}: {db_dir} is mounted from '{src}', not from a named volume "
                          "declared under top-level volumes")
        for src, dst in self.volumes(name, svc):
            if src in named and posixpath.normpath(dst) == posixpath.normpath(sqlite):
                self.fail(f"{name}: named volume '{src}' is mounted on the file path {dst}")

    def check_port(self, name, svc, env):
        port = env.get("SERVER_PORT", "")
        if not port.isdigit():
            self.fail(f"{name}: SERVER_PORT is not a literal port number (got '{port}')")
            return
        targets = []
        for p in svc.get("ports") or []:
            if isinstance(p, dict):
                targets.append(str(p.get("target", "")))
            else:
                spec = str(p).split("/")[0]
                targets.append(spec.rsplit(":", 1)[-1])
        if not targets:
            self.fail(f"{name}: no ports published")
        for t in targets:
            if t != port:
                self.fail(f"{name}: port mapping targets container port {t}, "
                          f"but the agent listens on SERVER_PORT={port}")

    def check_command(self, name, svc, first):
        cmd = svc.get("command")
        if not isinstance(cmd, list) or cmd[: len(first)] != first:
            self.fail(f"{name}: command must be the list {first + ['...']} (got {cmd!r})")
            return None
        return cmd

    def check_no_chat(self, name, svc, cmd):
        # `teeliza start` chats on stdin unless --non-interactive; a container's
        # stdin is at end of input, which ends the chat and the process.
        if cmd is not None and "--non-interactive" not in cmd and not svc.get("stdin_open"):
            self.fail(f"{name}: command lacks --non-interactive (the terminal chat ends at once "
                      "without stdin, and the agent with it)")

    def character_of(self, cmd):
        for arg in cmd or []:
            if str(arg).startswith("--character="):
                return str(arg).split("=", 1)[1]
        return None


def check_cloud(c, data_dir):
    svc = c.service("tee")
    if svc is None:
        return
    if not svc.get("image"):
        c.fail("tee: no image")
    if "build" in svc:
        c.fail("tee: a cloud manifest cannot build; give a pushed image")
    cmd = c.check_command("tee", svc, ["teeliza", "start"])
    if cmd is not None and c.character_of(cmd) is None:
        c.fail("tee: command has no --character=...")
    c.check_no_chat("tee", svc, cmd)
    if svc.get("restart") != "always":
        c.fail(f"tee: restart must be 'always' (got {svc.get('restart')!r})")
    env = c.env("tee", svc)
    if env.get("TEE_MODE") != "PRODUCTION":
        c.fail(f"tee: TEE_MODE must be PRODUCTION (got {env.get('TEE_MODE')!r})")
    for key in ("WALLET_SECRET_SALT", "REDPILL_API_KEY", "SMALL_REDPILL_MODEL", "MEDIUM_REDPILL_MODEL",
                "LARGE_REDPILL_MODEL", "SERVER_PORT", "SQLITE_FILE"):
        if key not in env:
            c.fail(f"tee: environment lacks {key}")
    c.check_secrets("tee", env)
    # Safe by default: the REST API behind the cloud's gateway is public, so
    # compose must refuse to start without a token (${API_TOKEN:?message}).
    if not re.match(r"^\$\{API_TOKEN:\?[^}]+\}$", env.get("API_TOKEN", "")):
        c.fail(f"tee: API_TOKEN must be required, ${{API_TOKEN:?message}} (got {env.get('API_TOKEN')!r})")
    m = re.match(r"^\$\{API_RATE_LIMIT:-(\d+)\}$", env.get("API_RATE_LIMIT", ""))
    if not m or int(m.group(1)) == 0:
        c.fail(f"tee: API_RATE_LIMIT must default to a limit, ${{API_RATE_LIMIT:-N}} with N > 0 "
               f"(got {env.get('API_RATE_LIMIT')!r})")
    c.check_tappd_socket("tee", svc)
    c.check_data_volume("tee", svc, env, data_dir)
    c.check_port("tee", svc, env)
    return cmd


def check_local(c, data_dir):
    sim = c.service("simulator")
    agent = c.service("agent")
    if sim is None or agent is None:
        return None
    if (sim.get("build") or {}).get("target") != "simulator":
        c.fail("simulator: not built from the Dockerfile's simulator target")
    if (agent.get("build") or {}).get("target") != "agent":
        c.fail("agent: not built from the Dockerfile's agent target")
    if "command" in sim:
        c.fail("simulator: overrides the image's command; the image's command and HEALTHCHECK "
               "both follow SIMULATOR_PORT, an overriding command may not")
    cmd = c.check_command("agent", agent, ["teeliza", "start"])
    c.check_no_chat("agent", agent, cmd)
    env = c.env("agent", agent)
    if env.get("TEE_MODE") not in ("DOCKER", "LOCAL"):
        c.fail(f"agent: TEE_MODE must be DOCKER (got {env.get('TEE_MODE')!r})")
    endpoint = env.get("DSTACK_SIMULATOR_ENDPOINT")
    extra = [str(h) for h in agent.get("extra_hosts") or []]
    if endpoint is not None:
        # ${TEELIZA_SIMULATOR:-http://simulator:8090}: the service next door unless
        # the operator names another simulator (one on the host, with --no-deps).
        m = re.match(r"^\$\{TEELIZA_SIMULATOR:-http://([^:/]+):(\d+)\}$", endpoint)
        if not m or m.group(1) != "simulator" or m.group(2) != "8090":
            c.fail(f"agent: DSTACK_SIMULATOR_ENDPOINT must be ${{TEELIZA_SIMULATOR:-http://simulator:8090}}, "
                   f"the simulator service unless overridden (got {endpoint!r})")
    elif "host.docker.internal:host-gateway" not in extra:
        c.fail("agent: neither DSTACK_SIMULATOR_ENDPOINT=http://simulator:8090 nor "
               "extra_hosts host.docker.internal:host-gateway: TEE_MODE=DOCKER cannot reach a simulator")
    if endpoint is not None and "host.docker.internal:host-gateway" not in extra:
        c.fail("agent: extra_hosts lacks host.docker.internal:host-gateway (TEE_MODE=DOCKER on Linux)")
    deps = agent.get("depends_on") or {}
    if "simulator" not in deps:
        c.fail("agent: does not depend on the simulator service")
    if "WALLET_SECRET_SALT" not in env:
        c.fail("agent: environment lacks WALLET_SECRET_SALT")
    c.check_secrets("agent", env)
    c.check_data_volume("agent", agent, env, data_dir)
    c.check_port("agent", agent, env)
    return cmd


# ---- Dockerfile ----

def dockerfile_instructions(path):
    """(instruction, argument text) pairs, continuation lines joined, comments dropped."""
    out, cur = [], ""
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not cur and (not line.strip() or line.lstrip().startswith("#")):
                continue
            if cur and line.lstrip().startswith("#"):
                continue
            if line.endswith("\\"):
                cur += line[:-1] + " "
                continue
            cur += line
            word, _, rest = cur.strip().partition(" ")
            out.append((word.upper(), rest.strip()))
            cur = ""
    return out


class Stage:
    def __init__(self, base, name, platform):
        self.base, self.name, self.platform = base, name, platform
        self.parent = None
        self.items = []  # (instruction, argument)

    def own(self, instr):
        return [a for i, a in self.items if i == instr]

    def inherited(self, instr):
        """Last value of instr in this stage or the stages it is built FROM."""
        vals = self.own(instr)
        if vals:
            return vals[-1]
        return self.parent.inherited(instr) if self.parent else None


def parse_stages(path):
    args, stages = {}, []
    for instr, arg in dockerfile_instructions(path):
        if instr == "ARG" and not stages:
            k, _, v = arg.partition("=")
            args[k.strip()] = v.strip()
        elif instr == "FROM":
            words = arg.split()
            platform = None
            while words and words[0].startswith("--"):
                if words[0].startswith("--platform="):
                    platform = words[0].split("=", 1)[1]
                words = words[1:]
            base = re.sub(r"\$\{(\w+)\}", lambda m: args.get(m.group(1), m.group(0)), words[0])
            name = words[2] if len(words) >= 3 and words[1].upper() == "AS" else None
            st = Stage(base, name, platform)
            st.parent = next((x for x in stages if x.name == base), None)
            stages.append(st)
        elif stages:
            stages[-1].items.append((instr, arg))
    return stages


def exec_form(text):
    """The argv of an exec-form (JSON) argument, or None for shell form."""
    text = text.strip()
    if text.startswith("["):
        try:
            v = json.loads(text)
        except ValueError:
            return None
        if isinstance(v, list) and all(isinstance(x, str) for x in v):
            return v
    return None


def command_words(argv):
    """An exec-form CMD's words; for ["sh", "-c", "exec WORDS"] the words of the script."""
    if argv is not None and len(argv) == 3 and argv[:2] == ["sh", "-c"]:
        try:
            words = shlex.split(argv[2])
        except ValueError:
            return None
        return words[1:] if words[:1] == ["exec"] else words
    return argv


def health_command(text):
    """HEALTHCHECK [options] CMD ... -> the command text after CMD."""
    words = text.split()
    while words and words[0].startswith("--"):
        words = words[1:]
    if not words or words[0].upper() != "CMD":
        return None
    return text[text.index(words[0]) + 3:].strip()


def check_dockerfile(path, problems):
    def fail(msg):
        problems.append(f"{path}: {msg}")

    stages = parse_stages(path)
    by_name = {s.name: s for s in stages if s.name}
    for st in stages:
        if st.parent is None and st.platform != "linux/amd64":
            fail(f"stage {st.name or st.base}: FROM an image without --platform=linux/amd64")
        if st.parent is None and st.base != "debian:bookworm-slim":
            fail(f"stage {st.name}: base is {st.base}, not debian:bookworm-slim")
    builder = by_name.get("builder")
    if builder is None:
        fail("no builder stage")
    elif not any("deploy/build-and-install.sh" in a for a in builder.own("RUN")):
        fail("the builder stage does not RUN deploy/build-and-install.sh")
    for target, port, cmd_start in (("simulator", "8090", ["teeliza", "simulator", "--listen", "0.0.0.0"]),
                                    ("agent", "3000", ["teeliza", "start", "--non-interactive"])):
        st = by_name.get(target)
        if st is None:
            fail(f"no {target} target")
            continue
        chain, x = [], st
        while x is not None:
            chain.append(x)
            x = x.parent
        if builder in chain or chain[-1].base != "debian:bookworm-slim":
            fail(f"{target}: not built on a fresh debian:bookworm-slim runtime stage")
        runs = " ".join(a for c in chain for a in c.own("RUN"))
        if "runtime-deps.txt" not in runs:
            fail(f"{target}: its runtime stage does not install deploy/runtime-deps.txt")
        copies = [a for c in chain for a in c.own("COPY")]
        if not any(a.startswith("--from=builder") for a in copies):
            fail(f"{target}: nothing copied from the builder")
        user = st.inherited("USER")
        if user is None or user.split(":")[0] in ("root", "0"):
            fail(f"{target}: runs as root (USER {user})")
        if st.inherited("WORKDIR") != "/app":
            fail(f"{target}: WORKDIR is not /app")
        vols = [v for c in chain for a in c.own("VOLUME") for v in (exec_form(a) or a.split())]
        if vols != ["/app/data"]:
            fail(f"{target}: VOLUME is {vols}, not ['/app/data']")
        exposes = [p for c in chain for a in c.own("EXPOSE") for p in a.split()]
        if port not in exposes:
            fail(f"{target}: does not EXPOSE {port}")
        health = st.inherited("HEALTHCHECK")
        if health is None or health_command(health) is None:
            fail(f"{target}: no HEALTHCHECK CMD")
        elif "teeliza healthcheck" not in " ".join(exec_form(health_command(health)) or
                                                    [health_command(health)]):
            fail(f"{target}: the HEALTHCHECK does not use `teeliza healthcheck`")
        cmd = command_words(exec_form(st.inherited("CMD") or ""))
        if cmd is None or cmd[: len(cmd_start)] != cmd_start:
            fail(f"{target}: CMD is not {cmd_start}")
        # apt in a build asks no questions (debconf falls back to prompts otherwise).
        frontend = any(re.search(r"\bDEBIAN_FRONTEND=noninteractive\b", a)
                       for c in chain for a in c.own("ARG") + c.own("ENV"))
        for c in chain:
            for a in c.own("RUN"):
                if "apt-get install" in a and not frontend and "DEBIAN_FRONTEND=noninteractive" not in a:
                    fail(f"stage {c.name}: apt-get runs without DEBIAN_FRONTEND=noninteractive")
    sim = by_name.get("simulator")
    if sim is not None:
        # The HEALTHCHECK must probe the port the simulator serves: both read SIMULATOR_PORT.
        env = " ".join(a for a in sim.own("ENV"))
        if "SIMULATOR_PORT=8090" not in env:
            fail("simulator: ENV SIMULATOR_PORT=8090 missing")
        health = health_command(sim.inherited("HEALTHCHECK") or "") or ""
        if "${SIMULATOR_PORT" not in health or re.search(r":8090\b", health):
            fail(f"simulator: the HEALTHCHECK does not probe ${{SIMULATOR_PORT}} (got {health!r})")
        words = command_words(exec_form(sim.inherited("CMD") or "")) or []
        port_arg = words[words.index("--port") + 1] if "--port" in words[:-1] else ""
        if not port_arg.startswith("${SIMULATOR_PORT"):
            fail(f"simulator: CMD does not serve --port ${{SIMULATOR_PORT}} (got {words!r})")
    agent = by_name.get("agent")
    if agent is not None:
        env = " ".join(a for a in agent.own("ENV"))
        m = re.search(r"SQLITE_FILE=(\S+)", env)
        if not m or posixpath.dirname(m.group(1)) != "/app/data":
            fail("agent: ENV SQLITE_FILE is not a file in /app/data")
        if "SERVER_PORT=3000" not in env:
            fail("agent: ENV SERVER_PORT=3000 missing")
    if stages and stages[-1].name != "agent":
        fail("the last stage (what a build without --target gives) is not the agent")
    return by_name


def target_argv(path, target, what):
    st = {s.name: s for s in parse_stages(path) if s.name}.get(target)
    if st is None:
        return None
    text = st.inherited("CMD") if what == "cmd" else health_command(st.inherited("HEALTHCHECK") or "")
    if text is None:
        return None
    argv = exec_form(text)
    return argv if argv is not None else ["/bin/sh", "-c", text]


# ---- build context ----

def ignore_regex(pattern):
    """A .dockerignore pattern as a regex over '/'-separated relative paths (Go filepath.Match + '**')."""
    pat = posixpath.normpath(pattern.strip()).lstrip("/")
    out, i = "", 0
    while i < len(pat):
        c = pat[i]
        if pat.startswith("**", i):
            i += 2
            if pat.startswith("/", i):
                out += "(?:.*/)?"
                i += 1
            else:
                out += ".*"
            continue
        if c == "*":
            out += "[^/]*"
        elif c == "?":
            out += "[^/]"
        elif c == "[":
            j = pat.find("]", i)
            if j < 0:
                out += re.escape(c)
            else:
                cls = pat[i + 1:j].replace("\\", "\\\\")
                out += "[" + ("^" + cls[1:] if cls.startswith("^") else cls) + "]"
                i = j
        else:
            out += re.escape(c)
        i += 1
    return re.compile("^" + out + "$")


def copy_context(src, dst):
    rules = []
    ignore_file = os.path.join(src, ".dockerignore")
    if os.path.exists(ignore_file):
        with open(ignore_file, encoding="utf-8") as f:
            for line in f:
                line = line.strip()
                if not line or line.startswith("#"):
                    continue
                neg = line.startswith("!")
                rules.append((neg, ignore_regex(line[1:] if neg else line)))

    def excluded(rel):
        parts = rel.split("/")
        result = False
        for neg, rx in rules:
            # A pattern excludes a path when it matches the path or one of its parents.
            if any(rx.match("/".join(parts[:n])) for n in range(1, len(parts) + 1)):
                result = not neg
        return result

    count = 0
    for root, dirs, files in os.walk(src):
        rel_root = os.path.relpath(root, src)
        rel_root = "" if rel_root == "." else rel_root + "/"
        dirs[:] = [d for d in dirs if not excluded(rel_root + d) or os.path.islink(os.path.join(root, d))]
        for name in files + [d for d in dirs if os.path.islink(os.path.join(root, d))]:
            rel = rel_root + name
            if excluded(rel):
                continue
            target = os.path.join(dst, rel)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            source = os.path.join(root, name)
            if os.path.islink(source):
                os.symlink(os.readlink(source), target)
            else:
                shutil.copy2(source, target)
            count += 1
        dirs[:] = [d for d in dirs if not os.path.islink(os.path.join(root, d))]
    return count


def main(argv):
    cmd = argv[1] if len(argv) > 1 else ""
    if cmd in ("cloud", "local") and len(argv) == 3:
        data_dir = os.environ.get("TEELIZA_IMAGE_DATA_DIR")
        c = Checker(argv[2])
        (check_cloud if cmd == "cloud" else check_local)(c, data_dir)
        problems = c.problems
    elif cmd == "dockerfile" and len(argv) == 3:
        problems = []
        check_dockerfile(argv[2], problems)
    elif cmd == "data-dir" and len(argv) == 3:
        st = {s.name: s for s in parse_stages(argv[2]) if s.name}.get("agent")
        vol = st.inherited("VOLUME") if st else None
        vols = (exec_form(vol) or vol.split()) if vol else []
        if len(vols) != 1:
            print(f"{argv[2]}: expected one VOLUME, found {vols}", file=sys.stderr)
            return 1
        print(vols[0])
        return 0
    elif cmd == "argv" and len(argv) == 5 and argv[4] in ("cmd", "health"):
        words = target_argv(argv[2], argv[3], argv[4])
        if words is None:
            print(f"{argv[2]}: target {argv[3]} has no {argv[4]}", file=sys.stderr)
            return 1
        sys.stdout.write("".join(w + "\0" for w in words))
        return 0
    elif cmd == "context" and len(argv) == 4:
        n = copy_context(argv[2], argv[3])
        print(f"{n} files in the build context")
        return 0
    else:
        print(__doc__, file=sys.stderr)
        return 64
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
