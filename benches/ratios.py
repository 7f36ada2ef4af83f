#!/usr/bin/env python3
"""Prints a markdown table of weft's time against its peers' from criterion's saved estimates.

Usage: python3 benches/ratios.py GROUP [GROUP ...]
Each GROUP is a criterion benchmark group holding a `weft` function and one or more peers
(`tokio`, ...). The ratio is weft's median time divided by the peer's median time, both from
the same `cargo bench` run: below 1.0 means weft is faster.
"""
import json
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent / "target" / "criterion"


def median_ns(group, function):
    path = ROOT / group / function / "new" / "estimates.json"
    if not path.exists():
        return None
    return json.loads(path.read_text())["median"]["point_estimate"]


def fmt(ns):
    if ns >= 1e6:
        return f"{ns / 1e6:.2f} ms"
    if ns >= 1e3:
        return f"{ns / 1e3:.2f} µs"
    return f"{ns:.1f} ns"


def main(groups):
    print("| benchmark | weft (median) | peer | peer (median) | weft / peer |")
    print("|---|---|---|---|---|")
    for group in groups:
        weft = median_ns(group, "weft")
        if weft is None:
            print(f"| {group} | missing | | | |")
            continue
        for peer_dir in sorted((ROOT / group).iterdir()):
            peer = peer_dir.name
            if peer in ("weft", "report") or not peer_dir.is_dir():
                continue
            other = median_ns(group, peer)
            if other:
                print(f"| {group} | {fmt(weft)} | {peer} | {fmt(other)} | {weft / other:.2f}x |")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1:])
