#!/usr/bin/env python3
"""Compares two modes of one `sync_instr` row by alternating them, run after run.

Usage (after `cargo build --release -p weft-benches --bin sync_instr`):

    python3 benches/interleave.py <row|all> [--modes off,trace] [--runs 8] [--iters N]
                                  [--taskset CPUS] [--pin-caller CPU]

Each run is one process, `target/release/sync_instr <row> <mode> <iters>`, which prints the
row's own time per iteration. The modes take turns (off, trace, off, trace, ...), so a drift of
the machine's speed over seconds (on the shared VM this was written on, every peer's two-loop
figure switched between two modes mid-run, tokio's from 100 to 61 ns) lands on both alike;
the table gives each mode's median and the ratio of the medians to the first mode.
`--taskset 1` pins every run to CPU 1 (do not pin the two-loop row or a `diag` mode so: they
have a second thread that needs the other core); `--pin-caller 1` pins only the row's loop
(`WEFT_PIN_CALLER`), after the diagnostics' threads started, which keep the other core.
Rows and modes: see `sync_instr`'s doc.
"""
import argparse
import os
import pathlib
import statistics
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
# Where cargo put it: $CARGO_TARGET_DIR if set, else the workspace's target/.
BINARY = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "release" / "sync_instr"

# Iterations per run: each run takes roughly a quarter to half a second.
DEFAULT_ITERS = {
    "mutex": 20_000_000,
    "mutex_contended": 1_000_000,
    "semaphore": 20_000_000,
    "notify": 2_000_000,
    "mpsc": 10_000_000,
    "mpsc_unbounded": 10_000_000,
    "mpsc_two_loops": 10_000_000,
    "oneshot": 10_000_000,
    "oneshot_waiting": 2_000_000,
    "broadcast": 200_000,
}


def run_once(row, mode, iters, taskset, pin_caller):
    cmd = [str(BINARY), row, mode, str(iters)]
    if taskset:
        cmd = ["taskset", "-c", taskset] + cmd
    env = dict(os.environ)
    if pin_caller is not None:
        env["WEFT_PIN_CALLER"] = pin_caller
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout
    for line in out.splitlines():
        if line.endswith(" ns/iter"):
            return float(line.split()[0])
    sys.exit(f"{' '.join(cmd)}: no 'ns/iter' line in its output: {out!r}")


def measure(row, modes, runs, iters, taskset, pin_caller):
    figures = {mode: [] for mode in modes}
    for _ in range(runs):
        for mode in modes:
            figures[mode].append(run_once(row, mode, iters, taskset, pin_caller))
    return {mode: statistics.median(values) for mode, values in figures.items()}, figures


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("row", help="a sync_instr row, or 'all'")
    parser.add_argument("--modes", default="off,trace", help="comma-separated, first is the base")
    parser.add_argument("--runs", type=int, default=8, help="runs of each mode")
    parser.add_argument("--iters", type=int, help="iterations per run (default: per row)")
    parser.add_argument("--taskset", help="CPU list to pin each run to")
    parser.add_argument("--pin-caller", help="CPU to pin the row's loop thread to")
    parser.add_argument("--verbose", action="store_true", help="print every run's figure")
    args = parser.parse_args()
    if not BINARY.exists():
        sys.exit(f"{BINARY} is missing: cargo build --release -p weft-benches --bin sync_instr")
    modes = args.modes.split(",")
    if len(modes) < 2:
        sys.exit("--modes needs two or more modes, the first being the base")
    rows = list(DEFAULT_ITERS) if args.row == "all" else [args.row]
    head = " | ".join(modes) + " | " + " | ".join(f"{m}/{modes[0]}" for m in modes[1:])
    print(f"| row | {head} |")
    print("|---" * (1 + 2 * len(modes) - 1) + "|")
    for row in rows:
        if row not in DEFAULT_ITERS and args.iters is None:
            sys.exit(f"row {row!r}: unknown here, pass --iters (rows: {', '.join(DEFAULT_ITERS)})")
        iters = args.iters or DEFAULT_ITERS[row]
        # The two-loop row's caller is one of its two loops: pinning it alone would skew it.
        pin = None if row == "mpsc_two_loops" else args.pin_caller
        medians, figures = measure(row, modes, args.runs, iters, args.taskset, pin)
        cells = [f"{medians[m]:.1f} ns" for m in modes]
        cells += [f"{medians[m] / medians[modes[0]]:.2f}x" for m in modes[1:]]
        print(f"| {row} | " + " | ".join(cells) + " |", flush=True)
        if args.verbose:
            for mode in modes:
                print(f"  {mode}: " + " ".join(f"{v:.1f}" for v in figures[mode]))


if __name__ == "__main__":
    main()
