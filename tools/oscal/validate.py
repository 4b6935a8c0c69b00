#!/usr/bin/env python3
"""Validate OSCAL JSON files the way compliance-trestle 5.2.0 does.

Usage: validate.py FILE...

For each FILE the model is chosen by its single top-level key (catalog,
profile, system-security-plan, component-definition), then:
  1. it is parsed with trestle's pydantic model (Model.oscal_read), and
  2. `trestle validate -f` (all of trestle's validators, the same code path
     as `trestle validate -a`) is run on a byte-for-byte copy placed in a
     throwaway workspace made by `trestle init`.
trestle resolves a relative import href against its *working directory*, not
against the importing file, so step 2 runs in the FILE's own directory: keep
catalog, profile and SSP side by side and use bare hrefs ("profile.json").
All files are first copied to <models>/<file stem>/<model>.json in the
workspace, so `trestle://profiles/<stem>/profile.json` hrefs resolve too.

Prints `ok <file> <model>` or `FAIL <file>: <reason>` per file; exits 0 only
if every file passes. Needs the venv from requirements.txt (Python 3.11).
"""
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from trestle.oscal.catalog import Catalog
from trestle.oscal.component import ComponentDefinition
from trestle.oscal.profile import Profile
from trestle.oscal.ssp import SystemSecurityPlan

# top-level key -> (pydantic class, trestle workspace folder)
MODELS = {
    'catalog': (Catalog, 'catalogs'),
    'profile': (Profile, 'profiles'),
    'system-security-plan': (SystemSecurityPlan, 'system-security-plans'),
    'component-definition': (ComponentDefinition, 'component-definitions'),
}
TRESTLE = str(Path(sys.executable).with_name('trestle'))


def trestle(args, cwd):
    """Run the trestle CLI of this interpreter's venv; return (rc, output)."""
    proc = subprocess.run([TRESTLE, *args], cwd=cwd, capture_output=True, text=True)
    return proc.returncode, (proc.stdout + proc.stderr).strip()


def load(path: Path) -> str:
    """Return the model key of a file that parses; raise ValueError(reason) otherwise."""
    try:
        raw = json.loads(path.read_text(encoding='utf-8'))
    except (OSError, ValueError) as e:
        raise ValueError(f'cannot read JSON: {e}')
    if not isinstance(raw, dict) or len(raw) != 1 or next(iter(raw)) not in MODELS:
        raise ValueError(f'top level must be exactly one of {sorted(MODELS)}')
    key = next(iter(raw))
    try:  # 1. trestle's pydantic model
        MODELS[key][0].oscal_read(path)
    except Exception as e:  # TrestleError carrying pydantic's details
        raise ValueError(f'{key} does not parse: {e}')
    return key


def place(path: Path, key: str, workspace: Path) -> Path:
    """Copy the file untouched to <folder>/<file stem>/<key>.json in the workspace.

    So `trestle://profiles/<stem>/profile.json` hrefs resolve as well.
    """
    folder, stem, n = MODELS[key][1], path.stem, 1
    while (workspace / folder / stem).exists():
        n += 1
        stem = f'{path.stem}-{n}'
    rel = Path(folder) / stem / f'{key}.json'
    (workspace / rel).parent.mkdir(parents=True)
    shutil.copyfile(path, workspace / rel)
    return rel


def trestle_validate(path: Path, rel: Path, workspace: Path) -> None:
    """2. Run trestle's own validators; raise ValueError(reason) on failure."""
    rc, out = trestle(['validate', '--trestle-root', str(workspace), '-f', str(rel)], cwd=path.parent)
    if rc != 0:
        lines = [ln for ln in out.splitlines() if not ln.startswith(('VALID:', 'Validating local file'))]
        raise ValueError(f'trestle validate exit {rc}: ' + ' | '.join(lines or [out]))


def main(files) -> int:
    if not files:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    failed = 0
    with tempfile.TemporaryDirectory(prefix='oscal-validate-') as tmp:
        workspace = Path(tmp)
        rc, out = trestle(['init'], cwd=workspace)
        if rc != 0:
            print(f'FAIL: trestle init: {out}')
            return 1
        # parse and copy every file first, so cross-file hrefs find each other
        results = {}
        for name in files:
            path = Path(name).resolve()
            try:
                key = load(path)
                results[name] = (path, key, place(path, key, workspace))
            except ValueError as e:
                results[name] = e
        for name in files:
            result = results[name]
            try:
                if isinstance(result, ValueError):
                    raise result
                path, key, rel = result
                trestle_validate(path, rel, workspace)
                print(f'ok {name} {key}')
            except ValueError as e:
                failed += 1
                reason = ' | '.join(ln.strip() for ln in str(e).splitlines() if ln.strip())
                print(f'FAIL {name}: {reason}')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
