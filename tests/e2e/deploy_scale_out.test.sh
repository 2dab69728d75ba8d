#!/usr/bin/env bash
# The scale-out deployment files (deploy/scale-out/, docs/DEPLOY.md "Scale-out"), offline:
#  1. the compose file parses with Debian's docker-compose (`config`), refuses to start without its
#     secrets, and has the shape of the design: PostgreSQL with a health check, the agent replicated
#     (deploy.replicas >= 2) with POSTGRES_URL and a /readyz health check, a balancer in front;
#  2. the Kubernetes manifests pass tests/e2e/k8s_check.py (a schema subset of the Kubernetes API,
#     k8s_schema.json, and the cross-document checks it lists), and broken variants of them fail
#     with the reason named.
set -euo pipefail

src=${TEELIZA_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
# shellcheck source=../lib/e2e.sh
. "$src/tests/lib/e2e.sh"
e2e_setup deploy-scale-out
dir="$src/deploy/scale-out"
k8s="$src/deploy/scale-out/kubernetes"
checker="$src/tests/e2e/k8s_check.py"
py=/usr/bin/python3 # Debian's, with python3-yaml and python3-jsonschema
[ -x "$py" ] || py=python3
"$py" -c 'import yaml, jsonschema' 2>/dev/null || { echo "SKIP: python3-yaml or python3-jsonschema missing"; exit 77; }

# ---- 1. compose ----
if command -v docker-compose >/dev/null; then
	check_rc "compose refuses to start without POSTGRES_PASSWORD" 1 \
		env -u POSTGRES_PASSWORD WALLET_SECRET_SALT=s API_TOKEN=t docker-compose -f "$dir/docker-compose.yaml" config -q
	check_rc "scale-out compose parses" 0 \
		env POSTGRES_PASSWORD=p WALLET_SECRET_SALT=s API_TOKEN=t docker-compose -f "$dir/docker-compose.yaml" config
	cp "$tmp/out" "$tmp/compose.yaml"
else
	echo "note: no docker-compose; the compose file is read with python3-yaml only"
	cp "$dir/docker-compose.yaml" "$tmp/compose.yaml"
fi
shape=$("$py" - "$tmp/compose.yaml" <<'PY'
import sys, yaml
c = yaml.safe_load(open(sys.argv[1]))["services"]
t, db = c["teeliza"], c["db"]
env = t["environment"]
env = env if isinstance(env, dict) else dict(e.split("=", 1) for e in env)
out = []
out.append("replicas>=2" if t.get("deploy", {}).get("replicas", 1) >= 2 else "not replicated")
out.append("postgres_url" if env.get("POSTGRES_URL", "").startswith("postgresql://") else "no POSTGRES_URL")
out.append("readyz" if any("/readyz" in str(x) for x in t.get("healthcheck", {}).get("test", [])) else "no readyz check")
out.append("db-health" if db.get("healthcheck") else "db without health check")
out.append("lb" if "lb" in c and "ports" in c["lb"] and "ports" not in t else "no balancer in front")
print(" ".join(out))
PY
)
check_eq "compose: replicated agent on PostgreSQL, /readyz checked, a balancer in front" "$shape" \
	"replicas>=2 postgres_url readyz db-health lb"

# ---- 2. Kubernetes ----
check_rc "Kubernetes manifests pass the schema and cross checks" 0 "$py" "$checker" "$k8s"/*.yaml
# broken variants: each must fail, naming why
broken() { # what expected-text sed-expression file
	local f="$tmp/$(basename "$4")"
	cp "$k8s"/*.yaml "$tmp/"
	sed -i "$3" "$f"
	if cmp -s "$f" "$4"; then
		fail "$1: the edit changed nothing"
		return
	fi
	local rc=0
	"$py" "$checker" "$tmp"/*.yaml >"$tmp/out" 2>&1 || rc=$?
	if [ "$rc" = 1 ] && grep -qF -- "$2" "$tmp/out"; then ok "$1"; else fail "$1: exit $rc: $(head -c 400 "$tmp/out")"; fi
	rm -f "$tmp"/*.yaml
}
broken "a misspelt field is refused" "Additional properties are not allowed ('replica' was unexpected)" \
	's/^  replicas: 3$/  replica: 3/' "$k8s/teeliza.yaml"
broken "a string where a port number goes" "containerPort: '3000' is not of type 'integer'" \
	's/containerPort: 3000/containerPort: "3000"/' "$k8s/teeliza.yaml"
broken "a Service port the pods do not serve" "targetPort 3001 is not a container port" \
	's/targetPort: 3000/targetPort: 3001/' "$k8s/teeliza.yaml"
broken "a selector that misses the pods" "does not match its pod labels" \
	'0,/      app: teeliza$/s//      app: teeliza-x/' "$k8s/teeliza.yaml"
broken "readiness on /healthz" "readinessProbe must GET /readyz" \
	's|path: /readyz|path: /healthz|' "$k8s/teeliza.yaml"
broken "a grace period shorter than the lease" "must exceed the request lease" \
	's/terminationGracePeriodSeconds: 150/terminationGracePeriodSeconds: 30/' "$k8s/teeliza.yaml"
broken "a secret key nobody defined" "has no key wallet-salt" \
	's/^  wallet-salt: change-me$/  salt: change-me/' "$k8s/secret.example.yaml"
broken "an image by tag" "is not pinned by digest" \
	's|image: ghcr.io/example/teeliza@sha256:.*|image: ghcr.io/example/teeliza:latest|' "$k8s/teeliza.yaml"
broken "a StatefulSet without its headless Service" "is not a headless Service" \
	's/  clusterIP: None/  clusterIP: ""/' "$k8s/postgres.yaml"
broken "no POSTGRES_URL" "no POSTGRES_URL" \
	's/- name: POSTGRES_URL/- name: POSTGRES_URI/' "$k8s/teeliza.yaml"

e2e_finish "scale-out deployment"
