"""Every file the service reads at run time that is not Python ships in the built package.

The pages' templates and static files, the texts' wording and the PostgreSQL migrations are
package data: a file that pyproject.toml's `[tool.setuptools.package-data]` does not name works
in a checkout (an editable install reads the tree) and is missing from `pip install .` -- the
inbox answered 500 for every page there until its folders were named.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_data_file_of_a_package_is_named_in_package_data() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    packages = [pattern.rstrip("*") for pattern in config["packages"]["find"]["include"]]
    shipped: set[Path] = set()
    for package, patterns in config["package-data"].items():
        for pattern in patterns:  # setuptools' globs, relative to the package's folder
            shipped.update(path for path in (ROOT / package).glob(pattern) if path.is_file())
    data = {
        path
        for package in packages
        for path in (ROOT / package).rglob("*")
        if path.is_file() and path.suffix not in {".py", ".pyc"} and "__pycache__" not in path.parts
    }
    assert data, "no data files found: the test looks in the wrong place"
    assert sorted(str(p.relative_to(ROOT)) for p in data - shipped) == []
