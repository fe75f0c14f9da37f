"""`python -m kit prepare`: train (or verify) every checkpoint the chapters start from."""

from __future__ import annotations

import time

from kit.checkpoints import CheckpointError, ensure, folder_for, status
from kit.recipes import RECIPES


def prepare(names: list[str] | None = None, *, quick: bool = False, force: bool = False,
            data: str | None = None) -> int:
    """Ensure each named checkpoint (default: all); returns 0 when all are ready, 1 otherwise."""
    names = names or list(RECIPES)
    unknown = [n for n in names if n not in RECIPES]
    if unknown:
        print(f"prepare: unknown checkpoint(s) {', '.join(unknown)}; choose from {', '.join(RECIPES)}")
        return 1
    failures = 0
    for name in names:
        state, detail = status(name, quick=quick, data=data)
        if state == "ready" and not force:
            print(f"[ready] {name}: {detail}")
            continue
        if state == "broken" and not force:
            print(f"[broken] {name}: {detail}")
            failures += 1
            continue
        print(f"[train] {name} ({'quick' if quick else 'full'}): {RECIPES[name].description} ...", flush=True)
        start = time.perf_counter()
        try:
            checkpoint = ensure(name, quick=quick, data=data, force=force)
        except (CheckpointError, FileNotFoundError, ValueError) as error:
            print(f"[failed] {name}: {error}")
            failures += 1
            continue
        print(f"[done] {name} in {time.perf_counter() - start:.0f} s: "
              f"{RECIPES[name].headline(checkpoint.metrics)} -> {folder_for(name, quick=quick, data=data)}")
    return 1 if failures else 0
