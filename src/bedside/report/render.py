"""Render a Case as HTML (self-contained, offline), typed JSON and PDF (cohort summary: report.cohort).

- :func:`load_case` reads case.json and checks it against the model's types, naming the field at fault.
- :func:`build` returns the report's typed content (checked against ``schema/report.schema.json``) and
  its HTML; the fixed text comes from the message catalogue of the chosen language (``i18n/*.json``).
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import json
import math
import types
import typing
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from bedside.errors import InputError
from bedside.model import Case, from_dict
from bedside.report import plots
from bedside.report.prepare import prepare

LANGUAGES = ("en", "ko")
SECTIONS = ["summary", "therapy", "biomarkers", "copy_number", "fusions", "somatic", "germline", "prescribing", "pgx", "rules", "qc",
            "legend", "limitations", "methods", "appendix"]


# ------------------------------------------------------------------------------------ message catalogues

@functools.cache
def catalogue(language: str) -> dict[str, str]:
    """The report's fixed text in ``language`` (``en`` or ``ko``)."""
    if language not in LANGUAGES:
        raise InputError(f"unknown report language '{language}' (known: {', '.join(LANGUAGES)})")
    text = resources.files("bedside.report").joinpath("i18n", f"{language}.json").read_text("utf-8")
    return json.loads(text)


class Translator:
    def __init__(self, language: str):
        self.language = language
        self.messages = catalogue(language)

    def __call__(self, key: str, **params: Any) -> str:
        try:
            msg = self.messages[key]
        except KeyError:
            raise KeyError(f"message '{key}' missing from the '{self.language}' catalogue") from None
        return msg.format(**params) if params else msg

    def has(self, key: str) -> bool:
        return key in self.messages

    def value(self, prefix: str, value: Any) -> str:
        """A coded value in words (``category`` + ``gene-drug``); values from the source stay as given."""
        if value is None:
            return self.messages["not_recorded"]
        key = f"{prefix}_{value}".replace("-", "_").replace(" ", "_")
        return self.messages.get(key, str(value))


# ------------------------------------------------------------------------------------------- formatting

def _num(x: Any, digits: int = 1) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "—"
    return f"{x:,.{digits}f}"


def _af(x: float | None) -> str:
    if x is None:
        return "—"
    return f"{x:.3f}" if x >= 0.001 else f"{x:.1e}"


def _pct(x: float | None) -> str:
    if x is None:
        return "—"
    v = 100 * x
    return f"{v:.0f} %" if v >= 10 else f"{v:.1f} %"


def _qcnum(x: float | None) -> str:
    if x is None:
        return "—"
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:g}"


def _na(x: Any) -> str:
    return "—" if x is None else str(x)


def _css_string(s: str) -> Markup:
    """A CSS string literal, safe inside <style> (no quote, backslash or '<' survives unescaped)."""
    out = "".join(c if c.isalnum() or c in " .,:;-_/()·—" or ord(c) > 127 else f"\\{ord(c):x} " for c in s)
    return Markup(f'"{out}"')


def _cite_text(c: dict[str, Any]) -> str:
    return ", ".join(str(p) for p in (c.get("source"), c.get("version"), c.get("date")) if p)


def base_env() -> jinja2.Environment:
    """The one Jinja environment setup for every Bedside template (autoescaped, strict)."""
    return jinja2.Environment(
        loader=jinja2.PackageLoader("bedside.report", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


@functools.cache
def _env(language: str = "en") -> jinja2.Environment:
    env = base_env()
    tr = Translator(language)
    from bedside import RESEARCH_USE_NOTICE

    env.globals.update(t=tr, has=tr.has, tv=tr.value, RESEARCH_USE_NOTICE=RESEARCH_USE_NOTICE)
    env.filters.update(num=_num, af=_af, pct=_pct, qcnum=_qcnum, na=_na, css_string=_css_string,
                       cite_text=_cite_text, tvf=lambda v, prefix: tr.value(prefix, v))
    return env


# ------------------------------------------------------------------------------------- case.json input

@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _typename(tp: Any) -> str:
    return getattr(tp, "__name__", str(tp))


def check_record(tp: Any, data: Any, where: str) -> None:
    """Check JSON ``data`` against the model type ``tp``; raise ValueError naming the field."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if data is None and type(None) in args:
            return
        errors = []
        for a in args:
            if a is type(None):
                continue
            try:
                check_record(a, data, where)
                return
            except ValueError as exc:
                errors.append(str(exc))
        raise ValueError(errors[0] if errors else f"{where}: unexpected null")
    if tp is Any:
        return
    if origin is list:
        if not isinstance(data, list):
            raise ValueError(f"{where}: expected a list, got {type(data).__name__}")
        (item,) = typing.get_args(tp)
        for i, x in enumerate(data):
            check_record(item, x, f"{where}[{i}]")
        return
    if origin is dict or tp is dict:
        if not isinstance(data, dict):
            raise ValueError(f"{where}: expected an object, got {type(data).__name__}")
        args = typing.get_args(tp)
        if args:
            for k, v in data.items():
                check_record(args[1], v, f"{where}.{k}")
        return
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        if data not in {m.value for m in tp}:
            raise ValueError(f"{where}: {data!r} is not one of {', '.join(m.value for m in tp)}")
        return
    if dataclasses.is_dataclass(tp):
        if not isinstance(data, dict):
            raise ValueError(f"{where}: expected an object ({tp.__name__}), got {type(data).__name__}")
        hints = _hints(tp)
        fields = {f.name: f for f in dataclasses.fields(tp)}
        for key in data:
            if key not in fields:
                raise ValueError(f"{where}.{key}: unknown field of {tp.__name__}")
        for name, f in fields.items():
            if name not in data:
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                    raise ValueError(f"{where}.{name}: required field missing")
                continue
            check_record(hints[name], data[name], f"{where}.{name}" if where else name)
        return
    if tp is float:
        ok = isinstance(data, (int, float)) and not isinstance(data, bool)
        if ok and not math.isfinite(data):
            raise ValueError(f"{where}: {data!r} is not a finite number")
    elif tp is int:
        ok = isinstance(data, int) and not isinstance(data, bool)
    elif tp is bool:
        ok = isinstance(data, bool)
    elif tp is str:
        ok = isinstance(data, str)
    else:
        ok = True
    if not ok:
        raise ValueError(f"{where}: expected {_typename(tp)}, got {type(data).__name__} {data!r:.60}")


def load_case(path: str | Path) -> Case:
    """Read case.json; a record that does not fit the model stops with the file and the field named."""
    try:
        with open(path) as fh:
            data = json.load(fh)
    except FileNotFoundError as exc:
        raise InputError("case file not found", path=path) from exc
    except json.JSONDecodeError as exc:
        raise InputError(f"invalid JSON: {exc.msg}", path=path, line=exc.lineno) from exc
    try:
        check_record(Case, data, "")
    except ValueError as exc:
        raise InputError(f"not a valid Bedside case record: field {str(exc).lstrip('.')}", path=path) from exc
    try:
        return from_dict(Case, data)
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"not a Bedside case record: {exc}", path=path) from exc


def load_cohort_tmb(paths: list[str | Path]) -> list[dict[str, Any]]:
    """Each cohort case record's TMB verdict (patient, status, value), as recorded in its biomarkers."""
    out = []
    for p in paths:
        try:
            with open(p) as fh:
                data = json.load(fh)
        except (OSError, json.JSONDecodeError) as exc:
            raise InputError(f"cannot read cohort case record: {exc}", path=p) from exc
        if not isinstance(data, dict) or "patient_id" not in data:
            raise InputError("not a Bedside case record: field patient_id missing", path=p)
        for b in data.get("biomarkers") or []:
            if isinstance(b, dict) and str(b.get("name", "")).upper() == "TMB":
                value = b.get("value")
                out.append({"patient_id": str(data["patient_id"]), "status": b.get("status"),
                            "value": float(value) if isinstance(value, (int, float)) else None})
    return out


# ------------------------------------------------------------------------------------------ the report

@functools.cache
def _validator():
    import jsonschema

    schema = json.loads(resources.files("bedside.report").joinpath("schema", "report.schema.json")
                        .read_text("utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def report_schema() -> dict[str, Any]:
    return _validator().schema


def validate_report(content: dict[str, Any], path: str | Path | None = None) -> None:
    """Check the report's typed content against report.schema.json (InputError naming the field)."""
    err = next(iter(sorted(_validator().iter_errors(content), key=lambda e: list(e.absolute_path))), None)
    if err is not None:
        field = "/".join(str(p) for p in err.absolute_path) or "(top level)"
        raise InputError(f"report content fails report.schema.json at field {field}: {err.message}",
                         path=path)


def make_plots(content: dict[str, Any], language: str = "en") -> dict[str, str | None]:
    msgs = catalogue(language)
    assay = content["assay"]
    tmb = next((b for b in content["biomarkers"] if b["name"].upper() == "TMB"), {})
    return {
        "coverage": plots.coverage_svg(assay["coverage"], assay["min_depth"], msgs),
        "vaf": plots.vaf_svg(content["somatic"], assay["detection_limit_vaf"], msgs),
        "tmb": plots.tmb_svg(content["patient"]["id"], tmb, content["cohort_tmb"], msgs),
        "cnv": cnv_plot_img((content.get("copy_number") or {}).get("plot"), msgs),
    }


def cnv_plot_img(path: str | None, msgs: dict[str, str]) -> str | None:
    """The copy-number plot (PNG written by ``bedside cnv``) inline as a data: URI, so the HTML stays offline;
    None when there is none or it cannot be read (the section then says so)."""
    import base64
    import html as _html

    if not path:
        return None
    try:
        data = Path(path).read_bytes()
    except OSError:
        return None
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        return None
    alt = _html.escape(msgs.get("fig_cnv", "copy number"), quote=True)
    return f'<img class="cnv-plot" alt="{alt}" src="data:image/png;base64,{base64.b64encode(data).decode()}">'


def warm(language: str = "en") -> None:
    """Import and set up everything a report needs once (before forking workers, so they inherit it)."""
    plots._setup()
    _env(language).get_template("base.html.j2")
    _validator()


def build(case: Case, institution: str = "", language: str = "en",
          cohort_tmb: list[dict[str, Any]] | None = None,
          source: str | Path | None = None) -> tuple[dict[str, Any], str]:
    """The report's typed content (validated against its schema) and its HTML."""
    content = prepare(case, institution, language, cohort_tmb)
    validate_report(content, source)
    html = _env(language).get_template("base.html.j2").render(
        r=content, sections=SECTIONS, plots=make_plots(content, language))
    return content, html


def render_html(case: Case, institution: str = "", language: str = "en",
                cohort_tmb: list[dict[str, Any]] | None = None) -> str:
    return build(case, institution, language, cohort_tmb)[1]


def report_json(case: Case, institution: str = "", language: str = "en",
                cohort_tmb: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The report's typed content (what report.json holds)."""
    return build(case, institution, language, cohort_tmb)[0]


def html_to_pdf(html: str, out: str | Path, base_url: str | None = None) -> None:
    import logging

    # before the import: WeasyPrint parses its default style sheets (and logs progress) when imported
    for name in ("weasyprint", "weasyprint.progress", "fontTools"):
        logging.getLogger(name).setLevel(logging.ERROR)
    import weasyprint

    weasyprint.HTML(string=html, base_url=base_url).write_pdf(str(out))
