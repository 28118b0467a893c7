"""``python -m stripe_django.codegen [--check]``: write (or check) the model modules."""

from __future__ import annotations

import sys
from pathlib import Path

from .render import render_all

MODELS_DIR = Path(__file__).resolve().parent.parent / "models"


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    for name, source in render_all().items():
        path = MODELS_DIR / name
        if path.exists() and path.read_text() == source:
            continue
        stale.append(name)
        if not check:
            path.write_text(source)
    if check and stale:
        print("out of date:", ", ".join(stale), "- run python -m stripe_django.codegen")
        return 1
    print(("checked" if check else "wrote"), len(render_all()), "modules;", len(stale), "changed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
