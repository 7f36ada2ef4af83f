#!/usr/bin/env python3
"""Turns run.sh's raw measurements into the benchmark's tables.

Usage: report.py OUT_DIR "SERVERS" "SCENARIOS" "SKIPPED"

Reads OUT_DIR/raw.tsv (one row per measured run) and the client logs it
names, takes the median of each figure over the runs of a server and
scenario, and prints markdown tables (also written to OUT_DIR/results.md),
every figure followed by its ratio to the floor server and to tokio-hyper.
"""

import csv
import json
import os
import platform
import re
import statistics
import sys
import time

SCENARIO_TITLES = {
    "plain": "{CONNS} connections, no pipelining",
    "pipeline": "{CONNS} connections, pipelining depth {DEPTH}",
    "conn10k": "{CONNS_10K} keep-alive connections, all busy (wrk)",
    "idle10k": "{CONNS_10K} idle keep-alive connections",
    "sweep": "how cost grows: keep-alive connections, all busy, at each of {SWEEP_CONNS}",
}
# The sweep's servers, in the order of the issue (#19): weft on both backends, both floors, peers.
SWEEP_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f")
SETTING = re.compile(r'(\w+)=("[^"]*"|\S+)')

# The targets for weft serve on one loop (see README "Targets").
TARGET_CPU_PLAIN = 1.10  # CPU per request, times the floor's, no pipelining
TARGET_CPU_PIPELINE = 1.15  # same, pipelining depth 16
TARGET_IDLE_RSS_MB = 25.0  # peak RSS holding 10,000 idle keep-alive connections
TARGET_GREEN_VS_ASYNC = 1.20  # weft --model green against weft's async model, CPU per request
TARGET_DIAG_VS_OFF = 1.05  # weft serve --diag all against weft serve, CPU per request (issue 14)
# Issue 17: weft's server against the same server on tokio, CPU per request: (weft's, tokio's).
TARGET_VS_TOKIO = 0.95
TOKIO_PAIRS = (("weft-axum", "tokio-axum"), ("weft-tls", "tokio-rustls"))
# The peers' CPU per request as issue #4 quotes them, times its floor's: (plain, pipelined).
# Set beside the same ratios measured here, they show how this floor compares with the one
# behind the targets.
QUOTED_PEER_RATIOS = {"tokio-hyper": (1.26, 5.0), "may-minihttp": (1.2, 1.3)}

WRK_REQUESTS = re.compile(r"^\s*(\d+) requests in ([\d.]+)(us|ms|s|m)\b", re.M)
WRK_RPS = re.compile(r"^Requests/sec:\s+([\d.]+)", re.M)
WRK_SOCKET_ERRORS = re.compile(
    r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)"
)
WRK_NON2XX = re.compile(r"Non-2xx or 3xx responses: (\d+)")
# `wrk --latency`: "     99%    2.17ms" under "Latency Distribution".
WRK_PERCENTILE = re.compile(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s|m)\s*$", re.M)
SECONDS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}


def parse_wrk(path):
    text = open(path, errors="replace").read()
    m = WRK_REQUESTS.search(text)
    if not m:
        return None
    requests = int(m.group(1))
    seconds = float(m.group(2)) * SECONDS[m.group(3)]
    rps = WRK_RPS.search(text)
    errors = 0
    e = WRK_SOCKET_ERRORS.search(text)
    if e:
        errors += sum(int(x) for x in e.groups())
    e = WRK_NON2XX.search(text)
    if e:
        errors += int(e.group(1))
    latency = {
        f"p{p}_ms": float(v) * SECONDS[unit] * 1e3 for p, v, unit in WRK_PERCENTILE.findall(text)
    }
    return {
        "requests": requests,
        "rps": float(rps.group(1)) if rps else requests / seconds,
        "errors": errors,
        **latency,
    }


def parse_idle(path):
    for line in reversed(open(path, errors="replace").read().splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    return None


def load_runs(out_dir):
    """Returns {(scenario, server): [run dict, ...]} of the runs that completed."""
    runs = {}
    failures = {}
    with open(os.path.join(out_dir, "raw.tsv")) as f:
        for row in csv.DictReader(f, delimiter="\t"):
            key = (row["scenario"], row["server"])
            if row["state"] != "ok":
                failures.setdefault(key, []).append(row["state"])
                continue
            ticks = int(row["cpu_ticks"]) / int(row["clk_tck"])
            run = {
                "cpu_s": ticks,
                "start_rss_kb": int(row["start_rss_kb"] or 0),
                "hwm_kb": int(row["hwm_kb"]),
                "threads": int(row["max_threads"]),
                "fds": int(row["max_fds"] or 0),
                "other": int(row["other_pct"]),
                "csw_per_s": float(row["ctx_switches_per_s"]) if row.get("ctx_switches_per_s") else None,
            }
            if row["scenario"] == "idle10k":
                idle = parse_idle(row["client_log"])
                if not idle or not idle.get("answered"):
                    failures.setdefault(key, []).append("no idle result")
                    continue
                run["requests"] = idle["answered"]
                run["open"] = idle["open_after_hold"]
                run["errors"] = idle["connect_errors"] + idle["connected"] - idle["answered"]
                if idle.get("hwm_kb"):
                    run["hwm_kb"] = max(run["hwm_kb"], idle["hwm_kb"])
                if idle.get("threads"):
                    run["threads"] = max(run["threads"], idle["threads"])
            else:
                w = parse_wrk(row["client_log"])
                if not w or not w["requests"]:
                    failures.setdefault(key, []).append("no wrk result")
                    continue
                run.update(w)
            run["cpu_us"] = run["cpu_s"] * 1e6 / run["requests"]
            if run["csw_per_s"] is not None and run.get("rps"):
                run["csw_per_1k"] = run["csw_per_s"] * 1000 / run["rps"]
            runs.setdefault(key, []).append(run)
    return runs, failures


def median(runs, field):
    return statistics.median(r[field] for r in runs)


def ratio(value, base):
    if value is None or not base:
        return "–"
    return f"{value / base:.2f}×"


def fmt_int(x):
    return f"{x:,.0f}"


def mb(kb):
    return kb * 1024 / 1e6


def machine():
    model = "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} CPUs, Linux {platform.release()}"


def table_busy(scenario, servers, runs):
    rows = []
    base = {}
    for ref in ("floor", "tokio-hyper"):
        r = runs.get((scenario, ref))
        base[ref] = (
            {f: median(r, f) for f in ("rps", "cpu_us", "hwm_kb")} if r else {}
        )
    head = (
        "| server | req/s | ×floor | ×tokio-hyper | CPU µs/req (min–max) | ×floor | ×tokio-hyper"
        " | peak RSS MB | ×floor | ×tokio-hyper | latency p50 / p99 ms | ctx switches per 1k req"
        " | threads | open fds | errors | other % | runs |"
    )
    rows.append(head)
    rows.append("|" + "|".join(["---"] * (head.count("|") - 1)) + "|")
    for name in servers:
        r = runs.get((scenario, name))
        if not r:
            continue
        rps, cpu, hwm = median(r, "rps"), median(r, "cpu_us"), median(r, "hwm_kb")
        # With pipelining wrk's percentiles are not meaningful (see the notes above the tables).
        if scenario != "pipeline" and all("p50_ms" in x and "p99_ms" in x for x in r):
            latency = f"{median(r, 'p50_ms'):.2f} / {median(r, 'p99_ms'):.2f}"
        else:
            latency = "–"
        if all("csw_per_1k" in x for x in r):
            csw = f"{median(r, 'csw_per_1k'):.1f}"
        else:
            csw = "–"
        cpus = [x["cpu_us"] for x in r]
        rows.append(
            "| "
            + " | ".join(
                [
                    name,
                    fmt_int(rps),
                    ratio(rps, base["floor"].get("rps")),
                    ratio(rps, base["tokio-hyper"].get("rps")),
                    f"{cpu:.2f} ({min(cpus):.2f}–{max(cpus):.2f})",
                    ratio(cpu, base["floor"].get("cpu_us")),
                    ratio(cpu, base["tokio-hyper"].get("cpu_us")),
                    f"{mb(hwm):.1f}",
                    ratio(hwm, base["floor"].get("hwm_kb")),
                    ratio(hwm, base["tokio-hyper"].get("hwm_kb")),
                    latency,
                    csw,
                    fmt_int(median(r, "threads")),
                    fmt_int(median(r, "fds")),
                    fmt_int(max(x["errors"] for x in r)),
                    fmt_int(median(r, "other")),
                    str(len(r)),
                ]
            )
            + " |"
        )
    return rows


def table_idle(servers, runs):
    rows = []
    base = {}
    for ref in ("floor", "tokio-hyper"):
        r = runs.get(("idle10k", ref))
        base[ref] = {f: median(r, f) for f in ("cpu_us", "hwm_kb")} if r else {}
    head = (
        "| server | open after hold | peak RSS MB | ×floor | ×tokio-hyper | KB per conn"
        " | CPU µs/conn | ×floor | ×tokio-hyper | threads | errors | other % | runs |"
    )
    rows.append(head)
    rows.append("|" + "|".join(["---"] * (head.count("|") - 1)) + "|")
    for name in servers:
        r = runs.get(("idle10k", name))
        if not r:
            continue
        hwm, cpu = median(r, "hwm_kb"), median(r, "cpu_us")
        per_conn = statistics.median(
            (x["hwm_kb"] - x["start_rss_kb"]) * 1024 / 1000 / max(1, x["requests"]) for x in r
        )
        rows.append(
            "| "
            + " | ".join(
                [
                    name,
                    fmt_int(median(r, "open")),
                    f"{mb(hwm):.1f}",
                    ratio(hwm, base["floor"].get("hwm_kb")),
                    ratio(hwm, base["tokio-hyper"].get("hwm_kb")),
                    f"{per_conn:.2f}",
                    f"{cpu:.1f}",
                    ratio(cpu, base["floor"].get("cpu_us")),
                    ratio(cpu, base["tokio-hyper"].get("cpu_us")),
                    fmt_int(median(r, "threads")),
                    fmt_int(max(x["errors"] for x in r)),
                    fmt_int(median(r, "other")),
                    str(len(r)),
                ]
            )
            + " |"
        )
    return rows


def sweep_counts(runs):
    """The connection counts the sweep measured, ascending."""
    return sorted({int(sc.split("-", 1)[1]) for sc, _ in runs if sc.startswith("sweep-")})


def sweep_points(servers, runs):
    """{server: [(conns, CPU µs per request, peak RSS growth in KB per connection), ...]}."""
    points = {}
    for name in servers:
        for n in sweep_counts(runs):
            r = runs.get((f"sweep-{n}", name))
            if not r:
                continue
            per_conn = statistics.median(
                (x["hwm_kb"] - x["start_rss_kb"]) * 1024 / 1000 / n for x in r
            )
            points.setdefault(name, []).append((n, median(r, "cpu_us"), per_conn))
    return points


def table_sweep(servers, runs):
    counts = sweep_counts(runs)
    points = sweep_points(servers, runs)
    floor = {n: cpu for n, cpu, _ in points.get("floor", [])}
    rows = ["CPU µs per request (× the epoll floor at the same count):", ""]
    head = "| server | " + " | ".join(f"{n:,}" for n in counts) + " |"
    rows += [head, "|" + "|".join(["---"] * (len(counts) + 1)) + "|"]
    for name, pts in points.items():
        by = {n: cpu for n, cpu, _ in pts}
        cells = [
            f"{by[n]:.2f} ({ratio(by[n], floor.get(n))})" if n in by else "–" for n in counts
        ]
        rows.append(f"| {name} | " + " | ".join(cells) + " |")
    rows += ["", "Peak RSS growth per connection, KB ((VmHWM − RSS at start) / connections):", ""]
    rows += [head, "|" + "|".join(["---"] * (len(counts) + 1)) + "|"]
    for name, pts in points.items():
        by = {n: kb for n, _, kb in pts}
        rows.append(f"| {name} | " + " | ".join(f"{by[n]:.2f}" if n in by else "–" for n in counts) + " |")
    errors = [
        f"{name} at {n:,}: {max(x['errors'] for x in runs[(f'sweep-{n}', name)])}"
        for name in points
        for n in counts
        if (f"sweep-{n}", name) in runs and max(x["errors"] for x in runs[(f"sweep-{n}", name)])
    ]
    rows += ["", "wrk socket errors and non-2xx: " + (", ".join(errors) if errors else "none")]
    return rows


def sweep_svg(servers, runs, path):
    """Two charts side by side, CPU per request and memory per connection, against the
    connection count (log scale), one line per server; plain SVG, no plotting library."""
    points = sweep_points(servers, runs)
    counts = sweep_counts(runs)
    if not points or len(counts) < 2:
        return False
    import math

    w, h, pad_l, pad_r, pad_t, pad_b = 460, 320, 60, 30, 35, 45
    lo, hi = math.log10(counts[0]), math.log10(counts[-1])

    def panel(x0, title, unit, pick):
        ymax = max(pick(p) for pts in points.values() for p in pts) * 1.1 or 1
        px = lambda n: x0 + pad_l + (math.log10(n) - lo) / (hi - lo) * (w - pad_l - pad_r)
        py = lambda v: pad_t + (1 - v / ymax) * (h - pad_t - pad_b)
        out = [f'<text x="{x0 + w / 2}" y="18" text-anchor="middle" font-size="14">{title}</text>']
        out.append(
            f'<line x1="{x0 + pad_l}" y1="{h - pad_b}" x2="{x0 + w - pad_r}" y2="{h - pad_b}" stroke="#000"/>'
            f'<line x1="{x0 + pad_l}" y1="{pad_t}" x2="{x0 + pad_l}" y2="{h - pad_b}" stroke="#000"/>'
        )
        for n in counts:
            out.append(
                f'<text x="{px(n):.1f}" y="{h - pad_b + 16}" text-anchor="middle" font-size="11">{n:,}</text>'
            )
        for i in range(5):
            v = ymax * i / 4
            out.append(
                f'<text x="{x0 + pad_l - 6}" y="{py(v) + 4:.1f}" text-anchor="end" font-size="11">{v:.3g}</text>'
                f'<line x1="{x0 + pad_l}" y1="{py(v):.1f}" x2="{x0 + w - pad_r}" y2="{py(v):.1f}" stroke="#ddd"/>'
            )
        out.append(
            f'<text x="{x0 + w / 2}" y="{h - 8}" text-anchor="middle" font-size="11">keep-alive connections (log scale)</text>'
            f'<text x="{x0 + 14}" y="{h / 2}" font-size="11" transform="rotate(-90 {x0 + 14} {h / 2})" text-anchor="middle">{unit}</text>'
        )
        for (name, pts), colour in zip(points.items(), SWEEP_COLOURS):
            line = " ".join(f"{px(n):.1f},{py(pick(p)):.1f}" for p in pts for n in [p[0]])
            out.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{line}"/>')
            for p in pts:
                out.append(f'<circle cx="{px(p[0]):.1f}" cy="{py(pick(p)):.1f}" r="3" fill="{colour}"/>')
        return out

    body = panel(0, "CPU per request", "µs", lambda p: p[1])
    body += panel(w, "peak RSS growth per connection", "KB", lambda p: p[2])
    for i, ((name, _), colour) in enumerate(zip(points.items(), SWEEP_COLOURS)):
        x = 70 + (i % 4) * 200
        y = h + 18 + (i // 4) * 18
        body.append(f'<rect x="{x}" y="{y - 10}" width="14" height="4" fill="{colour}"/>')
        body.append(f'<text x="{x + 20}" y="{y - 5}" font-size="12">{name}</text>')
    rows = (len(points) + 3) // 4
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{2 * w}" height="{h + 10 + 18 * rows}"'
        f' font-family="sans-serif"><rect width="100%" height="100%" fill="#fff"/>'
        + "".join(body)
        + "</svg>\n"
    )
    with open(path, "w") as f:
        f.write(svg)
    return True


def targets(runs):
    lines = ["### Targets (weft serve, one loop)", ""]
    checks = []

    def cpu_ratio(sc):
        w, f = runs.get((sc, "weft")), runs.get((sc, "floor"))
        if not w or not f:
            return None
        return median(w, "cpu_us") / median(f, "cpu_us")

    for sc, limit in (("plain", TARGET_CPU_PLAIN), ("pipeline", TARGET_CPU_PIPELINE)):
        r = cpu_ratio(sc)
        what = f"CPU per request, {SCENARIO_TITLES[sc]}: at most {limit:.2f}× the floor"
        checks.append((what, None if r is None else f"{r:.2f}×", None if r is None else r <= limit))
    # Issue 6: the green model's plaintext CPU per request within 1.2x the async model's.
    for sc in ("plain", "pipeline"):
        g, a = runs.get((sc, "weft-green")), runs.get((sc, "weft"))
        r = median(g, "cpu_us") / median(a, "cpu_us") if g and a else None
        what = (
            f"weft --model green, CPU per request, {SCENARIO_TITLES[sc]}: "
            f"at most {TARGET_GREEN_VS_ASYNC:.2f}× weft's async model"
        )
        checks.append((what, None if r is None else f"{r:.2f}×", None if r is None else r <= TARGET_GREEN_VS_ASYNC))
    # Issue 14: every diagnostic on costs at most 1.05x CPU per request.
    for sc in ("plain", "pipeline"):
        d, a = runs.get((sc, "weft-diag")), runs.get((sc, "weft"))
        r = median(d, "cpu_us") / median(a, "cpu_us") if d and a else None
        what = (
            f"weft serve --diag all, CPU per request, {SCENARIO_TITLES[sc]}: "
            f"at most {TARGET_DIAG_VS_OFF:.2f}× weft serve"
        )
        checks.append((what, None if r is None else f"{r:.2f}×", None if r is None else r <= TARGET_DIAG_VS_OFF))
    # Issue 17: axum on weft against axum on tokio, HTTPS on weft against tokio-rustls.
    for sc in ("plain", "pipeline"):
        for ours, theirs in TOKIO_PAIRS:
            w, t = runs.get((sc, ours)), runs.get((sc, theirs))
            if not w or not t:
                continue
            r = median(w, "cpu_us") / median(t, "cpu_us")
            what = (
                f"{ours}, CPU per request, {SCENARIO_TITLES[sc]}: "
                f"at most {TARGET_VS_TOKIO:.2f}× {theirs}'s"
            )
            checks.append((what, f"{r:.2f}×", r <= TARGET_VS_TOKIO))
    # Issue 18: what the access log costs (no target: a figure to watch).
    for sc in ("plain", "pipeline"):
        l, a = runs.get((sc, "weft-accesslog")), runs.get((sc, "weft"))
        if l and a:
            r = median(l, "cpu_us") / median(a, "cpu_us")
            checks.append((f"weft --access-log FILE, CPU per request, {SCENARIO_TITLES[sc]}, × weft's", f"{r:.2f}×", None))
    w = runs.get(("idle10k", "weft"))
    v = mb(median(w, "hwm_kb")) if w else None
    checks.append(
        (
            f"peak RSS with 10,000 idle keep-alive connections: at most {TARGET_IDLE_RSS_MB:.0f} MB",
            None if v is None else f"{v:.1f} MB",
            None if v is None else v <= TARGET_IDLE_RSS_MB,
        )
    )
    lines.append("| target | measured | met |")
    lines.append("|---|---|---|")
    for what, got, ok in checks:
        lines.append(f"| {what} | {got or 'not measured'} | {'–' if ok is None else ('yes' if ok else 'NO')} |")
    return lines


def calibration(runs):
    """The peers the issue quotes, measured here against the same floor, and weft against them."""

    def cpu(sc, name):
        r = runs.get((sc, name))
        return median(r, "cpu_us") if r else None

    lines = [
        "### Calibration: the peers #4's targets quote, against this floor",
        "",
        "| server | scenario | quoted ×floor | measured ×floor | weft ×this server |",
        "|---|---|---|---|---|",
    ]
    for name, quoted in QUOTED_PEER_RATIOS.items():
        for sc, q in zip(("plain", "pipeline"), quoted):
            peer, floor, weft = cpu(sc, name), cpu(sc, "floor"), cpu(sc, "weft")
            measured = f"{peer / floor:.2f}×" if peer and floor else "not measured"
            versus = f"{weft / peer:.2f}×" if peer and weft else "not measured"
            lines.append(f"| {name} | {sc} | {q:.2f}× | {measured} | {versus} |")
    return lines


def main():
    out_dir, servers, scenarios = sys.argv[1], sys.argv[2].split(), sys.argv[3].split()
    skipped = sys.argv[4].strip() if len(sys.argv) > 4 else ""
    runs, failures = load_runs(out_dir)
    other = sorted(r["other"] for rs in runs.values() for r in rs)
    settings = open(os.path.join(out_dir, "settings.env")).read().strip()
    values = {k: v.strip('"') for k, v in SETTING.findall(settings)}
    for sc, title in SCENARIO_TITLES.items():
        SCENARIO_TITLES[sc] = re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), "?"), title)

    out = ["# Side-by-side server benchmark", ""]
    out.append(f"- when: {time.strftime('%Y-%m-%d %H:%M %Z')}")
    out.append(f"- machine: {machine()}")
    if other:
        out.append(
            "- other work on the server's CPU during the runs (its user+system time not spent by"
            f" the server): {other[0]}–{other[-1]}% (median {statistics.median(other):.0f}%)."
            " More than a few percent makes the figures noisy; the 'other %' column shows it"
            " per row, and every figure is the median of the runs."
        )
    out.append("- settings: " + " ".join(settings.split()))
    out.append(
        "- server pinned to one CPU, wrk (one thread) to another; loopback; a fresh server per run."
        " CPU = the server's utime+stime over the measured run / requests completed."
        " peak RSS = VmHWM; threads and open fds = most seen during the run (sampled every 0.25 s)."
        " Latency: wrk's, from a request's write to its response, under full load (not shown with"
        " pipelining: wrk records one latency per batch but ranks them among all requests, so its"
        " upper percentiles read 0). Context switches: voluntary and involuntary, of all the"
        " server's threads, counted from 10% to 80% of the run (while the load runs: a thread's"
        " count ends with the thread), per second, divided by req/s."
        " Ratios: figure / the floor's, figure / tokio-hyper's."
    )
    out.append("")
    for sc in scenarios:
        out.append(f"## {sc}: {SCENARIO_TITLES[sc]}")
        out.append("")
        if sc == "sweep":
            if not sweep_counts(runs):
                out.append("(no completed runs)")
            else:
                out.extend(table_sweep(servers, runs))
                svg = os.path.join(out_dir, "sweep.svg")
                if sweep_svg(servers, runs, svg):
                    out += ["", f"Chart: {svg}"]
        elif not any((sc, n) in runs for n in servers):
            out.append("(no completed runs)")
        else:
            out.extend(table_idle(servers, runs) if sc == "idle10k" else table_busy(sc, servers, runs))
        out.append("")
    out.extend(targets(runs))
    out.append("")
    out.extend(calibration(runs))
    out.append("")
    if failures or skipped:
        out.append("### Not measured / failed runs")
        out.append("")
        for line in skipped.splitlines():
            out.append(f"- skipped {line}")
        for (sc, name), states in sorted(failures.items()):
            out.append(f"- {sc} {name}: {len(states)} run(s) not counted ({', '.join(sorted(set(states)))})")
        out.append("")
    text = "\n".join(out)
    with open(os.path.join(out_dir, "results.md"), "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main()
