"""Runs Helm's own linter (Helm's Go library, through the helm-sdkpy bindings) on charts/kefu:
once with the default values and once with every optional part switched on (all six services,
the PodDisruptionBudgets, the chart-created Secret), so opt-in templates are linted too.
Exits non-zero on any lint error."""

import asyncio
import json
import pathlib
import shutil
import sys
import tempfile

from helm_sdkpy import Configuration, Lint

CHART = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).resolve().parent.parent / "charts" / "kefu")


def all_enabled(values: str) -> str:
    return values.replace("enabled: false", "enabled: true").replace("create: false", "create: true")


def messages(result):
    """The linter's messages, whatever shape the bindings return them in."""
    found = []

    def walk(node):
        if isinstance(node, dict):
            if "severity" in node or "Severity" in node:
                found.append(node)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(result)
    return found


# Helm's support.Severity: 0 unknown, 1 info, 2 warning, 3 error.
SEVERITY = {0: "UNKNOWN", 1: "INFO", 2: "WARNING", 3: "ERROR"}


def severity(m) -> int:
    return int(m.get("Severity", m.get("severity", 0)) or 0)


async def lint(path: pathlib.Path, label: str) -> int:
    result = await Lint(Configuration()).run(str(path))
    msgs = messages(result)
    errors = [m for m in msgs if severity(m) >= 3]
    failed = bool(errors) or bool(isinstance(result, dict) and result.get("Errors"))
    for m in msgs:
        print(f"  [{label}] {SEVERITY.get(severity(m), severity(m))} {m.get('Path', '')}")
    print(f"chart-lint {label}: {'FAILED' if failed else 'ok'} ({len(msgs)} message(s))")
    if failed:
        print(json.dumps(result, indent=2, ensure_ascii=False))
    return 1 if failed else 0


async def main() -> int:
    status = await lint(CHART, "default values")
    with tempfile.TemporaryDirectory() as tmp:
        copy = pathlib.Path(tmp) / "kefu"
        shutil.copytree(CHART, copy)
        values = copy / "values.yaml"
        values.write_text(all_enabled(values.read_text()))
        status |= await lint(copy, "everything enabled")
    return status


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
