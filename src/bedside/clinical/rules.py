"""The clinical join: rules (``data/rules.yaml`` + CPIC gene-drug) applied to one patient's context.

Rule data: ``data/rules.yaml`` (rules with a typed ``effect``, and ``labels:`` naming the label each drug's
rules were curated from), ``data/not_curated.yaml`` (drugs whose label rule set is not curated, with the
reason), ``data/sources.yaml`` (label revision, DailyMed URL, curation date). :func:`rule_sets` says, per drug
and label category, whether rules exist, the label needs none, or nothing is curated.

Statuses: ``fired`` (the rule changes the recommendation: see ``action``), ``not_fired`` (inputs present,
condition absent), ``not_evaluated`` (an input is missing or unusable; ``reason`` says which). Rules
whose drug is not in play (not a current medication nor a recommended therapy) are not returned.
"""

from __future__ import annotations

import dataclasses
import re
from functools import lru_cache
from pathlib import Path

import yaml

from bedside.clinical.vocab import DATA, DrugVocabulary, load_vocabulary
from bedside.errors import KnowledgeError
from bedside.model import (
    Citation,
    Diplotype,
    PatientContext,
    Recommendation,
    RuleResult,
)

CATEGORIES = {"gene-drug", "drug-drug", "drug-lifestyle", "organ-function"}
EFFECTS = {"dose_decrease", "dose_increase", "avoid", "monitor", "alternative", "info"}
LABEL_CATEGORIES = ("drug-drug", "organ-function", "drug-lifestyle")  # curated from drug labels


@lru_cache(maxsize=4)
def load_rules(path: str | None = None) -> tuple[str, list[dict]]:
    """(version, rules) from a rules YAML, checked: ids unique, category known, sources defined."""
    p = Path(path) if path else DATA / "rules.yaml"
    vocab = load_vocabulary()
    try:
        data = yaml.safe_load(p.read_text())
        rules = data["rules"]
    except (OSError, yaml.YAMLError, KeyError, TypeError) as exc:
        raise KnowledgeError(f"invalid rules file: {exc}", path=p) from exc
    seen = set()
    for r in rules:
        rid = r.get("id")
        if not rid or rid in seen:
            raise KnowledgeError("rule without id or duplicate id", path=p, record=str(rid))
        seen.add(rid)
        if r.get("category") not in CATEGORIES:
            raise KnowledgeError(f"unknown category {r.get('category')!r}", path=p, record=rid)
        if not r.get("sources") or any(s not in vocab.sources for s in r["sources"]):
            raise KnowledgeError("rule must cite sources defined in sources.yaml", path=p, record=rid)
        if r.get("drug") not in vocab.drugs:
            raise KnowledgeError(f"drug {r.get('drug')!r} not in the drug vocabulary", path=p, record=rid)
        if not any(k in r for k in ("with_class", "with_drugs", "smoking", "diet_item", "lab")):
            raise KnowledgeError("rule has no condition", path=p, record=rid)
        effects = [t.get("effect") for t in r["lab"]["thresholds"]] if "lab" in r else [r.get("effect")]
        if any(e not in EFFECTS for e in effects):
            raise KnowledgeError(f"effect must be one of {sorted(EFFECTS)}", path=p, record=rid)
        if "lab" not in r and not r.get("action"):
            raise KnowledgeError("rule has no action", path=p, record=rid)
    return str(data.get("version")), rules


@lru_cache(maxsize=4)
def load_label_index(path: str | None = None) -> dict[str, dict]:
    """Drug -> {"source": key, "no_rule": {category: text}, "manual": {category: text}} from ``labels:`` in
    rules.yaml: the label each drug's rules were curated from, categories reviewed there that need no rule, and
    label statements the patient context cannot evaluate (e.g. hepatic dosing by bilirubin x ULN)."""
    p = Path(path) if path else DATA / "rules.yaml"
    vocab = load_vocabulary()
    data = yaml.safe_load(p.read_text()) or {}
    labels = data.get("labels") or {}
    for drug, entry in labels.items():
        if drug not in vocab.drugs:
            raise KnowledgeError(f"labels: drug {drug!r} not in the drug vocabulary", path=p, record=drug)
        if entry.get("source") not in vocab.sources:
            raise KnowledgeError("labels: source must be defined in sources.yaml", path=p, record=drug)
        bad = (set(entry.get("no_rule") or {}) | set(entry.get("manual") or {})) - set(LABEL_CATEGORIES)
        if bad:
            raise KnowledgeError(f"labels: unknown category {sorted(bad)}", path=p, record=drug)
    return labels


@lru_cache(maxsize=4)
def load_not_curated(path: str | None = None) -> dict[str, dict]:
    """Drug -> {"reason", "date"}: drugs whose label rule set is NOT curated (``data/not_curated.yaml``)."""
    p = Path(path) if path else DATA / "not_curated.yaml"
    try:
        data = yaml.safe_load(p.read_text()) or {}
        rows = data["drugs"]
    except (OSError, yaml.YAMLError, KeyError, TypeError) as exc:
        raise KnowledgeError(f"invalid not-curated file: {exc}", path=p) from exc
    out: dict[str, dict] = {}
    for row in rows:
        drug = str(row.get("drug", "")).strip().lower()
        if not drug or not row.get("reason") or not row.get("date"):
            raise KnowledgeError("entry needs drug, reason and date", path=p, record=drug or "?")
        if drug in out:
            raise KnowledgeError("drug listed twice", path=p, record=drug)
        out[drug] = {"reason": row["reason"], "date": str(row["date"])}
    return out


def manual_checks(drug: str) -> list[tuple[str, str]]:
    """(category, what the label says) for label statements that need a manual check (``manual:``)."""
    entry = load_label_index().get(drug) or {}
    return list((entry.get("manual") or {}).items())


def rule_sets(drug: str) -> dict[str, tuple[str, str]]:
    """For each label category (drug-drug, organ-function, drug-lifestyle): (state, detail) with state
    ``rules`` (curated rules exist; detail = label name and revision), ``no_rule`` (label reviewed, nothing
    to apply; detail = what it says) or ``not_curated`` (detail = why)."""
    from bedside.clinical.vocab import source_meta

    _, rules = load_rules()
    labels = load_label_index()
    missing = load_not_curated()
    meta = source_meta()
    entry = labels.get(drug)
    label = ""
    if entry:
        m = meta.get(entry["source"], {})
        label = " ".join(x for x in (m.get("short", entry["source"]), m.get("revised")) if x)
    out: dict[str, tuple[str, str]] = {}
    for cat in LABEL_CATEGORIES:
        if any(r["drug"] == drug and r["category"] == cat for r in rules):
            out[cat] = ("rules", label or ", ".join(sorted({s for r in rules if r["drug"] == drug
                                                             for s in r["sources"]})))
        elif entry and cat in (entry.get("no_rule") or {}):
            out[cat] = ("no_rule", f"{label}: {entry['no_rule'][cat]}")
        elif drug in missing:
            out[cat] = ("not_curated", missing[drug]["reason"])
        else:
            out[cat] = ("not_curated", f"no rule curated for this category from {label}" if label else
                        "this drug's own label is not in the curated set; its interactions with curated drugs in "
                        "play are checked from those drugs' labels")
    return out


def split_therapy(therapy: str) -> list[str]:
    """'dabrafenib + trametinib' -> ['dabrafenib', 'trametinib']."""
    return [t.strip() for t in re.split(r"\s*(?:\+|,|;|/|\band\b)\s*", therapy) if t.strip()]


def _cites(vocab: DrugVocabulary, rule: dict) -> list[Citation]:
    return [dataclasses.replace(vocab.sources[s], note="; ".join(
        x for x in (rule.get("section"), vocab.sources[s].note) if x)) for s in rule["sources"]]


def _result(rule: dict, status: str, reason: str, vocab: DrugVocabulary, action: str | None = None,
            extra: list[Citation] | None = None) -> RuleResult:
    cites, seen = [], set()
    for c in _cites(vocab, rule) + (extra or []):
        if (c.source, c.pmid) not in seen:
            seen.add((c.source, c.pmid))
            cites.append(c)
    return RuleResult(rule_id=rule["id"], category=rule["category"], drug=rule["drug"], status=status,
                      reason=reason, action=action if status == "fired" else None, citations=cites)


def _eval_rule(rule: dict, ctx: PatientContext, in_play: set[str], unknown: list[str],
               vocab: DrugVocabulary) -> RuleResult:
    drug = rule["drug"]
    if "with_class" in rule or "with_drugs" in rule:
        classes = rule.get("with_class") or []
        classes = [classes] if isinstance(classes, str) else classes
        names = set(rule.get("with_drugs") or [])
        partners = sorted(d for d in in_play - {drug}
                          if d in names or any(vocab.in_class(d, c) for c in classes))
        if partners:
            extra = [c for p in partners for cl in classes if (c := vocab.class_citation(p, cl))]
            what = ", ".join(f"{p} ({', '.join(c for c in classes if vocab.in_class(p, c)) or 'named'})"
                             for p in partners)
            return _result(rule, "fired", f"{drug} with {what}", vocab, rule["action"], list(dict.fromkeys(extra)))
        target = " / ".join(classes + sorted(names))
        if unknown:
            return _result(rule, "not_evaluated", f"no {target} among the known drugs, but "
                           f"{', '.join(unknown)} could not be checked (not in the drug vocabulary)", vocab)
        return _result(rule, "not_fired", f"no {target} among current medications or therapies", vocab)
    if "smoking" in rule:
        if ctx.smoking_status is None:
            return _result(rule, "not_evaluated", "smoking status not recorded", vocab)
        if ctx.smoking_status in rule["smoking"]:
            py = f", {ctx.pack_years:g} pack-years" if ctx.pack_years is not None else ""
            return _result(rule, "fired", f"{ctx.smoking_status} smoker{py}, with {drug}", vocab, rule["action"])
        return _result(rule, "not_fired", f"smoking status {ctx.smoking_status}", vocab)
    if "diet_item" in rule:
        item = rule["diet_item"]
        if "diet not recorded" in ctx.not_evaluated:
            return _result(rule, "not_evaluated", "diet not recorded", vocab)
        if any(item in d for d in ctx.diet):
            return _result(rule, "fired", f"diet includes {item}, with {drug}", vocab, rule["action"])
        return _result(rule, "not_fired", f"{item} not in recorded diet", vocab)
    lab = rule["lab"]
    value = next((x for x in ctx.labs if x.name == lab["name"]), None)
    if value is None:
        others = [x.name for x in ctx.labs if x.name in ("egfr", "creatinine")]
        why = f"{lab['name']} not recorded"
        if others:
            why += f" ({', '.join(others)} present but not substituted: {lab.get('method_note', '')})"
        return _result(rule, "not_evaluated", why, vocab)
    for t in lab["thresholds"]:
        if ("below" in t and value.value < t["below"]) or ("at_most" in t and value.value <= t["at_most"]) \
                or ("above" in t and value.value > t["above"]):
            return _result(rule, "fired", f"{lab['name']} {value.value:g} {value.unit}", vocab, t["action"])
    return _result(rule, "not_fired", f"{lab['name']} {value.value:g} {value.unit}: {lab['otherwise']}", vocab)


@lru_cache(maxsize=4)
def _cpic_drug_genes(guidelines_dir: str | None = None) -> dict[str, tuple[set[str], str | None, list]]:
    from bedside.pgx import BUNDLED_GUIDELINES
    from bedside.pgx.cpic import load_guidelines

    out: dict[str, tuple[set[str], str | None, list]] = {}
    for g in load_guidelines(guidelines_dir or BUNDLED_GUIDELINES):
        genes = {k for r in g.recommendations for k in r["lookupKey"]} or set(g.genes)
        for d in g.drugs:
            out[d] = (genes, None if g.recommendations else
                      f"the CPIC {d} guideline data hold no phenotype-keyed recommendation (dosing algorithm; "
                      f"not implemented)", g.citations())
    return out


def _gene_drug(drug: str, diplotypes: list[Diplotype], recs: list[Recommendation],
               guidelines_dir: str | None) -> RuleResult | None:
    table = _cpic_drug_genes(guidelines_dir)
    genes, no_recs, guideline_cites = table.get(drug, (set(), None, []))
    genes = set(genes)
    drug_recs = [r for r in recs if r.drug == drug and r.kind == "pgx"]
    for r in drug_recs:
        genes |= set((r.gene or "").split(", ")) - {""}
    if not genes:
        return None
    rid = f"GENE-DRUG-CPIC-{drug.upper()}"
    by_gene = {d.gene: d for d in diplotypes}
    cites = list(dict.fromkeys([c for r in drug_recs for c in r.citations] or guideline_cites))

    def res(status, reason, action=None):
        return RuleResult(rule_id=rid, category="gene-drug", drug=drug, status=status, reason=reason,
                          action=action, citations=cites)

    if no_recs:
        return res("not_evaluated", no_recs)
    missing = sorted(g for g in genes if g not in by_gene)
    if missing:
        return res("not_evaluated", f"{', '.join(missing)} not genotyped")
    calls = {g: by_gene[g] for g in sorted(genes)}
    undetermined = [g for g, d in calls.items() if not d.diplotypes or d.phenotype in (None, "Indeterminate")]
    if undetermined:
        return res("not_evaluated", f"{', '.join(undetermined)} call indeterminate ("
                   + "; ".join(n for g in undetermined for n in calls[g].notes[:1]) + ")")
    desc = "; ".join(f"{g} {' | '.join(d.diplotypes)} {d.phenotype}"
                     + (f" (activity score {d.activity_score:g})" if d.activity_score is not None else "")
                     for g, d in calls.items())
    incomplete = [g for g, d in calls.items() if d.missing_positions]
    if incomplete:
        desc += "; call incomplete for " + ", ".join(
            f"{g} ({len(calls[g].missing_positions)} defining positions missing)" for g in incomplete)
    if not drug_recs:
        return res("not_evaluated", f"{desc}: no CPIC recommendation matches this phenotype")
    actionable = [r for r in drug_recs if r.actionable]
    if actionable:
        return res("fired", desc, " || ".join(f"[CPIC {r.classification}] {r.text}" for r in actionable))
    return res("not_fired", f"{desc}: CPIC - no change to dose or therapy")


def evaluate(context: PatientContext, therapies: list[str], diplotypes: list[Diplotype],
             recommendations: list[Recommendation], *, rules_path: str | None = None,
             guidelines_dir: str | None = None) -> list[RuleResult]:
    """Apply every rule to the drugs in play (current medications + recommended therapies)."""
    vocab = load_vocabulary()
    _, rules = load_rules(rules_path)
    results: list[RuleResult] = []
    in_play: set[str] = set()
    unknown: list[str] = []
    for m in context.medications:
        (in_play.add(m) if m in vocab.drugs else unknown.append(m))
    for t in therapies:
        for part in split_therapy(t):
            name = vocab.resolve(part)
            if name:
                in_play.add(name)
            else:
                unknown.append(part)
                results.append(RuleResult(
                    rule_id="VOCABULARY", category="drug-drug", drug=part, status="not_evaluated",
                    reason=f"therapy {part!r} is not in the drug vocabulary; no interaction, lifestyle, "
                           f"organ-function or gene-drug rule could be checked for it",
                    citations=[]))
    taking = set(context.medications)
    for rule in rules:
        if rule["drug"] in in_play:
            res = _eval_rule(rule, context, in_play, unknown, vocab)
            role = "current medication" if rule["drug"] in taking else "recommended option"
            res.reason = f"{res.reason} [{rule['drug']}: {role}]"
            results.append(res)
    for drug in sorted(in_play):
        r = _gene_drug(drug, diplotypes, recommendations, guidelines_dir)
        if r is not None:
            results.append(r)
    order = {"fired": 0, "not_evaluated": 1, "not_fired": 2}
    results.sort(key=lambda r: (order[r.status], r.category, r.drug, r.rule_id))
    return results
