#!/usr/bin/env python3
"""Prints the ratio table of the `sync` bench from criterion's saved estimates (medians).

Usage: python3 benches/sync_ratios.py   (after `cargo bench -p weft-benches --bench sync`)

Columns, all from the same run (below 1.0 means the first named is faster):
  weft/tokio       weft::sync vs tokio::sync, each on its own current-thread runtime
  trace/off        weft with the holder/waiter bookkeeping on vs off (target <= 1.3)
  local/tokio      the loop-local variant (weft::sync::local) vs tokio
  local/Send       the loop-local variant vs weft's Send one (kept only if below 1.0)
  weft/async-ch    weft vs async-channel, both on weft's loop
  weft/flume       weft vs flume, both on weft's loop
The target column is the issue's: weft/tokio <= 1.0 on every row, <= 0.7 on one-loop channel
rows, and trace/off <= 1.3.

The "diagnostics on" figures (weft::diag's deadlocks + lock order) are the `diag` bench's
(`cargo bench -p weft-benches --bench diag`, groups diag_*, functions off/on); if it has run,
a second table gives its on/off ratios (target <= 1.3).
"""
import json
import pathlib

ROOT = pathlib.Path(__file__).resolve().parent.parent / "target" / "criterion"

ROWS = [
    ("sync_mutex_uncontended", "Mutex lock+unlock, uncontended", False),
    ("sync_mutex_contended_2_tasks", "Mutex, 2 tasks contending on one loop", False),
    ("sync_semaphore_acquire_release", "Semaphore acquire+release", False),
    ("sync_notify_ping_pong", "Notify ping-pong (round trip)", False),
    ("sync_mpsc_1to1_one_loop", "mpsc bounded 1->1, one loop", True),
    ("sync_mpsc_unbounded_1to1_one_loop", "mpsc unbounded 1->1, one loop", True),
    ("sync_mpsc_1to1_two_loops", "mpsc bounded 1->1, two loops", False),
    ("sync_oneshot_send_await", "oneshot send+await", True),
    ("sync_oneshot_to_a_waiting_task", "oneshot to a waiting task", True),
    ("sync_broadcast_1_to_100", "broadcast 1->100 receivers (per value)", True),
    ("task_joinset_spawn_join", "JoinSet spawn+join_next (per task)", False),
    ("task_joinset_next_among_1000_idle", "JoinSet spawn+join_next, 1000 idle members", False),
]


def median_ns(group, function):
    path = ROOT / group / function / "new" / "estimates.json"
    if not path.exists():
        return None
    return json.loads(path.read_text())["median"]["point_estimate"]


def fmt(ns):
    if ns is None:
        return "-"
    if ns >= 1e6:
        return f"{ns / 1e6:.2f} ms"
    if ns >= 1e3:
        return f"{ns / 1e3:.2f} µs"
    return f"{ns:.1f} ns"


def ratio(a, b):
    return f"{a / b:.2f}x" if a is not None and b else "-"


def main():
    print("| row | weft | tokio | weft/tokio | target | trace/off | local/tokio | local/Send "
          "| weft/async-ch | weft/flume |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for group, label, one_loop_channel in ROWS:
        m = {f: median_ns(group, f)
             for f in ("weft", "weft_trace", "weft_local", "tokio", "async_channel", "flume")}
        if m["weft"] is None:
            print(f"| {label} | missing | | | | | | | | |")
            continue
        limit = 0.7 if one_loop_channel else 1.0
        verdict = "-"
        if m["tokio"]:
            ok = m["weft"] / m["tokio"] <= limit
            verdict = f"≤{limit} {'met' if ok else 'NOT met'}"
        trace = ratio(m["weft_trace"], m["weft"])
        if m["weft_trace"] and m["weft_trace"] / m["weft"] > 1.3:
            trace += " (over 1.3)"
        print(f"| {label} | {fmt(m['weft'])} | {fmt(m['tokio'])} | {ratio(m['weft'], m['tokio'])} "
              f"| {verdict} | {trace} | {ratio(m['weft_local'], m['tokio'])} "
              f"| {ratio(m['weft_local'], m['weft'])} | {ratio(m['weft'], m['async_channel'])} "
              f"| {ratio(m['weft'], m['flume'])} |")


def diag_table():
    """The `diag` bench's on/off table, if that bench has run."""
    rows = [(g.replace("sync_", "diag_", 1), label) for g, label, _ in ROWS
            if not g.startswith("task_")]
    found = [(label, median_ns(g, "off"), median_ns(g, "on")) for g, label in rows]
    if not any(off for _, off, _ in found):
        return
    print("\n| row (diag bench) | diag off | diag on | on/off | target |")
    print("|---|---|---|---|---|")
    for label, off, on in found:
        verdict = "-"
        if off and on:
            verdict = "≤1.3 " + ("met" if on / off <= 1.3 else "NOT met")
        print(f"| {label} | {fmt(off)} | {fmt(on)} | {ratio(on, off)} | {verdict} |")


if __name__ == "__main__":
    main()
    diag_table()
