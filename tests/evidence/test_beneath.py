"""Opening beneath a folder: no symlink in any component, no escape, any length; with the
kernel's openat2 and with the component-by-component fallback, which must answer alike."""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from cairn.evidence import beneath
from cairn.evidence.beneath import PATH_MAX, open_beneath, open_nofollow


@pytest.fixture(params=["openat2", "walk"])
def mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "openat2" and not beneath._kernel_has_openat2():
        pytest.skip("this kernel has no openat2")
    monkeypatch.setattr(beneath, "use_openat2", request.param == "openat2")
    return str(request.param)


@pytest.fixture
def tree(tmp_path: Path) -> Iterator[tuple[Path, int]]:
    """root/a/b/file.txt, root/link -> outside (a folder), root/a/flink -> a/b/file.txt."""
    root, outside = tmp_path / "root", tmp_path / "outside"
    (root / "a" / "b").mkdir(parents=True)
    (root / "a" / "b" / "file.txt").write_bytes(b"inside")
    outside.mkdir()
    (outside / "file.txt").write_bytes(b"outside")
    (root / "link").symlink_to(outside)
    (root / "a" / "flink").symlink_to(root / "a" / "b" / "file.txt")
    fd = os.open(root, os.O_PATH | os.O_DIRECTORY)
    yield root, fd
    os.close(fd)


def _read(fd: int) -> bytes:
    with open(fd, "rb") as stream:
        return stream.read()


def _errno(dir_fd: int, relative: bytes) -> int:
    with pytest.raises(OSError) as raised:
        open_beneath(dir_fd, relative, os.O_RDONLY)
    assert raised.value.errno is not None
    return raised.value.errno


def test_the_kernel_here_has_openat2() -> None:
    assert (
        beneath._kernel_has_openat2()
    )  # Linux 6.x on this machine kind; the fallback is tested too


def test_a_file_beneath_opens(mode: str, tree: tuple[Path, int]) -> None:
    _, fd = tree
    assert _read(open_beneath(fd, b"a/b/file.txt", os.O_RDONLY)) == b"inside"
    assert _read(open_beneath(fd, b"./a//b/file.txt", os.O_RDONLY)) == b"inside"


@pytest.mark.parametrize(
    ("relative", "code"),
    [
        (b"link/file.txt", errno.ELOOP),  # a symlink in the middle
        (b"link", errno.ELOOP),  # the last component
        (b"a/flink", errno.ELOOP),  # to a file inside: still not followed
        (b"../outside/file.txt", errno.EXDEV),
        (b"a/../../outside/file.txt", errno.EXDEV),
        (b"/etc/hostname", errno.EXDEV),
        (b"a/missing", errno.ENOENT),
        (b"a/b/file.txt/x", errno.ENOTDIR),
    ],
)
def test_refusals(mode: str, tree: tuple[Path, int], relative: bytes, code: int) -> None:
    _, fd = tree
    assert _errno(fd, relative) == code


def test_paths_longer_than_path_max(mode: str, tmp_path: Path) -> None:
    name = b"d" * 250
    relative = b"/".join([name] * 20) + b"/leaf"
    assert len(relative) > PATH_MAX
    top = os.open(tmp_path, os.O_PATH | os.O_DIRECTORY)
    fd = os.dup(top)
    for _ in range(20):
        os.mkdir(name, dir_fd=fd)
        child = os.open(name, os.O_PATH | os.O_DIRECTORY, dir_fd=fd)
        os.close(fd)
        fd = child
    leaf = os.open(b"leaf", os.O_WRONLY | os.O_CREAT, 0o600, dir_fd=fd)
    os.write(leaf, b"deep")
    os.close(leaf)
    os.close(fd)
    assert _read(open_beneath(top, relative, os.O_RDONLY)) == b"deep"
    os.close(top)


def test_open_nofollow_refuses_a_symlink_anywhere_in_an_absolute_path(
    mode: str, tree: tuple[Path, int]
) -> None:
    root, _ = tree
    assert _read(open_nofollow(os.fsencode(root / "a" / "b" / "file.txt"), os.O_RDONLY)) == (
        b"inside"
    )
    with pytest.raises(OSError) as raised:
        open_nofollow(os.fsencode(root / "link" / "file.txt"), os.O_RDONLY)
    assert raised.value.errno == errno.ELOOP
