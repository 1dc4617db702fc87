#!/usr/bin/env python3
"""The bench/progs table (markdown) from one progs_bench run:

    build/bench/progs/progs_bench --json progs.json
    python3 bench/progs/table.py progs.json

ns per run per program and engine, the ratios per program and their geometric means (jit/kernel,
llvm/native, interp/native, jit/native), the empty program's ns per run and the compile time per
instruction of both JITs. Which measure each ratio compares:
  - jit/kernel: BPF_PROG_TEST_RUN's duration on both sides (the same measure, the same loop);
  - x/native: bpfbox's engine called directly in a loop (`x_call`) against the native twin called
    the same way (native code has no TEST_RUN).
"""
import json
import math
import sys

COLS = [("interp", "interp"), ("jit", "jit"), ("llvm", "llvm"), ("kernel", "kernel"),
        ("native", "native"), ("interp_call", "interp call"), ("jit_call", "jit call"),
        ("llvm_call", "llvm call")]
RATIOS = [("jit", "kernel"), ("llvm_call", "native"), ("interp_call", "native"),
          ("jit_call", "native"), ("kernel", "native")]


def fmt(v):
    return "—" if v is None else (f"{v:.1f}" if v < 100 else f"{v:.0f}")


def ratio(ns, a, b):
    return ns[a] / ns[b] if a in ns and b in ns and ns[b] > 0 else None


def name(r):
    return f"{r[0].replace('_call', '')}/{r[1]}"


def geomean(xs):
    return math.exp(sum(map(math.log, xs)) / len(xs)) if xs else None


def main(path):
    with open(path) as f:
        run = json.load(f)
    progs = [p for p in run["programs"] if p["name"] != "empty"]
    empty = next((p for p in run["programs"] if p["name"] == "empty"), None)

    print("| program | insns | " + " | ".join(c[1] for c in COLS) + " | "
          + " | ".join(name(r) for r in RATIOS) + " |")
    print("|---|---:|" + "---:|" * (len(COLS) + len(RATIOS)))
    for p in progs:
        ns = p["ns"]
        cells = [fmt(ns.get(c[0])) for c in COLS]
        rs = [ratio(ns, *r) for r in RATIOS]
        print(f"| {p['name']} | {p['insns']} | " + " | ".join(cells) + " | "
              + " | ".join("—" if x is None else f"{x:.2f}" for x in rs) + " |")
    print()
    for r in RATIOS:
        xs = [ratio(p["ns"], *r) for p in progs]
        xs = [x for x in xs if x is not None]
        g = geomean(xs)
        print(f"- geomean {name(r)}: " + ("—" if g is None else f"**{g:.2f}x** over {len(xs)} programs"))
    if empty:
        print("- empty program, ns per run: " + ", ".join(
            f"{c[1]} {fmt(empty['ns'].get(c[0]))}" for c in COLS if c[0] in empty["ns"]))
    for e in ("jit", "llvm"):
        per = [(p["compile_us"][e] / p["insns"]) for p in progs
               if e in p.get("compile_us", {}) and p["insns"]]
        total_us = sum(p["compile_us"][e] for p in progs if e in p.get("compile_us", {}))
        total_insns = sum(p["insns"] for p in progs if e in p.get("compile_us", {}))
        if per:
            print(f"- {e} compile time per instruction: {total_us / total_insns:.2f} µs over "
                  f"{total_insns} instructions of {len(per)} programs (per program "
                  f"{min(per):.2f}–{max(per):.2f} µs, geomean {geomean(per):.2f} µs)")
    errors = [(p["name"], e) for p in run["programs"] for e in p["errors"]]
    for n, e in errors:
        print(f"- **error** {n}: {e}")
    print()
    print(f"Load before: `{run['uptime_before'].strip()}`; after: `{run['uptime_after'].strip()}`; "
          f"kernel: {run['kernel']}; {run['batches']} batches per cell.")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "progs.json")
