"""``python -m bedside.hpc``: preflight a Slurm partition, regenerate the profile's per-attempt resources,
print the per-rule resource table of docs/hpc.md.

  python -m bedside.hpc preflight --partition P [--account A] [--write-profile DIR]
  python -m bedside.hpc growth [--write]        # set-resources of profiles/slurm from workflow/rules
  python -m bedside.hpc table                   # the docs/hpc.md table
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

from bedside.errors import BedsideError
from bedside.hpc import preflight as pf
from bedside.hpc.rules import growth_block, markdown_table, read_profile, read_rules

REPO = Path(__file__).resolve().parents[3]
MARKER = "set-resources:\n"


def _paths(args) -> tuple[Path, Path]:
    return Path(args.workflow), Path(args.profile)


def cmd_preflight(args) -> int:
    workflow, profile = _paths(args)
    site = pf.load_site(args.site_profile)
    partition, config = pf.query(args.partition)
    report = pf.check(partition, config, workflow, read_profile(profile),
                      {**site, **pf.site_profile(partition)} if args.write_profile else site)
    print(report.text())
    if args.write_profile:
        out = pf.write_site_profile(args.write_profile, partition, args.account)
        print(f"wrote {out}: use --profile {Path(args.write_profile).resolve()}")
    return 0 if report.ok else 2


def growth_text(workflow: Path, existing: dict | None = None) -> str:
    """The ``set-resources:`` block: each rule's mem_mb/runtime times the attempt; any other key already
    set for a rule (a site's gres, a partition) and entries of rules without literal numbers are kept."""
    block = {k: dict(v) for k, v in (existing or {}).items()}
    for rule, entry in growth_block(read_rules(workflow)).items():
        block.setdefault(rule, {}).update(entry)
    body = yaml.safe_dump(block, sort_keys=True, default_flow_style=False, width=110)
    return MARKER + "".join("  " + line + "\n" for line in body.splitlines())


def profile_with_growth(profile_yaml: str, workflow: Path) -> str:
    """The profile text with its trailing ``set-resources:`` block regenerated from the rules."""
    head = profile_yaml.split(MARKER, 1)[0]
    existing = (yaml.safe_load(profile_yaml) or {}).get("set-resources")
    return head + growth_text(workflow, existing).rstrip() + "\n"


def cmd_growth(args) -> int:
    workflow, profile = _paths(args)
    conf = profile / "config.yaml" if profile.is_dir() else profile
    text = profile_with_growth(conf.read_text(), workflow)
    if args.write:
        conf.write_text(text)
        print(f"updated {conf}")
    else:
        print(growth_text(workflow).rstrip())
    return 0


def cmd_table(args) -> int:
    workflow, profile = _paths(args)
    print(markdown_table(read_rules(workflow), read_profile(profile)))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bedside.hpc", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workflow", default=str(REPO / "workflow"), help="the workflow directory")
    parser.add_argument("--profile", default=str(REPO / "profiles/slurm"), help="the workflow profile")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("preflight", help="check every rule against the partition's largest node")
    p.add_argument("--partition", required=True)
    p.add_argument("--account", help="slurm_account for the site profile")
    p.add_argument("--site-profile", help="an existing site profile to check (its cores/resources caps)")
    p.add_argument("--write-profile", metavar="DIR", help="write a site profile (partition, caps) to DIR")
    p.set_defaults(func=cmd_preflight)
    g = sub.add_parser("growth", help="per-attempt set-resources generated from the rules")
    g.add_argument("--write", action="store_true", help="rewrite the profile's set-resources block")
    g.set_defaults(func=cmd_growth)
    t = sub.add_parser("table", help="per-rule threads/mem_mb/runtime table (markdown)")
    t.set_defaults(func=cmd_table)
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except BedsideError as exc:
        print(f"bedside.hpc {args.command}: error: {exc}", file=sys.stderr)
        return exc.exit_code


if __name__ == "__main__":
    sys.exit(main())
