"""Write the README's Binder badge from the one place the repository path is set:
``[project.urls] Repository`` in ``pyproject.toml`` (``https://github.com/<owner>/<name>``).

Run ``make binder-link`` (or ``python binder/link.py``) after changing it; ``--check`` only
reports whether the README is up to date (``tests/test_packaging.py`` runs that check).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BRANCH = "main"
#: what the badge opens: JupyterLab on the quickstart
URLPATH = "lab/tree/notebooks/01-quickstart.ipynb"
BADGE = re.compile(r"\(https://mybinder\.org/v2/gh/[^)\s]*\)")


def repository() -> str:
    """``owner/name`` from pyproject's ``Repository`` URL."""
    text = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    found = re.search(
        r'^Repository\s*=\s*"https://github\.com/([^/"]+/[^/"]+?)(?:\.git)?/?"', text, re.M
    )
    if not found:
        raise SystemExit(
            'pyproject.toml needs [project.urls] Repository = "https://github.com/<owner>/<name>"'
        )
    return found.group(1)


def binder_url(repo: str | None = None) -> str:
    return f"https://mybinder.org/v2/gh/{repo or repository()}/{BRANCH}?urlpath={URLPATH}"


def main(argv: list[str]) -> int:
    readme = REPO / "README.md"
    text = readme.read_text(encoding="utf-8")
    if not BADGE.search(text):
        print("README.md has no Binder badge link", file=sys.stderr)
        return 1
    updated = BADGE.sub(f"({binder_url()})", text)
    if "--check" in argv:
        if updated != text:
            print("README.md's Binder link is stale: run make binder-link", file=sys.stderr)
            return 1
        return 0
    readme.write_text(updated, encoding="utf-8")
    print(binder_url())
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
