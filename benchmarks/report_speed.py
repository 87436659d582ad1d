"""Speed of `bedside report` (HTML + schema-checked report.json with inline SVG plots; PDF excluded).

Writes N synthetic case records (seeded; 5-60 somatic variants each, therapy options, biomarkers, a
prescribing view, per-gene coverage) and times one real `bedside report ... --out-dir --jobs J` run over
all of them, plus the per-report cost in one process. Target (issue 9): 1,000 cases in <= 120 s on 2 cores.

    .venv/bin/python benchmarks/report_speed.py [--cases 1000] [--jobs 2] [--work DIR]
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bedside.model import Consequence, Finding, Origin, Tier, Variant, to_dict
from tests.report_cases import capecitabine_case, melanoma_case

AMINO = ["Ala", "Arg", "Asn", "Asp", "Cys", "Gln", "Glu", "Gly", "His", "Ile", "Leu", "Lys", "Met", "Phe"]


def synthetic_cases(n: int, seed: int = 9):
    rng = random.Random(seed)
    templates = [melanoma_case(), capecitabine_case()]
    for i in range(n):
        case = copy.deepcopy(templates[i % 2])
        pid = f"SYN{i:05d}"
        case.patient_id = case.context.patient_id = pid
        case.tumor_sample, case.normal_sample = f"{pid}-T", f"{pid}-N"
        for _ in range(rng.randint(5, 60)):
            pos = rng.randint(1, 5_000_000)
            case.somatic.append(Finding(
                Variant(f"chr{rng.randint(1, 22)}", pos, "C", rng.choice("AGT")), Origin.SOMATIC,
                Consequence(f"G{rng.randint(1, 400)}", None, "missense_variant", f"c.{pos % 3000}C>T",
                            f"p.{rng.choice(AMINO)}{pos % 1000}{rng.choice(AMINO)}"),
                tier=rng.choice([Tier.III, Tier.III, Tier.IV]), vaf=round(rng.uniform(0.03, 0.6), 3),
                depth=rng.randint(30, 200)))
        yield case


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=1000)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--work", type=Path, help="keep inputs/outputs here (default: a temporary folder)")
    args = ap.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="bedside-report-bench-"))
    cases_dir, out = work / "cases", work / "out"
    shutil.rmtree(out, ignore_errors=True)
    cases_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for case in synthetic_cases(args.cases):
        p = cases_dir / f"{case.patient_id}.case.json"
        p.write_text(json.dumps(to_dict(case)))
        paths.append(str(p))
    bedside = shutil.which("bedside", path=str(Path(sys.executable).parent)) or "bedside"
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    load = os.getloadavg()[0]
    t0 = time.perf_counter()
    subprocess.run([bedside, "report", *paths, "--out-dir", str(out), "--jobs", str(args.jobs)], check=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    written = sum(1 for _ in out.glob("*/report.html"))
    assert written == args.cases, f"{written} reports written of {args.cases}"
    sizes = [p.stat().st_size for p in out.glob("*/report.html")]
    # one process, one report at a time (after warm-up): the cost of a report itself
    from bedside.report import render

    warm = render.load_case(paths[0])
    render.build(warm)
    t1 = time.perf_counter()
    k = min(50, len(paths))
    for p in paths[:k]:
        render.build(render.load_case(p))
    per = (time.perf_counter() - t1) / k
    print(f"bedside report: {args.cases} cases, --jobs {args.jobs}, {os.cpu_count()} CPUs: {wall:.1f} s wall "
          f"({1000 * wall / args.cases:.0f} ms per case); target <= 120 s for 1,000 on 2 cores")
    print(f"CPU time {cpu:.1f} s ({1000 * cpu / args.cases:.0f} ms per case; on {args.jobs} idle cores about "
          f"{cpu / max(1, args.jobs):.0f} s wall); load average before the run {load:.1f}")
    print(f"per report in one process (load + content + schema check + 2-3 SVG plots + HTML): "
          f"{1000 * per:.0f} ms; HTML size median {sorted(sizes)[len(sizes) // 2] / 1024:.0f} KiB")
    if not args.work:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
