"""Building a chapter's C++ kernel: the tools check names what is missing, the build folder is keyed by the
source, and (marked notebook: it compiles once) chapter 9's own kernel builds, computes the product and is reused."""

from __future__ import annotations

import pytest

from kit import inline_cpp


def test_missing_tools_are_named_with_their_install_command(monkeypatch):
    monkeypatch.setattr(inline_cpp.shutil, "which", lambda name: None)
    missing = inline_cpp.missing_build_tools()
    assert any("g++" in item for item in missing) and any("ninja" in item for item in missing)
    with pytest.raises(inline_cpp.BuildToolsMissing) as error:
        inline_cpp.require_build_tools("section 3")
    assert "section 3 is skipped" in str(error.value) and "apt-get install g++" in str(error.value)


def test_build_refuses_before_compiling_when_tools_are_missing(monkeypatch):
    monkeypatch.setattr(inline_cpp, "missing_build_tools", lambda: ["ninja (`pip install ninja`)"])
    with pytest.raises(inline_cpp.BuildToolsMissing, match="ninja"):
        inline_cpp.build_inline("kernel", "int f() { return 1; }", ["f"])


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="identifier"):
        inline_cpp.build_inline("my-kernel", "", ["f"])
    with pytest.raises(ValueError, match="at least one"):
        inline_cpp.build_inline("kernel", "", [])


def test_the_hash_changes_with_the_source_and_the_flags():
    base = inline_cpp.source_hash("int f();", ["f"], ["-O3"])
    assert base == inline_cpp.source_hash("int f();", ["f"], ["-O3"])
    assert base != inline_cpp.source_hash("int g();", ["f"], ["-O3"])
    assert base != inline_cpp.source_hash("int f();", ["f"], ["-O2"])


@pytest.mark.notebook
def test_the_chapter_kernel_builds_computes_the_product_and_is_reused(request):
    """Chapter 9's kernel, compiled once per build/ folder (in the background from the session's start: see
    tests/conftest.py); the chapter then only loads it."""
    if inline_cpp.missing_build_tools():
        pytest.skip(f"cannot build C++ here: {inline_cpp.missing_build_tools()}")
    import torch

    from kit.chapter_kernel import kernel_source

    source, functions = kernel_source()
    first = request.getfixturevalue("chapter_kernel")
    assert any(first.folder.glob("*.so"))
    generator = torch.Generator().manual_seed(0)
    out_features, in_features, group = 96, 256, 64
    codes = torch.randint(0, 16, (out_features, in_features), generator=generator, dtype=torch.uint8)
    packed = codes[:, 0::2] | (codes[:, 1::2] << 4)
    scales = torch.rand(out_features, in_features // group, generator=generator) + 0.1
    offsets = torch.randn(out_features, in_features // group, generator=generator)
    x = torch.randn(in_features, generator=generator)
    grouped = codes.float().view(out_features, -1, group)
    weight = (grouped * scales[..., None] + offsets[..., None]).view(out_features, in_features)
    torch.testing.assert_close(first.module.int4_matvec(packed, scales, offsets, x, group), weight @ x,
                               atol=1e-4, rtol=1e-4)
    with pytest.raises(RuntimeError, match="group must be 32, 64 or 128"):
        first.module.int4_matvec(packed, scales, offsets, x, 16)
    assert "AVX-512" in first.module.int4_path() or "portable" in first.module.int4_path()
    second = inline_cpp.build_inline("int4_kernel", source, functions)
    assert second.reused and second.folder == first.folder


def _fake_load_inline(calls, folder):
    """Stands in for torch's load_inline: records that it ran and that torch's `lock` file was gone by then."""
    import types

    def load_inline(name, build_directory, **kwargs):
        calls.append({"lock_present": (folder / "lock").exists()})
        return types.SimpleNamespace(__name__=name)

    return load_inline


def test_a_lock_file_left_by_a_killed_build_is_removed_instead_of_waited_on(monkeypatch, tmp_path, capsys):
    import torch.utils.cpp_extension

    calls = []
    monkeypatch.setattr(inline_cpp, "missing_build_tools", lambda: [])
    monkeypatch.setattr(torch.utils.cpp_extension, "load_inline", _fake_load_inline(calls, tmp_path))
    (tmp_path / "lock").touch()   # what torch leaves when its build is killed: load_inline would wait for ever
    built = inline_cpp.build_inline("kernel", "int f() { return 1; }", ["f"], folder=tmp_path)
    assert calls == [{"lock_present": False}] and built.module.__name__.startswith("kernel_")
    assert "left by a build that was stopped" in capsys.readouterr().out


def test_a_build_in_progress_elsewhere_is_waited_for_and_its_lock_kept(monkeypatch, tmp_path, capsys):
    import fcntl
    import threading
    import time

    import torch.utils.cpp_extension

    calls = []
    monkeypatch.setattr(inline_cpp, "missing_build_tools", lambda: [])
    monkeypatch.setattr(torch.utils.cpp_extension, "load_inline", _fake_load_inline(calls, tmp_path))
    with open(tmp_path / "kit-build.lock", "a") as other:   # another build holds the folder
        fcntl.flock(other, fcntl.LOCK_EX)
        (tmp_path / "lock").touch()                      # ... and torch's lock file is its own, live
        worker = threading.Thread(target=inline_cpp.build_inline, args=("kernel", "int f();", ["f"]),
                                  kwargs={"folder": tmp_path})
        worker.start()
        said, deadline = "", time.monotonic() + 30
        while "waiting for another process" not in said and time.monotonic() < deadline:
            time.sleep(0.05)
            said += capsys.readouterr().out
        assert "waiting for another process" in said
        assert calls == [] and (tmp_path / "lock").exists()   # waiting: neither built nor the live lock removed
        (tmp_path / "lock").unlink()                          # the other build finishes ...
        fcntl.flock(other, fcntl.LOCK_UN)                     # ... and lets go
    worker.join(timeout=10)
    assert not worker.is_alive() and calls == [{"lock_present": False}]


def test_the_chapter_kernel_source_is_read_from_chapter_9s_cell():
    from kit.chapter_kernel import kernel_source

    source, functions = kernel_source()
    assert "int4_matvec" in source and functions == ["int4_matvec", "int4_path"]


def test_the_book_builds_the_kernel_ahead_only_for_chapter_9_and_never_fails_for_it(monkeypatch, tmp_path):
    from kit import book, chapter_kernel

    assert book.build_kernel_ahead([tmp_path / "01_parametrizations.ipynb"]) is None
    monkeypatch.setattr(chapter_kernel, "missing_build_tools", lambda: ["ninja"])
    assert book.build_kernel_ahead([tmp_path / f"{chapter_kernel.KERNEL_CHAPTER}.ipynb"]) is None

    def broken(*args, **kwargs):
        raise RuntimeError("g++ failed")

    monkeypatch.setattr(chapter_kernel, "missing_build_tools", lambda: [])
    monkeypatch.setattr(chapter_kernel, "build_chapter_kernel", broken)
    build = book.build_kernel_ahead([tmp_path / f"{chapter_kernel.KERNEL_CHAPTER}.ipynb"])
    assert "failed (RuntimeError)" in build.report()   # said, not raised: the chapter shows the compiler's error
    with pytest.raises(RuntimeError, match="g\\+\\+ failed"):
        build.result()                                 # the test suite's fixture gets the error itself
