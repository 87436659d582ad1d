"""Cohort report pieces for the lead's cohort summary: PGx phenotype frequencies, QC outliers, identity
problems, ancestry PCA and kinship plots (matplotlib -> inline SVG), each returned as an HTML fragment
(strings escaped) or a DataFrame. Inputs are the store's column records (``store.columns``) and the
outputs of :func:`bedside.cohort.qc.run` / :func:`bedside.cohort.identity.tumor_normal_identity`."""

from __future__ import annotations

import html
import io

import pandas as pd

from bedside.cohort.qc import KINSHIP_DEGREES


def pgx_frequencies(cols: pd.DataFrame) -> pd.DataFrame:
    """gene, phenotype, patients, fraction (of patients with a call for the gene)."""
    rows = []
    for recs in cols["pgx"]:
        for d in recs or []:
            get = d.get if isinstance(d, dict) else (lambda k, d=d: getattr(d, k))
            rows.append({"gene": get("gene"), "phenotype": get("phenotype") or f"not called ({get('status')})"})
    if not rows:
        return pd.DataFrame(columns=["gene", "phenotype", "patients", "fraction"])
    df = pd.DataFrame(rows).groupby(["gene", "phenotype"]).size().rename("patients").reset_index()
    df["fraction"] = (df.patients / df.groupby("gene").patients.transform("sum")).round(3)
    return df.sort_values(["gene", "patients"], ascending=[True, False]).reset_index(drop=True)


def table_html(df: pd.DataFrame, caption: str, empty: str = "none") -> str:
    if df.empty:
        return f"<p><strong>{html.escape(caption)}:</strong> {html.escape(empty)}</p>"
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    body = "".join("<tr>" + "".join(f"<td>{html.escape('' if pd.isna(v) else str(v))}</td>" for v in r)
                   + "</tr>" for r in df.itertuples(index=False))
    return (f'<table class="cohort"><caption>{html.escape(caption)}</caption><thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table>")


def qc_outliers(sample_qc: pd.DataFrame) -> pd.DataFrame:
    keep = [c for c in ("s", "patient_id", "call_rate", "r_ti_tv", "r_het_hom_var", "genetic_sex",
                        "clinical_sex", "flags") if c in sample_qc.columns]
    return sample_qc.loc[sample_qc["flags"].fillna("") != "", keep].reset_index(drop=True)


def identity_problems(identity: pd.DataFrame) -> pd.DataFrame:
    return identity.loc[identity["status"] != "ok"].reset_index(drop=True)


def _svg(fig) -> str:
    import matplotlib.pyplot as plt

    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg"):]  # inline: drop the XML prolog / DOCTYPE


def pca_svg(pcs: pd.DataFrame, flagged: set[str] | None = None, x: str = "PC1", y: str = "PC2") -> str:
    """Scatter of two principal components; flagged samples (QC outliers) marked and labelled."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if x not in pcs or y not in pcs:
        return "<p>Ancestry PCA: not computed (too few samples or variants).</p>"
    flagged = flagged or set()
    fig, ax = plt.subplots(figsize=(4.5, 4))
    ok = ~pcs.s.isin(flagged)
    ax.scatter(pcs.loc[ok, x], pcs.loc[ok, y], s=12, c="#4477aa", label="samples")
    if (~ok).any():
        ax.scatter(pcs.loc[~ok, x], pcs.loc[~ok, y], s=24, c="#cc3311", marker="x", label="QC flag")
        for r in pcs.loc[~ok].itertuples():
            ax.annotate(r.s, (getattr(r, x), getattr(r, y)), fontsize=6)
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    ax.set_title("Ancestry PCA (germline, HWE-normalised)", fontsize=9)
    ax.legend(fontsize=7)
    return _svg(fig)


def kinship_svg(relatedness: pd.DataFrame) -> str:
    """Kinship of every related pair (KING-robust) against the degree cut-offs."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rel = relatedness.reset_index(drop=True)
    if rel.empty:
        return "<p>Relatedness plot: no pair at third degree or closer.</p>"
    fig, ax = plt.subplots(figsize=(5, 3))
    ax.scatter(range(len(rel)), rel.kinship if len(rel) else [], s=18, c="#cc3311")
    for i, r in rel.iterrows():
        ax.annotate(f"{r.sample_a}/{r.sample_b}", (i, r.kinship), fontsize=5, rotation=30)
    for cut, name in KINSHIP_DEGREES:
        ax.axhline(cut, color="grey", lw=0.6, ls="--")
        ax.text(len(rel) - 0.5, cut, f" > {cut}: {name}", fontsize=6, va="bottom")
    ax.set_ylim(0, 0.55)
    ax.set_xlabel("related pair")
    ax.set_ylabel("kinship (KING-robust)")
    ax.set_title(f"Relatedness: {len(rel)} pair(s) at third degree or closer", fontsize=9)
    return _svg(fig)


def section_html(cols: pd.DataFrame | None = None, qc_result: dict | None = None,
                 identity: pd.DataFrame | None = None) -> str:
    """The cohort-platform section of the cohort summary (HTML fragment)."""
    parts = ['<section class="cohort-platform"><h2>Cohort genome QC, identity and PGx</h2>']
    if qc_result is not None:
        for note in qc_result.get("notes", []):
            parts.append(f"<p class=\"note\">{html.escape(note)}</p>")
        parts.append(table_html(qc_outliers(qc_result["sample_qc"]), "Sample QC flags", "no sample flagged"))
        parts.append(table_html(qc_result["relatedness"], "Related pairs (kinship > 0.0442)",
                                "no related pairs"))
        flagged = set(qc_outliers(qc_result["sample_qc"]).s)
        parts.append(pca_svg(qc_result["pcs"], flagged))
        parts.append(kinship_svg(qc_result["relatedness"]))
    if identity is not None:
        parts.append(table_html(identity_problems(identity), "Tumor-normal identity problems",
                                "every tumor matches its normal"))
    if cols is not None:
        parts.append(table_html(pgx_frequencies(cols), "PGx phenotype frequencies"))
    parts.append("</section>")
    return "\n".join(parts)
