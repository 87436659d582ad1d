"""Small matplotlib plots for the patient report, returned as inline SVG text (the HTML stays offline).

Figures are drawn on the SVG canvas directly (no pyplot, no GUI backend); text stays text
(``svg.fonttype: none``) so the browser or WeasyPrint renders it in the report's fonts, Korean
included, and the SVG stays small. Every element id is prefixed with the plot's name so several
plots can sit in one HTML document.
"""

from __future__ import annotations

import functools
import io
import re
from typing import Any

TUMOR_COLOR = "#14324a"
NORMAL_COLOR = "#8fb3cc"
ALERT_COLOR = "#b3261e"
TIER_COLORS = {"I": "#b3261e", "II": "#c98b00", "III": "#6b7785", "IV": "#2e7d32", None: "#9aa5b1"}


@functools.cache
def _setup() -> Any:
    """Import matplotlib once and fix the rc parameters every report plot uses."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    matplotlib.rcParams.update({
        "svg.fonttype": "none", "svg.hashsalt": "bedside", "font.size": 8,
        "font.family": ["DejaVu Sans", "Noto Sans CJK KR", "sans-serif"],
        "axes.spines.top": False, "axes.spines.right": False,
        "axes.titlesize": 9, "axes.labelsize": 8, "xtick.labelsize": 7, "ytick.labelsize": 7,
        "legend.fontsize": 7, "legend.frameon": False, "path.simplify": True,
    })
    from matplotlib.backends.backend_svg import FigureCanvasSVG
    from matplotlib.figure import Figure

    return Figure, FigureCanvasSVG


def _figure(width: float, height: float, left: float = 0.6, bottom: float = 0.45, top: float = 0.45,
            right: float = 0.1):
    """A figure with fixed margins in inches (one draw; no tight-bbox second pass)."""
    Figure, Canvas = _setup()
    fig = Figure(figsize=(width, height), dpi=72)
    Canvas(fig)
    fig.subplots_adjust(left=left / width, right=1 - right / width, bottom=bottom / height,
                        top=1 - top / height)
    return fig


_ID = re.compile(r'(id="|url\(#|href="#)([^")]+)')


def _to_svg(fig, name: str, title: str) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
    text = buf.getvalue()
    text = text[text.index("<svg"):]  # drop the XML declaration and DOCTYPE for inline use
    text = _ID.sub(lambda m: f"{m.group(1)}{name}-{m.group(2)}", text)
    text = re.sub(r"<metadata>.*?</metadata>\s*", "", text, flags=re.S)
    # accessible name, and scale with the page instead of a fixed point size
    text = text.replace("<svg ", f'<svg role="img" aria-label="{_esc(title)}" class="plot" ', 1)
    return re.sub(r'(<svg[^>]*?) width="([\d.]+)pt" height="([\d.]+)pt"',
                  lambda m: f'{m.group(1)} width="{m.group(2)}pt" height="{m.group(3)}pt" '
                            f'style="max-width:100%;height:auto"', text, count=1)


def _esc(s: str) -> str:
    return s.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")


def _legend(ax, ncols: int) -> None:
    """Legend above the axes, right-aligned, so it never covers data."""
    ax.legend(loc="lower right", bbox_to_anchor=(1.0, 1.0), ncols=ncols, borderaxespad=0.1,
              handlelength=1.2, columnspacing=0.8, fontsize=6.5)


def coverage_svg(rows: list[dict[str, Any]], min_depth: float | None, t: dict[str, str]) -> str | None:
    """Per assayed gene, tumor and normal side by side: mean depth (with the callable depth as a line)
    when the case record has it, else the fraction of coding bases at the callable depth."""
    use_depth = any(r.get("mean_depth") is not None for r in rows)
    key = "mean_depth" if use_depth else "fraction_at_min_depth"
    genes = sorted({r["gene"] for r in rows if r.get(key) is not None})
    if not genes:
        return None
    scale = 1 if use_depth else 100
    by = {(r["gene"], r.get("role")): r[key] * scale for r in rows if r.get(key) is not None}
    roles = [role for role in ("tumor", "normal") if any((g, role) in by for g in genes)]
    rotate = len(genes) > 8
    fig = _figure(max(3.2, min(7.0, 0.28 * len(genes) + 1.2)), 2.3 if rotate else 2.1,
                  bottom=0.75 if rotate else 0.35)
    ax = fig.add_subplot()
    width = 0.8 / max(1, len(roles))
    for i, role in enumerate(roles):
        xs = [j + (i - (len(roles) - 1) / 2) * width for j in range(len(genes))]
        ax.bar(xs, [by.get((g, role), 0) for g in genes], width=width, label=t[f"plot_{role}"],
               color=TUMOR_COLOR if role == "tumor" else NORMAL_COLOR)
    if use_depth and min_depth:
        ax.axhline(min_depth, color=ALERT_COLOR, lw=0.8, ls="--", label=t["plot_min_depth"])
    if not use_depth:
        ax.set_ylim(0, 105)
        ax.set_yticks([0, 50, 100])
    else:
        from matplotlib.ticker import MaxNLocator

        ax.yaxis.set_major_locator(MaxNLocator(4, integer=True))
    ax.set_xticks(range(len(genes)), genes, rotation=90 if rotate else 0)
    ax.set_ylabel(t["plot_mean_depth"] if use_depth
                  else t["plot_fraction_callable"].format(x=f"{min_depth:g}" if min_depth else "?"))
    ax.set_title(t["plot_coverage_title"], loc="left", pad=14)
    _legend(ax, 3)
    return _to_svg(fig, "coverage", t["plot_coverage_title"])


def vaf_svg(rows: list[dict[str, Any]], lod: float | None, t: dict[str, str]) -> str | None:
    """Somatic allele fractions: histogram, one dot per variant coloured by tier, the detection limit."""
    pts = [(r["vaf"], r.get("tier"), r.get("gene") or "") for r in rows if r.get("vaf") is not None]
    if not pts:
        return None
    import numpy as np

    fig = _figure(3.4, 2.1)
    ax = fig.add_subplot()
    pts.sort(key=lambda p: p[0])
    counts, edges = np.histogram([p[0] for p in pts], bins=20, range=(0.0, 1.0))
    ax.stairs(counts, edges, fill=True, color="#dbe4ec")  # one artist, not one patch per bin
    ys = [0.3 + 0.25 * (i % 4) for i in range(len(pts))]
    for tier in sorted({p[1] for p in pts}, key=lambda x: (x is None, x or "")):
        idx = [i for i, p in enumerate(pts) if p[1] == tier]
        ax.plot([pts[i][0] for i in idx], [ys[i] for i in idx], "o", ms=4, ls="none",
                color=TIER_COLORS.get(tier, "#9aa5b1"),
                label=t["plot_tier"].format(tier=tier) if tier else t["plot_untiered"])
        if tier in ("I", "II"):
            for i in idx:
                ax.annotate(pts[i][2], (pts[i][0], ys[i]), xytext=(3, 3), textcoords="offset points",
                            fontsize=6.5)
    if lod:
        ax.axvline(lod, color=ALERT_COLOR, lw=0.8, ls="--", label=t["plot_lod"])
    ax.set_xlim(0, 1)
    ax.set_xticks([0, 0.25, 0.5, 0.75, 1.0], ["0", "0.25", "0.5", "0.75", "1"])
    top = max(int(counts.max()), 1)
    ax.set_ylim(0, top + 0.5)
    ax.set_yticks(sorted({0, top // 2, top}))
    ax.set_xlabel(t["plot_vaf"])
    ax.set_ylabel(t["plot_variants"])
    ax.set_title(t["plot_vaf_title"], loc="left", pad=14)
    _legend(ax, 4)
    return _to_svg(fig, "vaf", t["plot_vaf_title"])


def tmb_svg(patient_id: str, tmb: dict[str, Any], cohort: list[dict[str, Any]],
            t: dict[str, str]) -> str | None:
    """The patient's assessable TMB among the cohort's; nothing is drawn for a TMB not assessable."""
    if tmb.get("status") != "assessable" or tmb.get("value") is None:
        return None
    others = [c for c in cohort if c.get("patient_id") != patient_id and c.get("status") == "assessable"
              and c.get("value") is not None]
    if not others:
        return None
    fig = _figure(3.4, 1.7, left=0.15)
    ax = fig.add_subplot()
    vals = sorted(c["value"] for c in others)
    ax.plot(vals, [0.5 + 0.1 * ((i % 5) - 2) for i in range(len(vals))], "o", ms=3.5,
            color=NORMAL_COLOR, label=t["plot_cohort"].format(n=len(vals)))
    ax.plot([tmb["value"]], [0.5], "D", ms=6, color=TUMOR_COLOR, label=patient_id)
    if tmb.get("ci_low") is not None and tmb.get("ci_high") is not None:
        ax.hlines(0.5, tmb["ci_low"], tmb["ci_high"], color=TUMOR_COLOR, lw=1.2)
    if tmb.get("threshold"):
        ax.axvline(tmb["threshold"], color=ALERT_COLOR, lw=0.8, ls="--",
                   label=t["plot_threshold"].format(x=tmb["threshold"]))
    ax.set_ylim(0, 1)
    ax.set_yticks([])
    ax.spines["left"].set_visible(False)
    ax.set_xlim(left=0)
    ax.set_xlabel(t["plot_tmb_unit"])
    ax.set_title(t["plot_tmb_title"], loc="left", pad=14)
    _legend(ax, 3)
    return _to_svg(fig, "tmb", t["plot_tmb_title"])
