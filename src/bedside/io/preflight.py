"""Checks the workflow runs while Snakemake parses it, before any job starts.

Everything that can be checked without running a tool is checked here, and every problem is collected
so the user sees them all at once: the configuration (unknown keys refused, types and ranges), the
clinical table or OMOP extract, knowledge tables, the GFF3, transcript overrides, PGx definitions and
outside calls, and the contig names of reads, resource VCFs and targets against the reference.

Checks of large files are remembered per file (size and modification time) in
``.snakemake/bedside-preflight.json``, so a cluster job re-parsing the workflow does not repeat them.
"""

from __future__ import annotations

import difflib
import json
import os
import shlex
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from bedside import __version__
from bedside.errors import BedsideError

CACHE = Path(".snakemake/bedside-preflight.json")

# config keys that name an input file (or folder) the workflow reads
PATH_KEYS = [
    ("samples",), ("units",), ("clinical", "table"), ("clinical", "omop"),
    ("reference", "fasta"), ("reference", "gff3"), ("reference", "contig_map"),
    ("reference", "targets"), ("reference", "transcripts"), ("resources", "population"),
    ("resources", "clinvar"), ("resources", "pgx_definitions"), ("resources", "pgx_outside_calls"),
]


def _get(config: dict, *keys: str, default: Any = None) -> Any:
    node: Any = config
    for k in keys:
        if not isinstance(node, dict) or k not in node:
            return default
        node = node[k]
    return node


def load_schema(path: str | Path) -> dict:
    with open(path) as fh:
        return yaml.safe_load(fh)


# ------------------------------------------------------------------------------------ configuration

def _dotted(path: Iterable[Any]) -> str:
    return ".".join(str(p) for p in path)


def _subschema(schema: dict, path: Iterable[Any]) -> dict:
    node = schema
    for p in path:
        props = node.get("properties", {})
        if isinstance(p, str) and p in props:
            node = props[p]
        elif "items" in node:
            node = node["items"]
        else:
            return {}
    return node


def config_problems(config: dict, schema_path: str | Path, configfiles: Iterable[str | Path] = ()) -> list[str]:
    """Every problem of ``config`` against the JSON schema, one line each, naming the config file(s) and
    the key: unknown keys (with the closest known key), wrong types, values out of range. Also checks
    that the extra-argument strings (``params.*``) split into words like a shell would."""
    schema = load_schema(schema_path)
    files = [str(f) for f in configfiles] or ["the configuration"]
    where = " + ".join(files)
    problems: list[str] = []
    validator = jsonschema.Draft202012Validator(schema)
    for err in sorted(validator.iter_errors(config), key=lambda e: (list(map(str, e.path)), e.message)):
        if err.validator == "additionalProperties":
            allowed = sorted(_subschema(schema, err.path).get("properties", {}))
            extra = sorted(k for k in err.instance if k not in allowed)
            for key in extra:
                full = _dotted([*err.path, key])
                close = difflib.get_close_matches(key, allowed, n=1)
                hint = f"; did you mean '{_dotted([*err.path, close[0]])}'?" if close else ""
                problems.append(f"{where}: unknown key '{full}' (allowed"
                                f"{' under ' + _dotted(err.path) if list(err.path) else ''}: "
                                f"{', '.join(allowed)}){hint}")
        else:
            key = _dotted(err.path) or "(top level)"
            message = err.message
            if err.validator in ("oneOf", "anyOf") and err.context:
                # 'auto' or an integer >= 1000: say what is wrong with the alternative of the value's type
                wrong_kind = {e.schema_path[0] for e in err.context if e.validator in ("type", "enum")}
                same_type = [e for e in err.context if e.schema_path[0] not in wrong_kind]
                if same_type:
                    message = same_type[0].message
                else:
                    options = [c.get("enum", [c.get("type")]) for c in err.schema.get(err.validator, [])]
                    message = f"{err.instance!r} is not one of: " + ", ".join(
                        str(o) for opts in options for o in opts)
            problems.append(f"{where}: {key}: {message}")
    for tool in ("fastp", "bwa"):
        extra = _get(config, "params", tool)
        if isinstance(extra, str):
            try:
                shlex.split(extra)
            except ValueError as exc:
                problems.append(f"{where}: params.{tool}: cannot split {extra!r} into arguments ({exc})")
    return problems


def fill_defaults(config: dict, schema_path: str | Path) -> dict:
    """Fill in the schema's defaults for absent keys (nested sections created as needed), in place."""

    def fill(node: dict, schema: dict) -> None:
        for key, sub in (schema.get("properties") or {}).items():
            if key not in node:
                if "default" in sub:
                    node[key] = json.loads(json.dumps(sub["default"]))
                elif sub.get("type") == "object" and "properties" in sub:
                    node[key] = {}
            if isinstance(node.get(key), dict) and sub.get("type") == "object":
                fill(node[key], sub)

    fill(config, load_schema(schema_path))
    return config


# ----------------------------------------------------------------------------------- input files

def _fingerprint(paths: Iterable[str | Path]) -> list:
    out = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            for f in sorted(p.rglob("*")):
                if f.is_file():
                    st = f.stat()
                    out.append([str(f), st.st_size, st.st_mtime_ns])
        elif p.exists():
            st = p.stat()
            out.append([str(p), st.st_size, st.st_mtime_ns])
        else:
            out.append([str(p), None, None])
    return out


def _code_version() -> str:
    """bedside's version plus a digest of its installed files (sizes and mtimes): a changed validator or
    bundled table invalidates every remembered check."""
    import hashlib

    root = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for f in sorted(root.rglob("*")):
        if f.is_file() and "__pycache__" not in f.parts:
            st = f.stat()
            digest.update(f"{f.relative_to(root)}:{st.st_size}:{st.st_mtime_ns}\n".encode())
    return f"{__version__}+{digest.hexdigest()[:16]}"


class _Cache:
    """Remembers which checks passed for which file versions (size + mtime), per bedside code version."""

    def __init__(self, path: Path | None):
        self.path = path
        self.version = _code_version() if path is not None else __version__
        self.data: dict = {}
        if path is not None and path.exists():
            try:
                data = json.loads(path.read_text())
                if data.get("version") == self.version:
                    self.data = data.get("checks", {})
            except (OSError, ValueError):
                self.data = {}

    def passed(self, key: str, fp: list) -> bool:
        return self.data.get(key) == fp

    def remember(self, key: str, fp: list) -> None:
        self.data[key] = fp

    def save(self) -> None:
        if self.path is None:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
            tmp.write_text(json.dumps({"version": self.version, "checks": self.data}, indent=1))
            os.replace(tmp, self.path)
        except OSError:
            pass  # a cache that cannot be written only costs time


def _run(problems: list[str], cache: _Cache | None, key: str, paths: list, check: Callable[[], Any]) -> Any:
    """Run ``check``; a BedsideError (or an unreadable file) becomes one line in ``problems``. With a
    cache, a check that passed before on the same file versions is skipped."""
    fp = _fingerprint(paths) if cache is not None else []
    if cache is not None and cache.passed(key, fp):
        return None
    try:
        result = check()
    except BedsideError as exc:
        problems.append(str(exc))
        return None
    except (OSError, ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        problems.append(f"{paths[0] if paths else key}: cannot read: {exc}")
        return None
    if cache is not None:
        cache.remember(key, fp)
    return result


_CONTROL = {chr(c) for c in range(32)} | {"\x7f"}
# fastp 0.23.2 writes its command line into its JSON report without escaping: a '"' or '\\' in a FASTQ
# path or in params.fastp makes the report invalid JSON (MultiQC and the QC gates cannot read it)
_FASTP_UNSAFE = {'"', "\\"}


def path_problems(config: dict, sheet=None) -> list[str]:
    """Characters no tool can carry safely: control characters (tab, newline, ...) in any configured
    path (they would split SAM/VCF header lines), and '"' or '\\' where fastp would copy them into its
    JSON report unescaped. Quotes, spaces, '$', backticks and ';' are fine: every value reaches the
    tools as one quoted argument."""
    problems: list[str] = []
    values: list[tuple[str, str]] = [(".".join(k), _get(config, *k)) for k in PATH_KEYS]
    values += [(f"resources.knowledge[{i}]", v)
               for i, v in enumerate(_get(config, "resources", "knowledge", default=[]) or [])]
    for key, value in values:
        if isinstance(value, str) and _CONTROL & set(value):
            problems.append(f"config {key}: {value!r} holds a control character (tab, newline, ...)")
    if sheet is not None:
        for u in sheet.units:
            for col in ("fq1", "fq2", "bam"):
                value = getattr(u, col)
                if not value:
                    continue
                if _CONTROL & set(value):
                    problems.append(f"{sheet.units_path}, line {u.line}: {col} {value!r} holds a control "
                                    "character (tab, newline, ...)")
                elif col != "bam" and _FASTP_UNSAFE & set(value):
                    problems.append(f"{sheet.units_path}, line {u.line}: {col} {value!r} holds '\"' or "
                                    "'\\', which fastp 0.23.2 copies unescaped into its JSON report; rename "
                                    "the file or link it under another name")
    for tool in ("fastp", "bwa"):
        extra = _get(config, "params", tool)
        if isinstance(extra, str) and _CONTROL & set(extra.replace(" ", "")):
            problems.append(f"config params.{tool}: {extra!r} holds a control character (tab, newline, ...), "
                            f"which {tool} copies into its output headers; write a tab as \\t")
    extra = _get(config, "params", "fastp")
    try:
        words = shlex.split(extra) if isinstance(extra, str) else []
    except ValueError:
        words = []  # reported by config_problems
    if any(_FASTP_UNSAFE & set(w) for w in words):
        problems.append(f"config params.fastp: an argument of {extra!r} holds '\"' or '\\', which fastp "
                        "0.23.2 copies unescaped into its JSON report")
    return problems


def input_problems(config: dict, sheet=None, *, cache_path: Path | None = CACHE) -> list[str]:
    """Every problem found in the configured input files, each naming its file (and line or record).

    ``sheet`` is the loaded :class:`bedside.io.sheets.SampleSheet` (None when the sheets themselves
    failed: the other files are still checked)."""
    from bedside import contigs
    from bedside.io import sheets as bsheets

    problems: list[str] = path_problems(config, sheet)
    cache = _Cache(cache_path)

    missing = set()
    for keys in PATH_KEYS:
        value = _get(config, *keys)
        if value and not Path(value).exists():
            missing.add(keys)
            if keys not in (("samples",), ("units",)):  # the sheet loader names those
                problems.append(f"{value}: file not found (config {'.'.join(keys)})")
    for i, kb in enumerate(_get(config, "resources", "knowledge", default=[]) or []):
        if not Path(kb).exists():
            problems.append(f"{kb}: file not found (config resources.knowledge[{i}])")

    def ok(*keys: str) -> str | None:
        value = _get(config, *keys)
        return value if value and keys not in missing else None

    # clinical context: the same loaders the clinical_context jobs use
    table, omop = ok("clinical", "table"), ok("clinical", "omop")
    if table:
        from bedside.clinical import load_patients

        _run(problems, cache, f"clinical:{table}", [table], lambda: load_patients(table))
        if sheet is not None:
            _run(problems, None, "clinical ids", [table], lambda: bsheets.check_patients_in_clinical(
                sheet, bsheets.clinical_patient_ids(table), table))
    elif omop:
        from bedside.clinical import load_omop

        persons = _run(problems, None, f"omop:{omop}", [omop], lambda: load_omop(omop))
        if persons is not None and sheet is not None:
            _run(problems, None, "omop ids", [omop], lambda: bsheets.check_patients_in_clinical(
                sheet, dict.fromkeys(persons, 0), omop))

    # knowledge tables given in the config (the bundled ones are checked by the test suite)
    kbs = [k for k in (_get(config, "resources", "knowledge", default=[]) or []) if Path(k).exists()]
    if kbs:
        from bedside.knowledge.kb import load_knowledge

        for kb in kbs:
            _run(problems, cache, f"knowledge:{kb}", [kb], lambda kb=kb: load_knowledge([kb]))

    gff = ok("reference", "gff3")
    if gff:
        from bedside.io.gff3 import check_gff3

        _run(problems, cache, f"gff3:{gff}", [gff], lambda: check_gff3(gff))
    transcripts = ok("reference", "transcripts")
    if transcripts:
        from bedside.annotate.transcripts import load_overrides

        _run(problems, cache, f"transcripts:{transcripts}", [transcripts],
             lambda: load_overrides(transcripts))
    defs = ok("resources", "pgx_definitions")
    if defs:
        from bedside.pgx.definitions import load_definitions

        fasta = ok("reference", "fasta")

        def check_pgx() -> None:
            definitions = load_definitions(defs)
            if fasta:
                contigs_ = set(contigs.fasta_contigs(fasta))
                chroms = {p.chrom for d in definitions.values() for p in d.positions}
                if not any(c in contigs_ or contigs.toggle_chr(c) in contigs_ for c in chroms):
                    raise BedsideError(f"none of the definitions' chromosomes ({', '.join(sorted(chroms))}) "
                                       f"is a contig of the reference {fasta}: wrong build or naming?",
                                       path=defs)

        _run(problems, cache, f"pgx_definitions:{defs}", [defs, *([fasta] if fasta else [])], check_pgx)
    outside = ok("resources", "pgx_outside_calls")
    if outside:
        from bedside.pgx import read_outside_calls

        _run(problems, cache, f"pgx_outside_calls:{outside}", [outside],
             lambda: read_outside_calls(outside))

    # contig names (and lengths, i.e. the build) of reads, resources and targets against the reference
    fasta = ok("reference", "fasta")
    if fasta:
        bams = [u.bam for u in sheet.units if u.bam] if sheet is not None else []
        vcfs = [v for v in (ok("resources", "population"), ok("resources", "clinvar")) if v]
        beds = [b for b in (ok("reference", "targets"),) if b]
        cmap = ok("reference", "contig_map")
        files = [fasta, *bams, *vcfs, *beds, *([cmap] if cmap else [])]
        _run(problems, cache, "contigs:" + "|".join(map(str, files)), files,
             lambda: contigs.check_inputs(fasta, alignments=bams, vcfs=vcfs, beds=beds,
                                          contig_map=cmap))
    cache.save()
    return list(dict.fromkeys(problems))  # two checks of one file may find the same problem
