"""graph.files: atomic writes leave old content or new, never a mix or a stray temp file; a run
folder is held by one process at a time, and a stale lock file is taken over."""
import json
import os
import subprocess
import sys
import textwrap

import pytest

from spintronic.graph import files
from spintronic.graph.files import (LOCK_NAME, FolderBusyError, OutputLock, atomic_json,
                                    atomic_write_bytes, atomic_write_text, output_folder)


def _listing(folder):
    return sorted(os.listdir(folder))


def test_atomic_writes_replace_content_with_umask_mode(tmp_path):
    target = tmp_path / "out.txt"
    old = os.umask(0o027)
    try:
        atomic_write_text(target, "first\n")
    finally:
        os.umask(old)
    assert target.read_text() == "first\n"
    assert (target.stat().st_mode & 0o777) == 0o640  # 0o666 & ~umask, not mkstemp's 0o600
    atomic_write_bytes(str(target), b"\x00second")
    assert target.read_bytes() == b"\x00second"
    atomic_json(tmp_path / "r.json", {"b": 1, "a": [1, 2]}, sort_keys=True)
    assert json.loads((tmp_path / "r.json").read_text()) == {"a": [1, 2], "b": 1}
    assert (tmp_path / "r.json").read_text().endswith("}\n")
    atomic_json(tmp_path / "r.json", {"a": 1}, end="")
    assert (tmp_path / "r.json").read_text() == json.dumps({"a": 1}, indent=1)
    assert _listing(tmp_path) == ["out.txt", "r.json"]


@pytest.mark.parametrize("exc", [KeyboardInterrupt, RuntimeError, OSError])
@pytest.mark.parametrize("where", ["write", "fsync", "replace"])
def test_interrupted_atomic_write_keeps_old_content_and_no_temp(tmp_path, monkeypatch, exc, where):
    target = tmp_path / "graph.json"
    target.write_text("old content\n")
    real = getattr(os, where)
    calls = []

    def boom(*args, **kwargs):
        calls.append(args)
        if where == "write" and len(calls) == 1:
            real(*args, **kwargs)  # half the data is on disk when the interrupt comes
            raise exc("interrupted")
        raise exc("interrupted")

    monkeypatch.setattr(files.os, where, boom)
    with pytest.raises(exc):
        atomic_write_text(target, "new content that is longer than the old\n")
    monkeypatch.undo()
    assert calls
    assert target.read_text() == "old content\n"
    assert _listing(tmp_path) == ["graph.json"]


def test_interrupted_first_write_leaves_no_file(tmp_path, monkeypatch):
    def boom(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(files.os, "fsync", boom)
    with pytest.raises(KeyboardInterrupt):
        atomic_write_bytes(tmp_path / "new.bin", b"abc")
    assert _listing(tmp_path) == []


def test_unserialisable_json_leaves_target_untouched(tmp_path):
    target = tmp_path / "r.json"
    target.write_text("{}\n")
    with pytest.raises(TypeError):
        atomic_json(target, {"x": object()})
    assert target.read_text() == "{}\n" and _listing(tmp_path) == ["r.json"]


_HOLDER = textwrap.dedent("""
    import sys
    from spintronic.graph.files import output_folder
    with output_folder(sys.argv[1]):
        print("held", flush=True)
        sys.stdin.readline()
""")


def test_two_processes_cannot_hold_one_folder(tmp_path):
    folder = tmp_path / "run"
    holder = subprocess.Popen([sys.executable, "-c", _HOLDER, str(folder), "--marker"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        record = json.loads((folder / LOCK_NAME).read_text())
        assert record["pid"] == holder.pid and "--marker" in record["command"]
        with pytest.raises(FolderBusyError, match=rf"pid {holder.pid}\b.*--marker") as info:
            with output_folder(folder):
                pass
        assert isinstance(info.value, ValueError) and "\n" not in str(info.value)
        assert (folder / LOCK_NAME).exists()  # the loser leaves the winner's lock alone
    finally:
        holder.stdin.write("\n")
        holder.stdin.close()
        assert holder.wait(timeout=30) == 0
    assert not (folder / LOCK_NAME).exists()
    with output_folder(folder) as path:  # free again once the first run ends
        assert path == str(folder)
        assert json.loads((folder / LOCK_NAME).read_text())["pid"] == os.getpid()


def test_killed_holder_leaves_a_stale_lock_that_is_taken_over(tmp_path):
    folder = tmp_path / "run"
    holder = subprocess.Popen([sys.executable, "-c", _HOLDER, str(folder)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    holder.kill()
    holder.wait(timeout=30)
    holder.stdin.close()
    holder.stdout.close()
    assert json.loads((folder / LOCK_NAME).read_text())["pid"] == holder.pid  # stale file
    with output_folder(folder):
        assert json.loads((folder / LOCK_NAME).read_text())["pid"] == os.getpid()
    assert _listing(folder) == []


def test_stale_lock_file_with_garbage_is_taken_over(tmp_path):
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / LOCK_NAME).write_text('{"pid": 999999999, "command": "gone"}\n')
    with output_folder(folder):
        assert json.loads((folder / LOCK_NAME).read_text())["pid"] == os.getpid()
    (folder / LOCK_NAME).write_bytes(b"\xff\x00 not json")
    with OutputLock(folder) as lock:
        assert lock.held
    assert _listing(folder) == []


@pytest.mark.parametrize("exc", [KeyboardInterrupt, RuntimeError])
def test_lock_is_released_on_exception_and_interrupt(tmp_path, exc):
    folder = tmp_path / "deep" / "run"
    with pytest.raises(exc):
        with output_folder(folder):
            assert (folder / LOCK_NAME).exists()
            raise exc()
    assert not folder.exists() and folder.parent.exists()  # the run's own empty folder is gone
    with output_folder(folder):
        pass
    assert _listing(folder) == []                           # a run that ends keeps its folder


@pytest.mark.parametrize("exc", [KeyboardInterrupt, RuntimeError])
def test_a_failed_run_keeps_a_folder_it_wrote_into_or_did_not_create(tmp_path, exc):
    written, existing = tmp_path / "written", tmp_path / "existing"
    existing.mkdir()
    for folder in (written, existing):
        with pytest.raises(exc):
            with output_folder(folder) as path:
                if folder == written:
                    atomic_write_text(os.path.join(path, "part.txt"), "kept")
                raise exc()
    assert _listing(written) == ["part.txt"] and _listing(existing) == []


def test_same_process_twice_is_refused_naming_itself(tmp_path):
    with output_folder(tmp_path / "run"):
        with pytest.raises(FolderBusyError, match=rf"pid {os.getpid()}\b"):
            with output_folder(tmp_path / "run"):
                pass
        assert (tmp_path / "run" / LOCK_NAME).exists()
    assert not (tmp_path / "run" / LOCK_NAME).exists()
