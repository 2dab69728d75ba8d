#!/usr/bin/env python3
"""Which object files call (or reference) which, from their symbols, and the cycles among them.

usage: call-graph.py [--edges] [--no-cycles] [--forbid REGEX] OBJ...

An edge a -> b means a.o has an undefined symbol that b.o defines (a function
called, or data such as a route table read). A cycle is a set of files that
reach each other through such edges: files that each call the other, or a
longer loop. Prints every cycle (and with --edges every edge) and exits 1
when there is a cycle (unless --no-cycles), or when an object has an
undefined symbol matching a --forbid regular expression (e.g. '^tee_sim_':
a part that must not use the simulator). Needs nm (binutils).
"""
import os
import re
import subprocess
import sys


def symbols(objs):
    """{obj: (defined, undefined)} from one nm run over all objects."""
    out = subprocess.run(["nm", "-P", "-A", *objs], check=True, capture_output=True, text=True).stdout
    syms = {o: (set(), set()) for o in objs}
    for line in out.splitlines():
        obj, sep, rest = line.partition(": ")
        parts = rest.split()
        if not sep or obj not in syms or len(parts) < 2:
            continue
        name, kind = parts[0], parts[1]
        if kind in ("U", "w", "v"):  # undefined (w, v: weak undefined)
            syms[obj][1].add(name)
        elif kind.isupper():  # defined and global
            syms[obj][0].add(name)
    return syms


def cycles(nodes, edges):
    """Strongly connected components of more than one node (Tarjan)."""
    index, low, stack, on, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(nodes):
        if v not in index:
            visit(v)
    return found


def main(argv):
    show_edges, check_cycles, forbid, objs = False, True, [], []
    it = iter(argv)
    for a in it:
        if a == "--edges":
            show_edges = True
        elif a == "--no-cycles":
            check_cycles = False
        elif a == "--forbid":
            forbid.append(re.compile(next(it)))
        else:
            objs.append(a)
    if not objs:
        print(__doc__.strip(), file=sys.stderr)
        return 64
    name = {o: os.path.basename(o).removesuffix(".o") for o in objs}
    defs, undefs, owner = {}, {}, {}
    syms = symbols(objs)
    for o in objs:
        defs[o], undefs[o] = syms[o]
        for s in defs[o]:
            owner.setdefault(s, o)
    edges = {}
    for o in objs:
        for s in undefs[o]:
            t = owner.get(s)
            if t is not None and t != o:
                edges.setdefault(name[o], {}).setdefault(name[t], set()).add(s)
    bad = 0
    if show_edges:
        for a in sorted(edges):
            for b in sorted(edges[a]):
                print(f"{a} -> {b}: {' '.join(sorted(edges[a][b]))}")
    for comp in cycles(set(name.values()), edges) if check_cycles else []:
        bad += 1
        pairs = [f"{a} <-> {b}" for i, a in enumerate(comp) for b in comp[i + 1:]
                 if b in edges.get(a, {}) and a in edges.get(b, {})]
        print(f"cycle: {' '.join(comp)}" + (f" (each calls the other: {', '.join(pairs)})" if pairs else ""))
    for o in objs:
        for s in sorted(undefs[o]):
            if any(r.search(s) for r in forbid):
                bad += 1
                print(f"forbidden: {name[o]} uses {s}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
