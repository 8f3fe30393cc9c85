"""pytestd's import scanner reads what Python's own `ast` reads: every `.py` file of the three test
interpreters' installations (standard library and site-packages) and of the test venvs, scanned by
`pytestd imports` and by the `ast` reference in `import_reference.py`, with zero differences.

A difference means the manager would plan a reload from imports that are not in the file (slower)
or miss ones that are (stale code): fix the scanner with a unit test, or the reference."""
import difflib
import hashlib
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import harness as H

REFERENCE = Path(__file__).with_name("import_reference.py")
# The newest interpreter parses every older version's files and gives every alias its line.
REFERENCE_PYTHON = H.PYENV_VERSIONS / H.PYTHON_VERSIONS["3.13"] / "bin" / "python"


def library_roots():
    """Directories module names start from: each lib/pythonX.Y and each site-packages in it."""
    roots = []
    for version in H.PYTHON_VERSIONS.values():
        lib = next((H.PYENV_VERSIONS / version / "lib").glob("python3.*"))
        roots += [lib, lib / "site-packages"]
    roots += sorted(H.VENV_ROOT.glob("*/lib/python3.*/site-packages"))
    return roots


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts) or "__init__"


def scanned_files():
    """`(module, path)` for every `.py` file, each (name, content) once: the venvs share packages."""
    roots = library_roots()
    seen, files = set(), []
    for root in roots:
        nested = [r for r in roots if r != root and root in r.parents]
        for path in sorted(root.rglob("*.py")):
            if any(n in path.parents for n in nested) or not path.is_file():
                continue
            module = module_name(path, root)
            key = (module, path.name, hashlib.blake2b(path.read_bytes(), digest_size=16).digest())
            if key not in seen:
                seen.add(key)
                files.append((module, str(path)))
    return files


def by_file(output: str) -> dict:
    """`file PATH` blocks → their sorted fact lines; `skipped REASON PATH` → the reason."""
    facts, path = {}, None
    for line in output.splitlines():
        if line.startswith("file "):
            path = line[len("file "):]
            facts[path] = []
        elif line.startswith("skipped "):
            _, reason, skipped = line.split(" ", 2)
            facts[skipped] = reason
        else:
            facts[path].append(line)
    return {p: sorted(v) if isinstance(v, list) else v for p, v in facts.items()}


def run(command, files):
    stdin = "".join(f"{module}\t{path}\n" for module, path in files)
    r = subprocess.run(command, input=stdin, capture_output=True, text=True, errors="surrogateescape",
                       timeout=600)
    assert r.returncode == 0, f"{command} failed ({r.returncode}):\n{r.stderr[-4000:]}"
    return r.stdout


# ~90 s of CPU in all (17,000 distinct files, `ast` dominating): ~50 s on two idle cores.
@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_the_scanner_reports_what_ast_reads_in_every_installed_file(bins):
    if bins.fake:
        pytest.skip("needs the real pytestd (PYTESTD_IT_FAKE=1)")
    files = scanned_files()
    assert len(files) > 6500, f"only {len(files)} files found under {library_roots()}"
    workers = max(2, os.cpu_count() or 2)
    chunks = [files[i::workers] for i in range(workers)]
    with ThreadPoolExecutor(max_workers=workers + 1) as pool:
        scanner = pool.submit(run, [str(bins.cli), "imports"], files)
        references = [pool.submit(run, [str(REFERENCE_PYTHON), str(REFERENCE)], chunk) for chunk in chunks]
        ours = by_file(scanner.result())
        theirs = {}
        for reference in references:
            theirs.update(by_file(reference.result()))
    skipped = {p: why for p, why in theirs.items() if isinstance(why, str)}
    # Files the reference cannot read: Python 2 fixtures, deliberate syntax errors, `\r` line ends.
    assert len(skipped) < len(files) // 100, f"{len(skipped)} files skipped: {list(skipped.items())[:20]}"
    differences = []
    for module, path in files:
        if path in skipped:
            continue
        expected, actual = theirs.get(path), ours.get(path)
        if expected != actual:
            diff = "\n".join(difflib.unified_diff(expected or [], actual or [], "ast", "scanner", lineterm="", n=0))
            differences.append(f"{path} (as {module}):\n{diff}")
    assert not differences, f"{len(differences)} of {len(files)} files differ:\n\n" + "\n\n".join(differences[:30])
    print(f"{len(files)} files compared, {len(skipped)} skipped by the reference", file=sys.stderr)
