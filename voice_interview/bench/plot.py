"""The bench PNG: latency distribution per stage, and voice-to-voice against N.

matplotlib is optional (it is not a dependency of the server): without it the PNG is
skipped with a message, and the table and JSON are unaffected.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from voice_interview.bench.report import STAGES, forced_end


class PlotUnavailable(Exception):
    """matplotlib is not installed."""


def _matplotlib() -> Any:
    try:
        import matplotlib
    except ImportError as e:
        raise PlotUnavailable(
            "matplotlib is not installed, so no PNG was drawn "
            "(pip install matplotlib; the JSON has every number)"
        ) from e
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_result(result: Mapping[str, Any], path: Path) -> Path:
    """Draw the two panels into ``path``; raises PlotUnavailable without matplotlib."""
    plt = _matplotlib()
    runs = list(result["runs"])
    cfg = result["config"]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(14, 5.5), gridspec_kw={"width_ratios": [3, 2]})

    # Panel 1: one group per stage, one box per N.
    stages = [
        s for s in STAGES if any(t["stages"].get(s) is not None for r in runs for t in r["turns"])
    ]
    width = 0.8 / max(1, len(runs))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for k, run in enumerate(runs):
        clean = [t for t in run["turns"] if not t.get("cut_early") and not forced_end(t)]
        data, positions = [], []
        for i, stage in enumerate(stages):
            pool = run["turns"] if stage == "evaluation" else clean
            values = [t["stages"][stage] for t in pool if t["stages"].get(stage) is not None]
            if values:
                data.append(values)
                positions.append(i + (k - (len(runs) - 1) / 2) * width)
        if not data:
            continue
        box = ax1.boxplot(
            data,
            positions=positions,
            widths=width * 0.85,
            patch_artist=True,
            showfliers=True,
            whis=(5, 95),
            manage_ticks=False,
        )
        color = colors[k % len(colors)]
        for patch in box["boxes"]:
            patch.set_facecolor(color)
            patch.set_alpha(0.55)
        ax1.plot([], [], color=color, linewidth=8, alpha=0.55, label=f"N={run['sessions']}")
    # Turn stages are ~0.02-3 s, evaluation and completion tens of seconds: log scale.
    every = [
        t["stages"][s]
        for r in runs
        for t in r["turns"]
        for s in stages
        if t["stages"].get(s) is not None
    ]
    if every and min(every) > 0:
        ax1.set_yscale("log")
    elif every:
        ax1.set_yscale("symlog", linthresh=10.0)
    ax1.set_xticks(range(len(stages)))
    ax1.set_xticklabels([s.replace("_", "\n") for s in stages])
    ax1.set_ylabel("ms, log scale (box: p25-p75, whiskers: p5-p95)")
    ax1.set_title(f"Latency per stage ({cfg['mode']}, input {cfg['input']})")
    ax1.grid(axis="y", alpha=0.3)
    if len(runs) > 1:
        ax1.legend(loc="upper left")

    # Panel 2: voice-to-voice p50 / p95 against N (client), with the server's own p50.
    ns = [run["sessions"] for run in runs]

    def series(key: str, stage: str, q: str) -> list[float | None]:
        return [run["summary"][key][stage][q] for run in runs]

    for label, values, style in (
        ("voice-to-voice p50 (client)", series("stages", "voice_to_voice", "p50"), "o-"),
        ("voice-to-voice p95 (client)", series("stages", "voice_to_voice", "p95"), "s--"),
        ("voice-to-voice p50 (server)", series("server_stages", "voice_to_voice", "p50"), "^:"),
        ("final transcript p50", series("stages", "final_transcript", "p50"), "d-."),
    ):
        pts = [(n, v) for n, v in zip(ns, values, strict=True) if v is not None]
        if pts:
            ax2.plot([p[0] for p in pts], [p[1] for p in pts], style, label=label)
    ax2.set_xlabel("concurrent sessions N")
    ax2.set_ylabel("ms")
    ax2.set_xticks(ns)
    ax2.set_title("Voice-to-voice against N")
    ax2.grid(alpha=0.3)
    ax2.legend(loc="upper left", fontsize="small")
    ax2.set_ylim(bottom=0)

    machine = result.get("machine", {})
    fig.suptitle(
        f"voice-interview bench, commit {machine.get('git_commit') or '?'}"
        f"{' (dirty)' if machine.get('git_dirty') else ''}, {machine.get('cpu_count')} CPUs",
        fontsize=10,
    )
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
