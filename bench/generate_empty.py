#!/usr/bin/env python3
"""Generate the "empty" project for the pytestd benchmark.

Usage:
    generate_empty.py OUTDIR

It holds only ``pyproject.toml`` (``[tool.pytest.ini_options]`` with
testpaths = tests) and ``tests/test_trivial.py`` with one trivial test, so a
run measures pure pytest (or pytestd) overhead.  A manifest ``empty.json``
marks the directory as generated (it is wiped and rewritten on the next run).
"""

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from generate_monolith import TEST_TRIVIAL, finish_output, pyproject, start_output, write  # noqa: E402

GENERATOR_VERSION = 1
MANIFEST = "empty.json"


def generate(outdir):
    final, staging = outdir, start_output(outdir, MANIFEST)
    write(os.path.join(staging, "pyproject.toml"), pyproject("empty", ["pytest"]))
    write(os.path.join(staging, "tests", "test_trivial.py"), TEST_TRIVIAL)
    manifest = {"generator_version": GENERATOR_VERSION, "tests": 1}
    with open(os.path.join(staging, MANIFEST), "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=2, sort_keys=True)
        f.write("\n")
    finish_output(staging, final)
    return manifest


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("outdir")
    args = p.parse_args(argv)
    generate(args.outdir)
    print("wrote %s" % args.outdir)


if __name__ == "__main__":
    main()
