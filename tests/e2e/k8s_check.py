#!/usr/bin/env python3
"""Check Kubernetes manifests offline: k8s_check.py FILE... (exit 0: fine; 1: each problem on a line).

1. Schema: every document validates against k8s_schema.json, a subset of the Kubernetes API
   (Deployment, StatefulSet, Service, Secret, PodDisruptionBudget) with every other field refused,
   so that a misspelt or misplaced field fails instead of being silently dropped by the API server.
2. Across documents, what the API server would accept but the deployment would not work with:
   - a workload's selector matches its pod template's labels; a PodDisruptionBudget selects a workload;
   - a Service selects some workload's pods, and each targetPort is one of their container ports;
   - a StatefulSet's serviceName is a headless Service (clusterIP: None) of the set;
   - each secretKeyRef names a Secret of the set that has that key;
   - each probe's port is a port of its container.
3. teeliza's replicas (a Deployment whose container runs `teeliza start`): at least 2 replicas, the
   image pinned by digest, readinessProbe GET /readyz and livenessProbe GET /healthz, POSTGRES_URL
   (or DATABASE_URL) and TEELIZA_INSTANCE_ID set, and terminationGracePeriodSeconds above
   TEELIZA_REQUEST_LEASE (default 120) so that in-flight replies finish.
Needs python3-yaml and python3-jsonschema (Debian packages; scripts/install-deps.sh).
"""
import json
import os
import re
import sys

import jsonschema
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))


def load(paths):
    docs = []
    for p in paths:
        with open(p) as f:
            for i, d in enumerate(yaml.safe_load_all(f)):
                if d is not None:
                    docs.append(("%s#%d" % (os.path.basename(p), i + 1), d))
    return docs


def pods_of(docs):
    """(where, kind/name, pod labels, pod spec) of every workload."""
    for where, d in docs:
        if d.get("kind") in ("Deployment", "StatefulSet"):
            t = d.get("spec", {}).get("template", {})
            yield where, "%s/%s" % (d["kind"], d["metadata"]["name"]), t.get("metadata", {}).get("labels", {}), t.get("spec", {})


def selects(sel, labels):
    return bool(sel) and all(labels.get(k) == v for k, v in sel.items())


def container_ports(spec):
    out = set()
    for c in spec.get("containers", []):
        for p in c.get("ports", []):
            out.add(p.get("containerPort"))
            if "name" in p:
                out.add(p["name"])
    return out


def env_value(c, name):
    for e in c.get("env", []):
        if e.get("name") == name:
            return e
    return None


def check(docs):
    problems = []
    with open(os.path.join(HERE, "k8s_schema.json")) as f:
        schema = json.load(f)
    validator = jsonschema.Draft7Validator(schema)
    for where, d in docs:
        for e in sorted(validator.iter_errors(d), key=lambda e: list(e.absolute_path)):
            path = "/".join(str(p) for p in e.absolute_path) or "(top)"
            problems.append("%s: %s: %s" % (where, path, e.message))
    if problems:
        return problems  # the cross checks below assume the shapes the schema guarantees

    workloads = list(pods_of(docs))
    secrets = {d["metadata"]["name"]: set(d.get("stringData", {})) | set(d.get("data", {}))
               for _, d in docs if d["kind"] == "Secret"}
    services = {d["metadata"]["name"]: d for _, d in docs if d["kind"] == "Service"}

    for where, d in docs:
        kind, name, spec = d["kind"], d["metadata"]["name"], d.get("spec", {})
        if kind in ("Deployment", "StatefulSet"):
            labels = spec["template"]["metadata"]["labels"]
            if not selects(spec["selector"]["matchLabels"], labels):
                problems.append("%s: %s/%s: selector %s does not match its pod labels %s" %
                                (where, kind, name, spec["selector"]["matchLabels"], labels))
        if kind == "StatefulSet":
            svc = services.get(spec["serviceName"])
            if svc is None or svc["spec"].get("clusterIP") != "None":
                problems.append("%s: StatefulSet/%s: serviceName %s is not a headless Service of these files" %
                                (where, name, spec["serviceName"]))
        if kind == "PodDisruptionBudget":
            if not any(selects(spec["selector"]["matchLabels"], l) for _, _, l, _ in workloads):
                problems.append("%s: PodDisruptionBudget/%s selects no workload" % (where, name))
        if kind == "Service" and spec.get("type") != "ExternalName":
            hit = [w for w in workloads if selects(spec.get("selector", {}), w[2])]
            if not hit:
                problems.append("%s: Service/%s: selector %s selects no workload's pods" % (where, name, spec.get("selector")))
            for p in spec["ports"]:
                tp = p.get("targetPort", p["port"])
                for w in hit:
                    if tp not in container_ports(w[3]):
                        problems.append("%s: Service/%s: targetPort %s is not a container port of %s" % (where, name, tp, w[1]))

    for where, what, labels, pod in workloads:
        for c in pod.get("containers", []):
            ports = {p["containerPort"] for p in c.get("ports", [])} | {p["name"] for p in c.get("ports", []) if "name" in p}
            for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
                for how in ("httpGet", "tcpSocket"):
                    port = c.get(probe, {}).get(how, {}).get("port")
                    if port is not None and port not in ports:
                        problems.append("%s: %s: %s %s port %s is not a port of container %s" % (where, what, probe, how, port, c["name"]))
            for e in c.get("env", []):
                ref = e.get("valueFrom", {}).get("secretKeyRef")
                if ref and not ref.get("optional"):
                    if ref["name"] not in secrets:
                        problems.append("%s: %s: env %s: no Secret %s in these files" % (where, what, e["name"], ref["name"]))
                    elif ref["key"] not in secrets[ref["name"]]:
                        problems.append("%s: %s: env %s: Secret %s has no key %s" % (where, what, e["name"], ref["name"], ref["key"]))
            if "teeliza" in c.get("args", []) + c.get("command", []) and "start" in c.get("args", []) + c.get("command", []):
                problems += teeliza_rules(where, what, c, pod, docs)
    return problems


def teeliza_rules(where, what, c, pod, docs):
    p = []
    dep = next((d for w, d in docs if w == where), {})
    if dep.get("kind") != "Deployment" or dep["spec"].get("replicas", 1) < 2:
        p.append("%s: %s: teeliza replicas belong in a Deployment with replicas >= 2" % (where, what))
    if not re.search(r"@sha256:[0-9a-f]{64}$", c["image"]):
        p.append("%s: %s: image %s is not pinned by digest (@sha256:...)" % (where, what, c["image"]))
    if c.get("readinessProbe", {}).get("httpGet", {}).get("path") != "/readyz":
        p.append("%s: %s: readinessProbe must GET /readyz (false while the database is unreachable)" % (where, what))
    if c.get("livenessProbe", {}).get("httpGet", {}).get("path") != "/healthz":
        p.append("%s: %s: livenessProbe must GET /healthz (a lost database must not restart the pod)" % (where, what))
    if env_value(c, "POSTGRES_URL") is None and env_value(c, "DATABASE_URL") is None:
        p.append("%s: %s: no POSTGRES_URL: the replicas would each use their own SQLite file" % (where, what))
    if env_value(c, "TEELIZA_INSTANCE_ID") is None:
        p.append("%s: %s: no TEELIZA_INSTANCE_ID (e.g. the pod name through fieldRef)" % (where, what))
    lease = env_value(c, "TEELIZA_REQUEST_LEASE")
    lease_s = int(lease["value"]) if lease and lease.get("value", "").isdigit() else 120
    grace = pod.get("terminationGracePeriodSeconds", 30)
    if grace <= lease_s:
        p.append("%s: %s: terminationGracePeriodSeconds %d must exceed the request lease (%d s)" % (where, what, grace, lease_s))
    return p


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        docs = load(argv[1:])
    except (OSError, yaml.YAMLError) as e:
        print("cannot read the manifests: %s" % e)
        return 1
    bad = [("%s" % w) for w, d in docs if not isinstance(d, dict)]
    if bad:
        print("not a mapping: %s" % ", ".join(bad))
        return 1
    problems = check(docs)
    for line in problems:
        print(line)
    if not problems:
        print("%d documents: schema and cross-checks pass" % len(docs))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
