"""One prescribing view per drug in play: every modifier (CPIC gene-drug, label drug-drug, organ function,
lifestyle) reconciled in one place, with conflicts flagged, an urgency, and what was / was not checked.

Inputs are the outputs of the clinical join: the patient's context, the recommended therapies, the
diplotypes and CPIC recommendations (``bedside.pgx``) and the rule results (:func:`bedside.clinical.evaluate`).
Nothing here decides a dose: modifiers that pull different ways, or several dose changes on one drug, are
flagged for clinician review, never combined.
"""

from __future__ import annotations

import re

from bedside.clinical.rules import _cpic_drug_genes, load_rules, manual_checks, rule_sets, split_therapy
from bedside.clinical.vocab import load_vocabulary
from bedside.model import (
    Diplotype,
    DrugModifier,
    DrugView,
    PatientContext,
    Recommendation,
    RuleResult,
)

URGENCY_ORDER = {"alert": 0, "caution": 1, "info": 2, "none": 3}
# gene-drug pairs where a decreased / no-function genotype is an alert (issue 9: top of page 1)
ALERT_GENES = {"DPYD", "TPMT", "NUDT15"}
REDUCED = re.compile(r"\b(intermediate|poor|decreased|no function|deficien)", re.I)
CATEGORY_NAME = {"gene-drug": "CPIC", "drug-drug": "label drug-drug", "organ-function": "organ function",
                 "drug-lifestyle": "lifestyle"}


def cpic_effect(text: str) -> str:
    """Typed effect of a CPIC recommendation text (first match: avoid, alternative, decrease, increase,
    monitor, else info)."""
    t = text.split(" Other Considerations:")[0].lower()
    if re.search(r"\bavoid\b", t):
        return "avoid"
    if "alternative" in t:
        return "alternative"
    if re.search(r"\b(reduc|decreas|lower)", t):
        return "dose_decrease"
    if re.search(r"\bincreas", t):
        return "dose_increase"
    if "monitor" in t:
        return "monitor"
    return "info"


def _strip_role(reason: str) -> str:
    """Drop the ' [drug: role]' suffix evaluate() appends."""
    return re.sub(r" \[[^]]*\]$", "", reason)


def _rule_index() -> dict[str, dict]:
    return {r["id"]: r for r in load_rules()[1]}


def _effect_of(rule: dict | None, action: str | None) -> str:
    if rule is None:
        return "info"
    if "lab" in rule:
        for t in rule["lab"]["thresholds"]:
            if t["action"] == action:
                return t["effect"]
        return "info"
    return rule.get("effect", "info")


def _partners(rule: dict, drug: str, in_play: set[str]) -> list[str]:
    vocab = load_vocabulary()
    classes = rule.get("with_class") or []
    classes = [classes] if isinstance(classes, str) else classes
    names = set(rule.get("with_drugs") or [])
    return sorted(d for d in in_play - {drug} if d in names or any(vocab.in_class(d, c) for c in classes))


def _drugs_in_play(context: PatientContext, therapies: list[str]) -> dict[str, list[str]]:
    """drug (vocabulary name, or the raw token when unknown) -> roles, in order of first mention."""
    vocab = load_vocabulary()
    roles: dict[str, list[str]] = {}
    for m in context.medications:
        name = vocab.resolve(m) or m
        roles.setdefault(name, []).append("current medication")
    for t in therapies:
        for part in split_therapy(t):
            name = vocab.resolve(part) or part
            role = "recommended therapy" + (f" ({t})" if part.strip() != t.strip() else "")
            if role not in roles.setdefault(name, []):
                roles[name].append(role)
    return roles


def _pgx_reason(r: Recommendation) -> str:
    """'DPYD Intermediate Metabolizer' (the phenotype names its genes) or 'GENE phenotype'."""
    genes = [g.strip() for g in (r.gene or "").split(",") if g.strip()]
    if r.phenotype and (not genes or any(g in r.phenotype for g in genes)):
        return r.phenotype
    return " ".join(x for x in (r.gene, r.phenotype) if x)


def _pgx_modifiers(drug: str, recommendations: list[Recommendation]) -> list[DrugModifier]:
    out = []
    for r in recommendations:
        if r.kind != "pgx" or drug not in [d.strip() for d in r.drug.split(",")]:
            continue
        if not r.actionable:
            continue  # nothing is actionable for a normal phenotype
        out.append(DrugModifier(
            category="gene-drug", rule_id=f"GENE-DRUG-CPIC-{drug.upper()}", action=r.text,
            effect=cpic_effect(r.text), strength=f"CPIC {r.classification}" if r.classification else "CPIC",
            reason=_pgx_reason(r), citations=list(r.citations)))
    return out


def _conflict(mods: list[DrugModifier]) -> str | None:
    def label(m: DrugModifier) -> str:
        return f"{CATEGORY_NAME.get(m.category, m.category)} {m.rule_id} ({m.effect.replace('_', ' ')})"

    up = [m for m in mods if m.effect == "dose_increase"]
    down = [m for m in mods if m.effect in ("dose_decrease", "avoid", "alternative")]
    if up and down:
        return ("Modifiers pull in opposite directions: " + "; ".join(label(m) for m in down) + " versus "
                + "; ".join(label(m) for m in up) + ". Not reconciled automatically: for clinician review.")
    decreases = [m for m in mods if m.effect == "dose_decrease"]
    if len({m.rule_id for m in decreases}) > 1:
        return (f"{len(decreases)} dose reductions apply together: " + "; ".join(label(m) for m in decreases)
                + ". Their sources do not say how to combine them: reconcile the starting dose with the "
                  "clinician (not combined automatically).")
    return None


def _urgency(mods: list[DrugModifier], rules: dict[str, dict]) -> str:
    for m in mods:
        if m.category == "gene-drug" and any(
                any(g in ALERT_GENES for g in re.findall(r"[A-Z0-9]+", part)) and REDUCED.search(part)
                for part in m.reason.split(";")):
            return "alert"
        rule = rules.get(m.rule_id) or {}
        if m.category != "gene-drug" and (rule.get("boxed") or rule.get("contraindicated")):
            return "alert"
    if any(m.effect != "info" for m in mods):
        return "caution"
    return "info" if mods else "none"


def _checked(drug: str, results: list[RuleResult], known: bool) -> tuple[list[str], list[str]]:
    checked: list[str] = []
    missing: list[str] = []
    if not known:
        return [], [f"{drug!r} is not in the drug vocabulary: no CPIC, drug-drug, organ-function or lifestyle "
                    f"rule could be checked"]
    genes, _no_recs, _ = _cpic_drug_genes(None).get(drug, (set(), None, []))
    mine = [r for r in results if r.drug == drug]
    gd = [r for r in mine if r.category == "gene-drug"]
    if genes or gd:
        gname = ", ".join(sorted(genes)) or ", ".join(sorted({r.rule_id for r in gd}))
        ok = [r for r in gd if r.status in ("fired", "not_fired")]
        if ok:
            checked.append(f"CPIC ({gname})")
        for r in gd:
            if r.status == "not_evaluated":
                missing.append(f"CPIC ({gname}): {r.reason}")
        if not gd:
            missing.append(f"CPIC ({gname}): not evaluated")
    else:
        checked.append("CPIC (no bundled CPIC guideline names this drug)")
    sets = rule_sets(drug)
    if len({v for v in sets.values()}) == 1 and next(iter(sets.values()))[0] == "not_curated":
        missing.append("label rules (drug-drug, organ function, lifestyle): not curated ("
                       + next(iter(sets.values()))[1] + ")")
        missing += [f"{CATEGORY_NAME[c]}: not evaluated automatically, check by hand (label: {t})"
                    for c, t in manual_checks(drug)]
        return checked, missing
    for cat, (state, detail) in sets.items():
        name = CATEGORY_NAME[cat]
        if state == "rules":
            rs = [r for r in mine if r.category == cat]
            if any(r.status in ("fired", "not_fired") for r in rs):
                checked.append(f"{name} ({detail})")
            for r in rs:
                if r.status == "not_evaluated":
                    missing.append(f"{name} {r.rule_id}: {_strip_role(r.reason)}")
            if not rs:
                missing.append(f"{name} ({detail}): rules not evaluated")
            if cat == "organ-function" and not any("hepatic" in (r.reason or "").lower() for r in rs) \
                    and not any(c == cat and "hepatic" in t.lower() for c, t in manual_checks(drug)):
                missing.append("organ function (hepatic): not evaluated: no Child-Pugh class or laboratory ULN in "
                               "the context, and no hepatic dosing rule curated")
        elif state == "no_rule":
            checked.append(f"{name} ({detail})")
        else:
            missing.append(f"{name}: not curated ({detail})")
    for cat, text in manual_checks(drug):
        missing.append(f"{CATEGORY_NAME[cat]}: not evaluated automatically, check by hand (label: {text})")
    return checked, missing


def prescribing_view(context: PatientContext, therapies: list[str], diplotypes: list[Diplotype],
                     recommendations: list[Recommendation], rules: list[RuleResult]) -> list[DrugView]:
    """One :class:`DrugView` per drug in play (current medications + recommended therapies, combinations split
    into drugs), sorted by urgency (alert, caution, info, none), then recommended before current, then name.

    ``diplotypes`` is accepted for the record (the CPIC recommendations already carry the phenotype); a gene
    the guideline needs but that was not called shows up through the gene-drug rule result in
    ``not_available``.
    """
    del diplotypes  # phenotypes come through recommendations / rule results
    vocab = load_vocabulary()
    index = _rule_index()
    roles = _drugs_in_play(context, therapies)
    in_play = {d for d in roles if d in vocab.drugs}
    fired = [r for r in rules if r.status == "fired" and r.category != "gene-drug"]
    views: list[DrugView] = []
    for drug, drug_roles in roles.items():
        mods: list[DrugModifier] = _pgx_modifiers(drug, recommendations)
        for r in fired:
            rule = index.get(r.rule_id)
            strength = ("FDA label, boxed warning" if rule and rule.get("boxed") else
                        "FDA label, contraindication" if rule and rule.get("contraindicated") else "FDA label")
            if r.drug == drug:
                mods.append(DrugModifier(category=r.category, rule_id=r.rule_id, action=r.action or "",
                                         effect=_effect_of(rule, r.action), strength=strength,
                                         reason=_strip_role(r.reason), citations=list(r.citations)))
            elif rule and r.category == "drug-drug" and drug in _partners(rule, r.drug, in_play):
                mods.append(DrugModifier(category=r.category, rule_id=r.rule_id, action=r.action or "",
                                         effect="monitor" if _effect_of(rule, r.action) != "info" else "info",
                                         strength=strength,
                                         reason=f"interaction stated on the {r.drug} label: "
                                                + _strip_role(r.reason),
                                         citations=list(r.citations)))
        order = {"gene-drug": 0, "drug-drug": 1, "organ-function": 2, "drug-lifestyle": 3}
        mods.sort(key=lambda m: (order.get(m.category, 9), m.rule_id))
        checked, missing = _checked(drug, rules, drug in vocab.drugs)
        views.append(DrugView(drug=drug, in_play=drug_roles, modifiers=mods, conflict=_conflict(mods),
                              urgency=_urgency(mods, index), checked=checked, not_available=missing))
    views.sort(key=lambda v: (URGENCY_ORDER[v.urgency],
                              0 if any(x.startswith("recommended") for x in v.in_play) else 1, v.drug))
    return views


def pgx_in_play(recommendations: list[Recommendation], views: list[DrugView]
                ) -> tuple[list[Recommendation], list[Recommendation]]:
    """(CPIC recommendations for drugs in play, the rest for an appendix)."""
    drugs = {v.drug for v in views}
    in_play, appendix = [], []
    for r in recommendations:
        names = {d.strip() for d in r.drug.split(",")}
        (in_play if names & drugs else appendix).append(r)
    return in_play, appendix
