"""Print the pinned build and test dependencies from pyproject.toml, one per line,
so that the Makefile installs exactly what pyproject declares."""

import tomllib
from pathlib import Path

pyproject = tomllib.loads((Path(__file__).resolve().parent.parent / "pyproject.toml").read_text())
for requirement in pyproject["build-system"]["requires"] + pyproject["project"]["optional-dependencies"]["test"]:
    print(f"'{requirement}'")
