"""The one table of docs/performance.md from the results of the benchmarks that ran
(build/bench/NAME.json), with the machine they ran on: printed as markdown, written with every
figure and sample to build/bench/results.json, and drawn in build/bench/bench.svg (the stop
latency distribution, and copy throughput of each run against nbdcopy).

  python3 bench/report.py NAME...    (bench/run calls it with the benchmarks of its run)
Environment from bench/run: MK_BENCH_ELAPSED_S, MK_BENCH_LOAD_BEFORE (/proc/loadavg),
MK_BENCH_BUSY_BEFORE (the share of CPU time busy in the 3 s before the run).
"""

import json
import math
import os
import platform
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "build" / "bench"
MiB = 1 << 20


def command_output(*argv):
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def first_version(text):
    found = re.search(r"\d+\.\d+(\.\d+)?", text)
    return found.group(0) if found else None


def machine():
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
                if line.startswith("model name")), platform.processor())
    mem_kib = next(int(line.split()[1]) for line in open("/proc/meminfo")
                   if line.startswith("MemTotal:"))
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(mem_kib / (1 << 20), 1),
        "kernel": platform.release(),
        "debian": Path("/etc/debian_version").read_text().strip(),
        "libnbd": first_version(command_output("nbdcopy", "--version")),
        "nbdkit": first_version(command_output("nbdkit", "--version")),
        "nats_server": first_version(command_output("nats-server", "--version")),
        "migratekit_commit": command_output("git", "-C", str(ROOT), "describe", "--always",
                                            "--dirty"),
        "load_before": os.environ.get("MK_BENCH_LOAD_BEFORE", "").split()[:3],
        "busy_before": (float(os.environ["MK_BENCH_BUSY_BEFORE"])
                        if os.environ.get("MK_BENCH_BUSY_BEFORE") else None),
        "load_after": Path("/proc/loadavg").read_text().split()[:3],
    }


def machine_line(m):
    busy = "?" if m["busy_before"] is None else f"{m['busy_before']:.0%}"
    return (f"{m['cores']} cores ({m['cpu']}), {m['memory_gib']} GiB RAM, Debian {m['debian']}, "
            f"kernel {m['kernel']}, libnbd {m['libnbd']}, nbdkit {m['nbdkit']}, "
            f"nats-server {m['nats_server']}; CPU busy {busy} just before the run; "
            f"load average before/after {' '.join(m['load_before']) or '?'} / "
            f"{' '.join(m['load_after'])}")


# -- the rows -----------------------------------------------------------------------------

def row(benchmark, ours, unit, target, within, peer=None, ratio=None):
    """One line of the table; `within` says whether ours meets the target (None: a figure
    reported beside a row, with no target of its own)."""
    verdict = "—" if within is None else "meets" if within else "misses"
    return {"benchmark": benchmark, "ours": ours, "unit": unit, "peer": peer, "ratio": ratio,
            "target": target, "verdict": verdict}


def copy_rows(r):
    out = []
    for s in r["scenarios"]:
        what = {"dense": f"copy {s['size']} dense, memory to written memory",
                "sparse": f"copy {s['size']} sparse-random to fresh memory"}[s["name"]]
        out.append(row(f"{what} (median of {s['runs']}, s)", s["migratekit_median_s"], "s",
                       "ratio <= 1.0", s["ratio"] <= 1.0, peer=s["nbdcopy_median_s"],
                       ratio=s["ratio"]))
    return out


def across_rows(r):
    out = []
    for s in r["scenarios"]:
        what = {"tls-psk": "copy {} across hosts (veth), TLS-PSK as a remote agent's volume",
                "plain": "copy {} across hosts (veth), plain TCP, for comparison"}[s["name"]]
        out.append(row(f"{what.format(s['size'])} (median of {s['runs']}, s)",
                       s["migratekit_median_s"], "s", "ratio <= 1.0", s["ratio"] <= 1.0,
                       peer=s["nbdcopy_median_s"], ratio=s["ratio"]))
    return out


def stops_rows(r):
    out = []
    if "idle" in r:
        i = r["idle"]
        busy = i["machine_busy"] * 100
        ours = {k: v for k, v in i["cores_by_process"].items() if k != "source"}
        out.append(row(f"idle cost: {i['jobs']} jobs copying slowly, machine busy (%)",
                       round(busy, 1), "%", "<= 20 %", busy <= 20))
        # The source server stands for the VMware side: in production it runs on another host.
        out.append(row(f"idle cost: the same less the source server (cores busy; "
                       f"{i['cores_by_process'].get('source', 0):.2f} for the source)",
                       round(sum(ours.values()), 2), "cores", "(reported)", None))
    if "stop" in r:
        s = r["stop"]
        d = s["settled_ms"]
        out += [row(f"stop overhead, {s['jobs']} jobs running: p50 (ms)", round(d["p50"], 1),
                    "ms", "<= 20 ms", d["p50"] <= 20),
                row(f"stop overhead, {s['jobs']} jobs running: p99 (ms)", round(d["p99"], 1),
                    "ms", "<= 100 ms", d["p99"] <= 100)]
        # The same stops less the mover's own wind-down (its drain, flush, checkpoint and exit,
        # as its confirmation's after_ms tells): what the control plane adds to the mover.
        b = s["beyond_mover_ms"]
        out += [row(f"stop overhead beyond the mover's own end, {s['jobs']} jobs: p50 (ms)",
                    round(b["p50"], 1), "ms", "<= 20 ms", b["p50"] <= 20),
                row(f"stop overhead beyond the mover's own end, {s['jobs']} jobs: p99 (ms)",
                    round(b["p99"], 1), "ms", "<= 100 ms", b["p99"] <= 100)]
    if "maintenance" in r:
        m = r["maintenance"]
        for rnd in m["rounds"]:
            out.append(row(f"maintenance on, {m['jobs']} jobs, max_parallel "
                           f"{rnd['max_parallel']}: all settled (s)", rnd["all_settled_s"], "s",
                           "<= 3 s", rnd["all_settled_s"] <= 3))
    if "scale" in r:
        c = r["scale"]
        out.append(row("scale: jobs running at once, all replicating, none failed", c["jobs"],
                       "jobs", ">= 500", c["jobs"] >= 500 and c["failed"] == 0))
        out.append(row(f"scale: {c['jobs']} jobs started until all replicate (s)", c["start_s"],
                       "s", "(reported)", None))
        out.append(row(f"scale: maintenance on, {c['jobs']} jobs: all settled (s)",
                       c["maintenance"]["all_settled_s"], "s", "(reported)", None))
        out.append(row(f"scale: maintenance off with resume_after: all {c['jobs']} replicating "
                       "(s)", c["resume_after_s"], "s", "(reported)", None))
        out.append(row(f"scale: RSS of `up` (OMA and local agent) with {c['jobs']} jobs (MiB)",
                       round(c["up_rss_kib"]["VmRSS"] / 1024, 1), "MiB", "(reported)", None))
        out.append(row(f"scale: {c['jobs']} jobs at rest, machine busy (%)",
                       round(c["rest"]["machine_busy"] * 100, 1), "%", "(reported)", None))
    if "slow" in r:
        w = r["slow"]
        d = w["one_at_a_time_ms"]
        out.append(row(f"stop of a job on a slow source ({w['jobs']} jobs share "
                       f"{w['source_rate']}bit/s), one at a time: max settled (ms)",
                       round(d["max"], 1), "ms", "<= 1000 ms", d["max"] <= 1000))
        mm = w["maintenance"]
        out.append(row(f"the same {w['jobs']} stopped at once (maintenance): all settled (s)",
                       mm["all_settled_s"], "s", "<= 1 s", mm["all_settled_s"] <= 1))
    return out


def remote_stops_rows(r):
    """A remote agent's stops against local's in the same run: the peer column is local."""
    out = []
    n = r["jobs_per_agent"]
    for key, what in (("settled_ms", "stop of a job on a remote agent (TLS bus, TLS-PSK volume, "
                                     f"other host), {n} + {n} jobs"),
                      ("beyond_mover_ms", "the same beyond the mover's own end")):
        for q, bound in (("p50", 20), ("p99", 100)):
            remote, local = r["vma-a"][key][q], r["local"][key][q]
            out.append(row(f"{what}: {q} (ms; peer: the same on local)", round(remote, 1), "ms",
                           f"<= {bound} ms", remote <= bound, peer=round(local, 1),
                           ratio=round(remote / local, 2) if local else None))
    return out


def resume_rows(r):
    bound = r["bound_bytes"]
    return [row(f"bytes copied again on resume, max of {len(r['samples'])} graceful stops",
                r["max_bytes_recopied"], "bytes",
                f"<= {bound // MiB} MiB ({r['requests']} x {r['request_size'] // 1024} KiB)",
                r["max_bytes_recopied"] <= bound)]


def records_rows(r):
    hwm = r["rss_kib"]["hwm"] / 1024
    return [row(f"OMA with {r['records']:,} job records: RSS, peak (MiB)", round(hwm, 1), "MiB",
                "<= 200 MiB", hwm <= 200),
            row(f"GET /replications?limit=100 with {r['records']:,} records: p50 (ms)",
                round(r["list_ms"]["p50"], 2), "ms", "<= 20 ms", r["list_ms"]["p50"] <= 20)]


def fresh_up_rows(r):
    minutes = r["seconds"] / 60
    return [row(f"`./mk up` on a fresh clone ({r['commit']}) to the printed URL, "
                f"{r['cores']} cores (min)", round(minutes, 1), "min", "<= 5 min", minutes <= 5)]


ROWS = {"copy": copy_rows, "across": across_rows, "stops": stops_rows, "resume": resume_rows,
        "remote_stops": remote_stops_rows,
        "records": records_rows, "fresh_up": fresh_up_rows}


def table(rows):
    lines = ["| benchmark | ours | peer (nbdcopy) | ratio or target | verdict |",
             "|---|---|---|---|---|"]
    for r in rows:
        peer = "" if r["peer"] is None else r["peer"]
        versus = f"{r['ratio']:.3f} (target {r['target']})" if r["ratio"] is not None else r["target"]
        lines.append(f"| {r['benchmark']} | {r['ours']} | {peer} | {versus} | {r['verdict']} |")
    return "\n".join(lines)


# -- the picture --------------------------------------------------------------------------

def svg_text(x, y, text, size=12, anchor="start", weight="normal", fill="#222"):
    text = text.replace("&", "&amp;").replace("<", "&lt;")
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" '
            f'font-weight="{weight}" fill="{fill}">{text}</text>')


def nice_ticks(top, count=5):
    """0, then round steps up to the first at or above `top`."""
    raw = top / count
    step = 10 ** math.floor(math.log10(raw))
    step *= next(f for f in (1, 2, 2.5, 5, 10) if step * f >= raw)
    ticks = [0.0]
    while ticks[-1] < top:
        ticks.append(round(ticks[-1] + step, 6))
    return ticks


def log_ticks(low, high):
    """1-2-5 steps from the last at or below `low` to the first at or above `high`."""
    steps = [d * f for d in (0.1, 1, 10, 100, 1000, 10000, 100000) for f in (1, 2, 5)]
    first = max(i for i, v in enumerate(steps) if v <= max(low, steps[0]))
    last = min(i for i, v in enumerate(steps) if v >= high)
    return steps[first:last + 1]


def stop_panel(x0, y0, w, h, stops):
    """Cumulative distribution of the stop latency: the client's figure and the JobLog's."""
    samples = stops["samples"]
    client = sorted(s["settled_ms"] for s in samples)
    server = sorted(s["joblog_ms"] for s in samples)
    # A log scale: the targets (20 and 100 ms) and a tail of seconds both stay readable.
    ticks = log_ticks(min(client + server + [20]), max(client + server + [100]))
    low, high = math.log10(ticks[0]), math.log10(ticks[-1])
    px = lambda v: x0 + (math.log10(max(v, ticks[0])) - low) / (high - low) * w
    py = lambda f: y0 + h - f * h
    out = [svg_text(x0, y0 - 28, f"Stop latency, {stops['jobs']} jobs running "
                    f"({len(samples)} stops, one at a time)", 14, weight="bold"),
           svg_text(x0, y0 - 12, "share settled within x ms of the request; each mover has one "
                    f"{stops['request_size'] // 1024} KiB read in flight, answered in "
                    f"{stops['source_read_delay']}", 10, fill="#555"),
           f'<rect x="{x0}" y="{y0}" width="{w}" height="{h}" fill="none" stroke="#999"/>']
    for t in ticks:
        out.append(f'<line x1="{px(t):.1f}" y1="{y0 + h}" x2="{px(t):.1f}" y2="{y0 + h + 4}" '
                   'stroke="#999"/>')
        out.append(svg_text(px(t), y0 + h + 16, f"{t:g}", 10, "middle"))
    for f in (0, 0.25, 0.5, 0.75, 0.99):
        out.append(f'<line x1="{x0}" y1="{py(f):.1f}" x2="{x0 + w}" y2="{py(f):.1f}" '
                   'stroke="#ddd"/>')
        out.append(svg_text(x0 - 6, py(f) + 4 + (6 if f == 0.99 else 0), f"{f:g}", 10, "end"))
    out.append(svg_text(x0 + w / 2, y0 + h + 32, "milliseconds (log scale)", 11, "middle"))
    for target, label, frac in ((20, "target p50 20 ms", 0.5), (100, "target p99 100 ms", 0.99)):
        if target <= ticks[-1]:
            out.append(f'<line x1="{px(target):.1f}" y1="{y0}" x2="{px(target):.1f}" '
                       f'y2="{y0 + h}" stroke="#c33" stroke-dasharray="4 3"/>')
            out.append(f'<circle cx="{px(target):.1f}" cy="{py(frac):.1f}" r="3" fill="#c33"/>')
            out.append(svg_text(px(target) + 4, py(frac) - 6, label, 10, fill="#c33"))
    series = ((client, "#1f77b4", "client: request to the event on /events"),
              (server, "#ff7f0e", "server: JobLog, stop_requested to stop_settled"))
    for i, (values, colour, name) in enumerate(series):
        points = [(px(0), py(0))]
        for k, v in enumerate(values):
            points += [(px(v), py(k / len(values))), (px(v), py((k + 1) / len(values)))]
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        out.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        ly = y0 + h - 36 + i * 16
        out.append(f'<line x1="{x0 + w - 262}" y1="{ly}" x2="{x0 + w - 244}" y2="{ly}" '
                   f'stroke="{colour}" stroke-width="2"/>')
        out.append(svg_text(x0 + w - 240, ly + 4, name, 10))
    return out


def copy_panel(x0, y0, w, h, copy):
    """Each run's throughput (disk bytes per second), ours beside nbdcopy: a chart of its own
    scale per scenario, since a sparse copy's disk goes by several times faster."""
    scenarios = copy["scenarios"]
    out = [svg_text(x0, y0 - 28, "Copy throughput, every run", 14, weight="bold"),
           svg_text(x0, y0 - 12, "disk size / wall time, GB/s; bars: the medians", 11,
                    fill="#555")]
    slot = w / len(scenarios)
    for g, s in enumerate(scenarios):
        gb = s["bytes"] / 1e9
        series = (([gb / t for t in s["migratekit_s"]], "#1f77b4", "migratekit"),
                  ([gb / t for t in s["nbdcopy_s"]], "#2ca02c", "nbdcopy"))
        ticks = nice_ticks(max(v for values, _, _ in series for v in values) * 1.1, 4)
        left, width = x0 + slot * g + 34, slot - 50
        py = lambda v: y0 + h - v / ticks[-1] * h
        out.append(f'<rect x="{left}" y="{y0}" width="{width}" height="{h}" fill="none" '
                   'stroke="#999"/>')
        for t in ticks:
            out.append(f'<line x1="{left}" y1="{py(t):.1f}" x2="{left + width}" '
                       f'y2="{py(t):.1f}" stroke="#eee"/>')
            out.append(svg_text(left - 5, py(t) + 4, f"{t:g}", 10, "end"))
        for k, (values, colour, who) in enumerate(series):
            cx = left + width * (0.28 + 0.44 * k)
            med = sorted(values)[len(values) // 2]
            out.append(f'<rect x="{cx - 20:.1f}" y="{py(med):.1f}" width="40" '
                       f'height="{y0 + h - py(med):.1f}" fill="{colour}" fill-opacity="0.25"/>')
            for i, v in enumerate(values):
                dx = (i - (len(values) - 1) / 2) * 5
                out.append(f'<circle cx="{cx + dx:.1f}" cy="{py(v):.1f}" r="3" '
                           f'fill="{colour}"/>')
            out.append(svg_text(cx, y0 + h + 14, who, 10, "middle"))
        out.append(svg_text(left + width / 2, y0 + h + 30, f"{s['name']} {s['size']}", 11,
                            "middle", weight="bold"))
    return out


def picture(results, m):
    panels = []  # (width taken, draw at x)
    if "stop" in results.get("stops", {}):
        panels.append((540, lambda x: stop_panel(x, 60, 460, 300, results["stops"]["stop"])))
    if "copy" in results:
        panels.append((440, lambda x: copy_panel(x, 60, 380, 300, results["copy"])))
    if not panels:
        return None
    body, x = [], 60
    for width, draw in panels:
        body += draw(x)
        x += width
    line = "Machine: " + machine_line(m)
    cut = line.rfind(", ", 0, len(line) // 2 + 40) + 1
    foot = (svg_text(20, 425, line[:cut], 10, fill="#555") + "\n"
            + svg_text(20, 440, line[cut:].strip(), 10, fill="#555"))
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{x}" height="460" '
            f'viewBox="0 0 {x} 460" font-family="sans-serif">\n'
            '<rect width="100%" height="100%" fill="white"/>\n' + "\n".join(body) + "\n"
            + foot + "\n</svg>\n")


def main(names):
    results = {}
    for name in names:
        path = OUT / f"{name}.json"
        if path.exists():
            results[name] = json.loads(path.read_text())
    rows = [r for name in ROWS if name in results for r in ROWS[name](results[name])]
    m = machine()
    elapsed = os.environ.get("MK_BENCH_ELAPSED_S")
    print("## Benchmarks (docs/performance.md)\n")
    print(table(rows))
    print(f"\nMachine: {machine_line(m)}.")
    if elapsed:
        print(f"The run took {float(elapsed) / 60:.1f} min.")
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "results.json").write_text(json.dumps(
        {"machine": m, "elapsed_s": float(elapsed) if elapsed else None, "rows": rows,
         "benchmarks": results}, indent=1) + "\n")
    svg = picture(results, m)
    if svg:
        (OUT / "bench.svg").write_text(svg)
    print("\nResults: build/bench/results.json" + (", build/bench/bench.svg" if svg else ""))


if __name__ == "__main__":
    main(sys.argv[1:])
