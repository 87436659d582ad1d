"""Agreement of Bedside's named-allele matcher with PharmCAT's own named-allele tests.

    .venv/bin/python benchmarks/pgx_pharmcat_agreement.py [--cases tests/data/pgx/pharmcat/cases.json]
        [--definitions ../shared/data/pgx-pharmcat/alleles] [--verbose]
    .venv/bin/python benchmarks/pgx_pharmcat_agreement.py --extract <PharmCAT git dir or checkout>

Cases are PharmCAT's public ``NamedAlleleMatcher*Test.java`` assertions (PharmGKB/PharmCAT, MPL-2.0): the
sample genotypes (TestVcfBuilder calls, or the small test VCFs under
``src/test/resources/org/pharmgkb/pharmcat/haplotype/``) and the diplotype list PharmCAT must return, in
the mode the test runs (``topCandidateOnly`` true or false). ``--extract`` regenerates the case file and
copies the test VCFs it needs; tests that use research mode (combinations/partials), CYP2D6, test-only
definition files, or constructs the extractor does not understand are listed as excluded, never
guessed. The matcher runs on PharmCAT's published GRCh38 definitions (../shared/data/pgx-pharmcat) in the
same mode as the test (``indistinguishable=False``: PharmCAT's own output). Exact agreement = the same
diplotypes in the same order; agreement as sets is printed too.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CASES = ROOT / "tests/data/pgx/pharmcat/cases.json"
SHARED_DEFS = ROOT / "../shared/data/pgx-pharmcat/alleles"
TEST_DIR = "src/test/java/org/pharmgkb/pharmcat/haplotype"
RES_DIR = "src/test/resources/org/pharmgkb/pharmcat/haplotype"
EXCLUDED_GENES = {"CYP2D6", "RYR1", "CFTR"}  # CYP2D6: outside call; RYR1/CFTR: no bundled definitions


# ----------------------------------------------------------------------------------------------- extraction
def _git_reader(src: Path):
    """Read files from a checkout or a bare git directory (HEAD)."""
    if (src / TEST_DIR).is_dir():
        return lambda rel: (src / rel).read_text(), lambda rel: (src / rel).is_file(), None
    rev = subprocess.run(["git", "--git-dir", str(src), "rev-parse", "HEAD"], capture_output=True, text=True,
                         check=True).stdout.strip()

    def read(rel: str) -> str:
        return subprocess.run(["git", "--git-dir", str(src), "show", f"HEAD:{rel}"], capture_output=True,
                              text=True, check=True).stdout

    def exists(rel: str) -> bool:
        return subprocess.run(["git", "--git-dir", str(src), "cat-file", "-e", f"HEAD:{rel}"],
                              capture_output=True).returncode == 0
    return read, exists, rev


def _balanced(text: str, start: int) -> tuple[str, int]:
    """Text inside the parenthesis opening at ``start`` and the index after its close."""
    depth, i, in_str = 0, start, False
    while i < len(text):
        ch = text[i]
        if in_str:
            if ch == "\\":
                i += 1
            elif ch == '"':
                in_str = False
        elif ch == '"':
            in_str = True
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return text[start + 1:i], i + 1
        i += 1
    raise ValueError("unbalanced parentheses")


def _split_args(s: str) -> list[str]:
    out, depth, cur, in_str, i = [], 0, "", False, 0
    while i < len(s):
        ch = s[i]
        if in_str:
            cur += ch
            if ch == "\\":
                cur += s[i + 1]
                i += 1
            elif ch == '"':
                in_str = False
        elif ch == '"':
            in_str, cur = True, cur + ch
        elif ch in "([{":
            depth, cur = depth + 1, cur + ch
        elif ch in ")]}":
            depth, cur = depth - 1, cur + ch
        elif ch == "," and depth == 0:
            out.append(cur.strip())
            cur = ""
        else:
            cur += ch
        i += 1
    if cur.strip():
        out.append(cur.strip())
    return out


def _strings(expr: str) -> list[str] | None:
    expr = expr.strip()
    if re.fullmatch(r"new ArrayList<\w*>\(\)|Collections\.emptyList\(\)|List\.of\(\)", expr):
        return []
    if re.fullmatch(r'"(?:[^"\\]|\\.)*"', expr):
        return [json.loads(expr)]
    m = re.fullmatch(r"(?:Lists\.newArrayList|List\.of)\((.*)\)", expr, re.S)
    if m:
        items = _split_args(m.group(1))
        if all(re.fullmatch(r'"(?:[^"\\]|\\.)*"', x) for x in items):
            return [json.loads(x) for x in items]
    return None


def _builder_ops(text: str) -> dict | None:
    """Parse a TestVcfBuilder chain; None if it uses something not understood."""
    ops: dict = {"variations": [], "missing": [], "phased": False}
    if re.search(r"\.(withDefinition|variationAsIs|duplicatePosition\w*|extraPosition|missingExtraPosition|"
                 r"variationInPhaseSet|allowUnknownAllele|male|female|sexChromosomes)\(", text):
        return None
    if re.search(r'\.reference\("\w+",', text):  # reference(gene, rsids...) needs the definition at hand
        return None
    ops["phased"] = ".phased()" in text
    for m in re.finditer(r"\.(variation|missing)\(", text):
        args = [a.strip() for a in _split_args(_balanced(text, m.end() - 1)[0])]
        vals = [json.loads(a) if a.startswith('"') else a for a in args]
        if m.group(1) == "missing":
            if len(vals) == 3 and re.fullmatch(r"\d+L?", str(vals[2])):
                ops["missing"].append({"gene": vals[0], "chrom": vals[1], "pos": int(str(vals[2]).rstrip("L"))})
            else:
                ops["missing"] += [{"gene": vals[0], "rsid": r} for r in vals[1:]]
            continue
        edit: dict = {"gene": vals[0]}
        rest = vals[1:]
        if len(rest) >= 2 and re.fullmatch(r"\d+L?", str(rest[1])):
            edit["chrom"], edit["pos"] = rest[0], int(str(rest[1]).rstrip("L"))
            rest = rest[2:]
        else:
            edit["rsid"] = rest[0]
            rest = rest[1:]
        if rest and rest[0] in ("true", "false"):
            edit["phased"] = rest[0] == "true"
            rest = rest[1:]
        if not all(isinstance(x, str) and not x.isidentifier() or x in "ACGT" for x in rest) or not rest:
            return None
        edit["alleles"] = rest
        ops["variations"].append(edit)
    return ops


def extract(src: Path, out: Path = CASES) -> None:
    read, exists, rev = _git_reader(src)
    files = [f"{TEST_DIR}/{n}" for n in subprocess.run(
        ["git", "--git-dir", str(src), "ls-tree", "--name-only", f"HEAD:{TEST_DIR}/"], capture_output=True,
        text=True).stdout.split() if n.startswith("NamedAlleleMatcher") and n.endswith("Test.java")] \
        if rev else [str(p.relative_to(src)) for p in sorted((src / TEST_DIR).glob("NamedAlleleMatcher*Test.java"))]
    cases, excluded = [], []
    vcf_dir = out.parent / "vcf"
    if vcf_dir.exists():
        shutil.rmtree(vcf_dir)
    vcf_dir.mkdir(parents=True)
    for rel in sorted(files):
        text = read(rel)
        mdef = re.search(r'sf_definitionFile\s*=\s*DataManager\.DEFAULT_DEFINITION_DIR\.resolve\("(\w+)_translation'
                         r'\.json"\)', text)
        class_gene = mdef.group(1) if mdef else None
        methods = re.split(r"\n  @Test\b", text)[1:]
        for body in methods:
            name = re.search(r"void (\w+)\(", body).group(1)
            cid = f"{Path(rel).stem}.{name}"
            for k, m in enumerate(re.finditer(r"testMatchNamedAlleles\(", body)):
                case_id = cid if k == 0 else f"{cid}#{k + 1}"
                try:
                    inner, end = _balanced(body, m.end() - 1)
                    args = _split_args(inner)
                    res = _case(body, m.start(), end, args, class_gene, read, exists, vcf_dir, case_id)
                except (ValueError, KeyError, AttributeError, StopIteration) as exc:
                    res = f"not parsed ({exc})"
                if isinstance(res, str):
                    excluded.append({"id": case_id, "why": res})
                else:
                    cases.append(res)
            if not re.search(r"testMatchNamedAlleles\(", body):
                excluded.append({"id": cid, "why": "not an assertDiplotypePairs/testMatchNamedAlleles test "
                                                    "(research mode, warnings or custom matcher)"})
    nat2 = f"{RES_DIR}/NAT2/tests.tsv"
    if exists(nat2):
        excluded = [e for e in excluded if not e["id"].startswith("NamedAlleleMatcherNat2Test.nat2Sheet")]
        cases += _nat2_sheet(read(nat2))
    doc = {"source": "PharmGKB/PharmCAT (MPL-2.0), NamedAlleleMatcher*Test.java, NAT2/tests.tsv and test VCFs",
           "pharmcat_commit": rev, "pharmcat_version": _version(read),
           "note": "genotypes and expected diplotypes transcribed from PharmCAT's public tests by "
                   "benchmarks/pgx_pharmcat_agreement.py --extract; test VCFs copied unchanged into vcf/",
           "cases": cases, "excluded": excluded}
    out.write_text(json.dumps(doc, indent=1) + "\n")
    print(f"{len(cases)} cases, {len(excluded)} excluded -> {out}")


def _nat2_sheet(text: str) -> list[dict]:
    """NamedAlleleMatcherNat2Test.nat2Sheet: one row per case (five NAT2 positions, missing positions,
    expected output 'A or B' / 'not called', optional unphased-priority pick); run with topCandidateOnly."""
    out = []
    cols = ["rs1801279", "rs1801280", "rs1799930", "rs1208", "rs1799931"]
    for row, line in enumerate(text.splitlines()[1:], start=2):
        data = line.split("\t")
        if len(data) < 8:
            continue
        missing = []
        if data[0].strip() and data[0].strip() != "none":
            missing = [x[:x.index("(")].strip() for x in data[0].split("),") if "(" in x]
        ops = {"variations": [{"gene": "NAT2", "rsid": rs, "alleles": data[2 + k].split("/")}
                              for k, rs in enumerate(cols) if rs not in missing],
               "missing": [{"gene": "NAT2", "rsid": rs} for rs in missing], "phased": False}
        if data[7] == "not called":
            exp = []
        elif len(data) > 8 and data[8].strip():
            exp = [data[8].strip()]
        else:
            exp = [x.strip() for x in data[7].split("or") if x.strip()]
        out.append({"id": f"NamedAlleleMatcherNat2Test.nat2Sheet.row_{row:03d}", "gene": "NAT2",
                    "top_candidate_only": True, "builder": ops, "expected": exp})
    return out


def _version(read) -> str | None:
    try:
        return json.loads(read("package.json")).get("version")
    except (subprocess.CalledProcessError, json.JSONDecodeError, OSError):
        return None


def _case(body, start, end, args, class_gene, read, exists, vcf_dir, case_id):
    if len(args) < 3 or args[0] != "s_env":
        return "custom env/definition reader"
    if args[1] != "sf_definitionFile":
        mm = re.search(rf"{re.escape(args[1])}\s*=\s*DataManager\.getDefinitionFilePath\(\"(\w+)\"\)", body) or \
            re.search(rf"{re.escape(args[1])}\s*=\s*DataManager\.DEFAULT_DEFINITION_DIR\.resolve\(\"(\w+)_translation",
                      body)
        if not mm:
            return "test-only definition file"
        gene = mm.group(1)
    else:
        gene = class_gene
    if gene is None or gene in EXCLUDED_GENES:
        return f"gene {gene} not supported (outside call / no bundled definitions)"
    flags = [a for a in args[3:]]
    if not all(f in ("true", "false") for f in flags):
        return "non-literal flags"
    fl = [f == "true" for f in flags]
    if len(fl) == 0:
        top, combos = False, False
    elif len(fl) == 1:
        top, combos = fl[0], False
    elif len(fl) == 2:
        combos, top = fl
    elif len(fl) == 3:
        top, combos = fl[0], False
    else:
        combos, top = fl[0], fl[1]
    if combos:
        return "research mode (combinations/partials)"
    vcf_expr = args[2]
    case = {"id": case_id, "gene": gene, "top_candidate_only": top}
    if "new TestVcfBuilder" in vcf_expr:
        ops = _builder_ops(vcf_expr)
    elif re.fullmatch(r"\w+", vcf_expr) or re.fullmatch(r"\w+\.generate\(\)", vcf_expr):
        var = vcf_expr.split(".")[0]
        before = body[:start]
        decl = [mm for mm in re.finditer(rf"\b{var}\s*=\s*", before)]
        if not decl:
            return "VCF variable not found"
        stmt_start = decl[-1].end()
        stmt = before[stmt_start:before.index(";", stmt_start)]
        res = re.search(r'getPathToResource\("([^"]+)"\)', stmt)
        if res:
            path = res.group(1)
            rel = "src/test/resources/" + path
            if not exists(rel):
                return f"resource {path} absent"
            dest = vcf_dir / gene / Path(path).name
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_text(read(rel))
            case["vcf"] = str(dest.relative_to(vcf_dir.parent))
            ops = {}
        elif "new TestVcfBuilder" in stmt:
            chain = before[stmt_start:]
            ops = _builder_ops(chain)
        else:
            return "VCF expression not understood"
    else:
        return "VCF expression not understood"
    if ops is None:
        return "TestVcfBuilder features not supported by the extractor"
    if ops:
        case["builder"] = ops
    # expected: enclosing assertDiplotypePairs(EXP, testMatch...) or assertDiplotypePairs(EXP, resultVar)
    head = body[:start]
    enc = head.rfind("assertDiplotypePairs(")
    if enc >= 0 and ";" not in head[enc:]:
        exp_expr = _split_args(_balanced(body, enc + len("assertDiplotypePairs"))[0])[0]
    else:
        mres = re.search(r"(\w+)\s*=\s*$", head.rstrip())
        if not mres:
            mres = re.search(r"(\w+)\s*=\s*(?:NamedAlleleMatcherTest\.)?$", head)
        if not mres:
            return "result not asserted"
        var = mres.group(1)
        after = body[end:]
        ma = re.search(rf"assertDiplotypePairs\(([^;]*?),\s*{var}\s*\)", after)
        if not ma:
            return "result not checked with assertDiplotypePairs"
        exp_expr = ma.group(1).strip()
        if re.fullmatch(r"\w+", exp_expr):
            upto = body[:end + ma.start()]
            assigns = list(re.finditer(rf"\b{exp_expr}\s*=\s*([^;]+);", upto))
            if not assigns:
                return "expected list not found"
            exp_expr = assigns[-1].group(1)
    exp = _strings(exp_expr)
    if exp is None:
        return f"expected value not literal ({exp_expr[:40]})"
    case["expected"] = exp
    return case


# ------------------------------------------------------------------------------------------------- running
def build_vcf(case: dict, defs_dir: Path, out: Path) -> Path:
    """The VCF PharmCAT's TestVcfBuilder writes: every defining position of the gene, reference unless
    edited, edited ones from CPIC alleles via the definition's cpicToVcfAlleleMap, missing ones left out."""
    ops = case["builder"]
    data = json.loads((defs_dir / f"{case['gene']}_translation.json").read_text())
    edits = {}
    for e in ops["variations"]:
        edits[e.get("rsid") or f"{e['chrom']}:{e['pos']}"] = e
    missing = {m.get("rsid") or f"{m['chrom']}:{m['pos']}" for m in ops["missing"]}
    sep = "|" if ops["phased"] else "/"
    lines = ["##fileformat=VCFv4.2", f"##contig=<ID={data['chromosome']}>",
             '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
             "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tSAMPLE"]
    used = set()
    for v in data["variants"]:
        keys = [k for k in (v.get("rsid"), f"{v['chromosome']}:{v['position']}") if k]
        if any(k in missing for k in keys):
            used.update(k for k in keys if k in missing)
            continue
        e = next((edits[k] for k in keys if k in edits), None)
        alts = list(v["alts"])
        if e is None:
            gt = "0" + sep + "0"
        else:
            used.update(k for k in keys if k in edits)
            idx = []
            for a in e["alleles"]:
                if a == ".":
                    idx.append(".")
                    continue
                vcf_a = v["cpicToVcfAlleleMap"].get(a, a)
                if vcf_a == v["ref"]:
                    idx.append("0")
                else:
                    if vcf_a not in alts:
                        alts.append(vcf_a)
                    idx.append(str(alts.index(vcf_a) + 1))
            s = ("|" if e.get("phased", ops["phased"]) else "/") if "phased" in e else sep
            gt = s.join(idx)
        lines.append("\t".join([data["chromosome"], str(v["position"]), v.get("rsid") or ".", v["ref"],
                                ",".join(alts) or ".", ".", "PASS", ".", "GT", gt]))
    unknown = (set(edits) | missing) - used
    if unknown:
        raise ValueError(f"{case['id']}: not defining positions of {case['gene']}: {sorted(unknown)}")
    out.write_text("\n".join(lines) + "\n")
    return out


def run_case(case: dict, defs_dir: Path, tmp: Path, cases_dir: Path) -> list[str]:
    from bedside.errors import InputError
    from bedside.pgx.definitions import load_definitions
    from bedside.pgx.genotypes import read_genotypes
    from bedside.pgx.matcher import match_gene

    defs = load_definitions(defs_dir, [case["gene"]])
    defn = defs[case["gene"]]
    vcf = build_vcf(case, defs_dir, tmp / "case.vcf") if "builder" in case else cases_dir / case["vcf"]
    try:
        sg = read_genotypes(vcf, defs)
    except InputError:
        return []
    s = next(iter(sg.values()))
    if s.mismatched.get(defn.gene):
        return []
    m = match_gene(defn, s.calls.get(defn.gene, {}), phased=s.phased.get(defn.gene, set()),
                   top_candidate_only=case["top_candidate_only"], indistinguishable=False,
                   priorities=defn.exemption.get("unphasedDiplotypePriorities"))
    return m.names() if m.called else []


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", type=Path, default=CASES)
    ap.add_argument("--definitions", type=Path, default=SHARED_DEFS)
    ap.add_argument("--extract", type=Path, help="PharmCAT checkout or bare git dir: (re)write the case file")
    ap.add_argument("--verbose", action="store_true")
    a = ap.parse_args(argv)
    sys.path.insert(0, str(ROOT / "src"))
    if a.extract:
        extract(a.extract, a.cases)
        return 0
    if not a.definitions.is_dir():
        print(f"PharmCAT definitions absent ({a.definitions}); nothing measured")
        return 0
    import pysam
    pysam.set_verbosity(0)  # PharmCAT's test VCFs lack some header lines; htslib warns about each
    doc = json.loads(a.cases.read_text())
    exact = as_set = 0
    bad = []
    with tempfile.TemporaryDirectory() as d:
        for case in doc["cases"]:
            got = run_case(case, a.definitions, Path(d), a.cases.parent)
            if got == case["expected"]:
                exact += 1
            else:
                bad.append((case, got))
            if sorted(got) == sorted(case["expected"]):
                as_set += 1
            if a.verbose:
                print(f"{'OK ' if got == case['expected'] else 'DIFF'} {case['id']}: {got}")
    n = len(doc["cases"])
    genes = sorted({c["gene"] for c in doc["cases"]})
    print(f"PharmCAT {doc.get('pharmcat_version')} (commit {str(doc.get('pharmcat_commit'))[:10]}) named-allele "
          f"tests, genes {', '.join(genes)}; definitions {a.definitions}")
    print(f"exact agreement (same diplotypes, same order): {exact}/{n} = {100 * exact / max(n, 1):.1f} %")
    print(f"agreement as sets: {as_set}/{n} = {100 * as_set / max(n, 1):.1f} %")
    print(f"excluded from the comparison: {len(doc.get('excluded', []))} test(s) (see the case file)")
    for case, got in bad:
        print(f"  DISAGREE {case['id']} [{case['gene']}, top={case['top_candidate_only']}]: "
              f"PharmCAT {case['expected']} vs Bedside {got}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
