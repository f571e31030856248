#!/usr/bin/env python3
"""The module order of src/: imports only point down, and no circle, under any feature set.

Reads the text (all cfg branches count, unit-test modules too). Edges: `use crate::...`,
`use super::...`, `crate::a::b` and `super::` paths in code and macros, each followed through the
re-exports of lib.rs and of every mod.rs to the module that defines the name. Comments, doc
comments (an intra-doc link is not an import) and string literals are not read. Every module has
a rank: leaves (0) <- token/ (1) <- key/ (2) <- validation/ (3) <- the middleware (4) <-
integrations (5). It fails on an edge to a higher rank, on a module without a rank (add it to
RANKS), on a `crate::` path it cannot resolve, and on any circle, inside a directory too (a layer
and its service side by side may know each other, as in tower-http).
Usage: module-order.py [SRC_DIR]   (default: src)
"""
import os, re, sys

src = sys.argv[1] if len(sys.argv) > 1 else "src"
files = {}
for root, _, names in os.walk(src):
    for n in names:
        if n.endswith(".rs"):
            p = os.path.join(root, n)
            rel = os.path.relpath(p, src)
            if rel.startswith("bin" + os.sep):
                continue  # binaries are clients of the library, not part of its layering
            parts = rel[:-3].split(os.sep)
            if parts[-1] in ("mod", "lib", "main"):
                parts = parts[:-1]
            files[tuple(parts)] = p

def strip_comments(t):
    # Comments (doc comments too: an intra-doc link is not an import) and the contents of string
    # and char literals (so that "https://..." is not read as a comment).
    t = re.sub(r'r(#*)".*?"\1', '""', t, flags=re.S)
    t = re.sub(r"'(?:\\.|[^'\\])'", "''", t)
    t = re.sub(r'"(?:\\.|[^"\\])*"', '""', t, flags=re.S)
    t = re.sub(r"/\*.*?\*/", "", t, flags=re.S)
    return "\n".join(l.split("//")[0] for l in t.splitlines())

text = {m: strip_comments(open(p, encoding="utf-8").read()) for m, p in files.items()}

# Re-exports of every module file (`pub use self::a::{B, C}`, `pub(crate) use self::a::B`, in
# lib.rs and every mod.rs): (module, name) -> the module that defines the name.
reexports = {}
for mod, t in text.items():
    for m in re.finditer(r"pub(?:\([\w:]+\))?\s+use\s+self::([\w:]+?)::(\{[^}]*\}|\w+)\s*;", t, flags=re.S):
        target = mod + tuple(m.group(1).split("::"))
        for n in re.findall(r"\b(\w+)\b(?:\s+as\s+\w+)?", m.group(2).strip("{}")):
            reexports[(mod, n)] = target

def resolve(path, depth=0):
    # The module that defines what a path like ('key', 'KeyRef') or ('AuthError',) names: the
    # longest module prefix, followed through the re-exports of that module.
    if depth > 20:
        return None
    for i in range(len(path), -1, -1):
        prefix = tuple(path[:i])
        if prefix in files:
            rest = list(path[i:])
            if rest and reexports.get((prefix, rest[0]), prefix) != prefix:
                target = reexports[(prefix, rest[0])]
                return resolve(list(target) + rest[1:], depth + 1) or target
            return prefix if prefix != () or not rest else None
    return None

unresolved = set()

def expand_use(tree):
    """Expand a use tree `a::{b, c::{d, e}}` into paths."""
    tree = tree.strip()
    m = re.match(r"^([\w:]*?)(::)?\{(.*)\}$", tree, flags=re.S)
    if not m:
        return [tree.split(" as ")[0].strip()]
    prefix, inner = m.group(1), m.group(3)
    out, depth, cur = [], 0, ""
    for ch in inner:
        if ch == "{": depth += 1
        if ch == "}": depth -= 1
        if ch == "," and depth == 0:
            out.append(cur); cur = ""
        else:
            cur += ch
    out.append(cur)
    res = []
    for o in out:
        if o.strip():
            for e in expand_use(o):
                res.append(f"{prefix}::{e}" if prefix else e)
    return res

edges = {m: set() for m in files}
for mod, t in text.items():
    if mod == ():
        continue
    refs = []
    for u in re.finditer(r"\buse\s+((?:crate|super|self)(?:::)?[^;]*);", t, flags=re.S):
        refs += expand_use(re.sub(r"\s+", "", u.group(1)))
    refs += re.findall(r"\b(crate::[\w:]+)", t)
    refs += re.findall(r"\b(super::[\w:]+)", t)
    here = list(mod) if files[mod].endswith(("mod.rs",)) else list(mod[:-1]) + [mod[-1]]
    for r in refs:
        parts = [p for p in r.split("::") if p]
        if not parts:
            continue
        if parts[0] == "crate":
            path = parts[1:]
        elif parts[0] in ("super", "self"):
            base = list(mod)
            while parts and parts[0] in ("super", "self"):
                if parts[0] == "super":
                    base = base[:-1]
                parts = parts[1:]
            path = base + parts
        else:
            continue
        target = resolve(path)
        if target is None and parts[0] == "crate":
            unresolved.add((mod, r))
        if target is not None and target != mod and target != () and not (len(target) < len(mod) and mod[:len(target)] == target):
            edges[mod].add(target)

# The order to keep: the first path prefix that matches gives the rank.
RANKS = [
    (("macros",), 0), (("error",), 0), (("algorithm",), 0), (("time",), 0), (("either",), 0), (("claims",), 0), (("word",), 0),
    (("token",), 1),
    (("key",), 2),
    (("validation",), 3), (("dangerous",), 3),
    (("config",), 4), (("layer",), 4), (("service",), 4), (("future",), 4), (("source",), 4), (("rejection",), 4),
    (("authorize",), 4), (("extract",), 4), (("publish",), 4), (("metadata",), 4),
    (("jwks",), 5), (("revocation",), 5), (("session",), 5), (("grpc",), 5), (("issuers",), 5),
]

def rank_of(m):
    for prefix, r in RANKS:
        if m[:len(prefix)] == prefix:
            return r
    return None

upward = []
for m in files:
    if m == ():
        continue
    r = rank_of(m)
    if r is None:
        upward.append(f"{'/'.join(m)} has no rank: add it to RANKS in {sys.argv[0]}")
        continue
    for t in sorted(edges[m]):
        rt = rank_of(t)
        if rt is not None and rt > r:
            upward.append(f"{'/'.join(m)} (rank {r}) -> {'/'.join(t)} (rank {rt}) points up")
for line in upward:
    print(line)
print(f"upward edges: {len(upward)}")

# A `crate::` path that names nothing found here is a gap in this reader: fail rather than skip.
for mod, r in sorted(unresolved):
    print(f"{'/'.join(mod)}: cannot resolve {r}")

# Tarjan's SCC.
index, low, on, stack, sccs, counter = {}, {}, set(), [], [], [0]
def strong(v):
    index[v] = low[v] = counter[0]; counter[0] += 1; stack.append(v); on.add(v)
    for w in edges[v]:
        if w not in index:
            strong(w); low[v] = min(low[v], low[w])
        elif w in on:
            low[v] = min(low[v], index[w])
    if low[v] == index[v]:
        comp = []
        while True:
            w = stack.pop(); on.discard(w); comp.append(w)
            if w == v: break
        if len(comp) > 1:
            sccs.append(comp)
sys.setrecursionlimit(10000)
for v in files:
    if v not in index:
        strong(v)
name = lambda m: "/".join(m) or "lib"
# tower's own pattern: a layer and its service know each other (`X::layer()` builds `XLayer`).
allowed = [c for c in sccs if len(c) == 2 and sorted(m[-1] for m in c) == ["layer", "service"] and c[0][:-1] == c[1][:-1]]
sccs = [c for c in sccs if c not in allowed]
for c in allowed:
    print(f"allowed: {' <-> '.join(sorted(name(m) for m in c))} (a layer and its service)")
for c in sccs:
    members = sorted(name(m) for m in c)
    ties = sorted(f"{name(a)} -> {name(b)}" for a in c for b in edges[a] if b in c)
    print(f"cycle of {len(c)}: {', '.join(members)}\n    " + "\n    ".join(ties))
print(f"cycles: {len(sccs)}")
sys.exit(0 if not sccs and not upward and not unresolved else 1)
