"""`python -m kit prepare`: train (or verify) the checkpoints the chapters start from, in the terminal."""

from __future__ import annotations

import time
from typing import Any

from kit.allocator import give_back_freed_memory, keep_freed_memory
from kit.chapters import Need
from kit.checkpoints import CheckpointError, ensure, folder_for, status
from kit.paths import DataDirError
from kit.recipes import RECIPES


def prepare(names: list[str] | None = None, *, quick: bool = False, force: bool = False,
            data: str | None = None, options: dict[str, Any] | None = None) -> int:
    """Ensure each named checkpoint (default: all); returns 0 when all are ready, 1 otherwise.

    `options` (e.g. {"seed": 7}) go to every named checkpoint, which must take each of them.
    """
    options = options or {}
    names = names or ([n for n in RECIPES if set(options) <= set(RECIPES[n].option_names)] if options
                      else list(RECIPES))
    unknown = [n for n in names if n not in RECIPES]
    if unknown:
        print(f"prepare: unknown checkpoint(s) {', '.join(unknown)}; choose from {', '.join(RECIPES)}")
        return 1
    for name in names:
        extra = sorted(set(options) - set(RECIPES[name].option_names))
        if extra:
            takes = ", ".join(RECIPES[name].option_names) or "no options"
            print(f"prepare: {name} does not take the option(s) {', '.join(extra)}; it takes {takes}")
            return 1
    settings = ((("data", data),) if data else ()) + tuple(sorted(options.items()))
    needs = [Need(name, settings) for name in names]
    failures = prepare_needs(needs, quick=quick, force=force)
    return 1 if failures else 0


def prepare_needs(needs: list[Need], *, quick: bool = False, force: bool = False) -> dict[Need, str]:
    """Ensure every need, one after the other, reporting each; returns {need: why it failed} for the failures.

    A checkpoint that is stale (intact, but made with another configuration or data than the kit asks for now)
    is retrained once; a damaged one is reported with its fix. A failure does not stop the others, except a
    data dir that cannot hold checkpoints, which fails every need that would train (checked before any
    training starts).
    """
    failures: dict[Need, str] = {}
    all_quick = quick
    for need in dict.fromkeys(needs):  # each once, in order
        options = need.kwargs
        quick = all_quick and not need.full
        mode = "quick" if quick else "full"
        if need.checkpoint not in RECIPES:
            failures[need] = f"no recipe makes a checkpoint called {need.checkpoint!r}; the checkpoints are " \
                             f"{', '.join(RECIPES)}"
            print(f"[failed] {need}: {failures[need]}")
            continue
        try:
            if RECIPES[need.checkpoint].ready_made(**options):
                print(f"[ready] {need}: a model that needs no training")
                continue
            state, detail = status(need.checkpoint, quick=quick, **options)
        except (FileNotFoundError, ValueError, TypeError) as error:
            failures[need] = str(error)
            print(f"[failed] {need}: {error}")
            continue
        if state == "ready" and not force:
            print(f"[ready] {need}: {detail}")
            continue
        if state == "broken" and not force:
            failures[need] = detail
            print(f"[broken] {need}: {detail}")
            continue
        if state == "stale":   # intact but out of date (the kit's config or data changed): retrain it once
            print(f"[stale] {need}: {detail.split(': retrain it with')[0]}; retraining it (the old folder is kept "
                  f"as *.previous)", flush=True)
        print(f"[train] {need} ({mode}): {RECIPES[need.checkpoint].description} ...", flush=True)
        start = time.perf_counter()
        try:
            keep_freed_memory()   # training allocates the same large tensors every step: reuse them (kit.allocator)
            checkpoint = ensure(need.checkpoint, quick=quick, force=force or state == "stale", **options)
        except (CheckpointError, DataDirError, FileNotFoundError, ValueError) as error:
            failures[need] = str(error)
            print(f"[failed] {need}: {error}")
            continue
        print(f"[done] {need} in {time.perf_counter() - start:.0f} s: "
              f"{RECIPES[need.checkpoint].headline(checkpoint.metrics)} -> "
              f"{folder_for(need.checkpoint, quick=quick, **options)}", flush=True)
    give_back_freed_memory()   # the training peak is not kept for what this process does next (kit.allocator)
    return failures
