"""The workflow imported by another workflow with Snakemake's `module` directive (issue 14), and the
bedside conda env pinning the package by version."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import yaml

from bedside import __version__

from .test_workflow import project  # noqa: F401  (the small two-patient project fixture)

REPO = Path(__file__).resolve().parents[1]


def test_imported_as_a_module_plans_every_stage(project: Path) -> None:  # noqa: F811
    (project / "Snakefile").write_text(
        'configfile: "config.yaml"\n\n\n'
        "module bedside:\n"
        f'    snakefile: "{REPO / "workflow/Snakefile"}"\n'
        "    config: config\n\n\n"
        "use rule * from bedside as bedside_*\n\n\n"
        "rule all:\n"
        "    default_target: True\n"
        "    input:\n"
        "        rules.bedside_all.input,\n")
    res = subprocess.run([sys.executable, "-m", "snakemake", "-s", str(project / "Snakefile"), "--directory",
                          str(project), "-n", "--quiet", "rules", "--cores", "2"],
                         capture_output=True, text=True, check=False)
    out = res.stdout + res.stderr
    assert res.returncode == 0, out[-3000:]
    for rule in ("bwa_mem", "germline_chunk", "somatic_chunk", "case", "report"):
        assert re.search(rf"^bedside_{rule}\s+\d+", out, re.MULTILINE), out
    # the importing workflow's bad configuration is refused the same way (the schema is found from the module)
    cfg = yaml.safe_load((project / "config.yaml").read_text())
    cfg["calling"]["somatic"]["min_vaff"] = 0.1
    (project / "config.yaml").write_text(yaml.safe_dump(cfg))
    res = subprocess.run([sys.executable, "-m", "snakemake", "-s", str(project / "Snakefile"), "--directory",
                          str(project), "-n", "--cores", "2"], capture_output=True, text=True, check=False)
    assert res.returncode == 2 and "unknown key 'calling.somatic.min_vaff'" in res.stderr, res.stderr[-2000:]


def test_bedside_env_pins_the_package_version() -> None:
    env = yaml.safe_load((REPO / "workflow/envs/bedside.yaml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    assert f"bedside=={__version__}" in pip
    assert not any(str(p).startswith("-e") for p in pip)  # no editable path into a checkout
