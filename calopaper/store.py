"""Get-or-build artifacts keyed by their config and the code that made them; atomic writes.

An artifact (a dataset, a trained model, a sample set) lives at ``<root>/<kind>/<key><suffix>``
where ``key`` is the first 16 hex digits of a SHA-256 over the canonical JSON of
``(kind, config)`` and the source text of the modules named in ``code``. Changing the config or
that code therefore gives a new key, so a stale artifact is never returned (book/conventions.md,
"The store"). Old artifacts are not deleted; remove ``<root>`` to start afresh.

Every file is first written to a temporary sibling and then renamed into place with
``os.replace``, so a reader sees either the old file, the complete new one, or nothing.
Builds of the same artifact by concurrent processes are serialised with a lock file
(``<root>/<kind>/.<key>.lock``, POSIX ``flock``; without ``fcntl`` builds are not locked).

Every trained model (kinds under ``models/``) a process loads or builds is remembered
(:func:`models_used`): a chapter's results name the models behind them, and the speed chapter
sums their training time. An artifact's manifest lists the models used while it was built, and
reading the artifact back counts them as used too, so a chapter that reads a stored measurement
still names the models behind it.

Inside ``with only_stored():`` nothing is built: asking for a missing artifact raises
:class:`NotStored` (``parallel.run`` uses it to find the calls that still have work to do).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import importlib.util
import json
import logging
import os
import re
import secrets
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType

import numpy as np

import calopaper
from calopaper import dryrun

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows has no flock; builds are then not locked
    fcntl = None

__all__ = [
    "NotStored",
    "Store",
    "atomic_write",
    "building_allowed",
    "canonical_config",
    "code_digest",
    "default_store",
    "models_used",
    "only_stored",
]

log = logging.getLogger(__name__)
#: Trained-model artifacts (kinds ``models/...``) this process loaded or built, in order.
_MODELS_USED: dict[Path, None] = {}
#: Per build in progress, innermost last: the models it has used so far.
_BUILDING: list[dict[Path, None]] = []
#: True inside ``only_stored()``: a missing artifact raises instead of being built.
_ONLY_STORED = False


class NotStored(LookupError):
    """An artifact asked for inside ``only_stored()`` is not in the store."""


@contextlib.contextmanager
def only_stored() -> Iterator[None]:
    """Within the block, :meth:`Store.get_or_build` returns stored artifacts and raises
    :class:`NotStored` for a missing one instead of building it."""
    global _ONLY_STORED
    previous, _ONLY_STORED = _ONLY_STORED, True
    try:
        yield
    finally:
        _ONLY_STORED = previous


def building_allowed() -> bool:
    """False inside ``only_stored()``."""
    return not _ONLY_STORED


def _use_model(path: Path) -> None:
    for used in (_MODELS_USED, *_BUILDING):
        used[path] = None


_KIND = re.compile(r"[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*")


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary sibling of ``path``; move it onto ``path`` when the block succeeds.

    The temporary file keeps the suffix of ``path`` (writers such as ``np.savez`` or
    ``savefig`` infer the format from it) and sits in the same directory, which is created if
    needed, so the final ``os.replace`` is atomic. If the block raises, the temporary file is
    deleted, ``path`` is left as it was, and the exception propagates.

    Args:
        path: the file to (over)write.

    Yields:
        The temporary path the block must write to.

    Raises:
        FileNotFoundError: the block finished without creating the temporary file.

    Example:
        >>> import tempfile
        >>> target = Path(tempfile.mkdtemp()) / "numbers.txt"
        >>> with atomic_write(target) as tmp:
        ...     _ = tmp.write_text("1 2 3")
        >>> target.read_text()
        '1 2 3'
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp-{secrets.token_hex(4)}{path.suffix}")
    try:
        yield tmp
        if not tmp.exists():
            msg = f"the writer of {path} did not create its temporary file {tmp}"
            raise FileNotFoundError(msg)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def canonical_config(config: object, name: str = "config") -> object:
    """Turn a config into plain JSON data: dataclasses to dicts, numpy values to Python.

    Accepted: dataclass instances, dicts with str keys, lists, tuples, str, int, float, bool,
    None, numpy scalars and arrays, and ``pathlib`` paths (as strings).

    Args:
        config: the value to convert.
        name: how the value is called in error messages.

    Returns:
        A structure of dicts, lists and JSON scalars.

    Raises:
        TypeError: a value of another type, naming where it sits (e.g. ``config['model']``).

    Example:
        >>> canonical_config({"n": np.int64(3), "sizes": (1, 2)})
        {'n': 3, 'sizes': [1, 2]}
    """
    if dataclasses.is_dataclass(config) and not isinstance(config, type):
        config = {f.name: getattr(config, f.name) for f in dataclasses.fields(config)}
    if isinstance(config, dict):
        bad = [k for k in config if not isinstance(k, str)]
        if bad:
            msg = f"{name} has non-string key {bad[0]!r}; config keys must be str"
            raise TypeError(msg)
        return {k: canonical_config(v, f"{name}[{k!r}]") for k, v in config.items()}
    if isinstance(config, list | tuple):
        return [canonical_config(v, f"{name}[{i}]") for i, v in enumerate(config)]
    if isinstance(config, np.ndarray | np.generic):
        return canonical_config(config.tolist(), name)
    if isinstance(config, os.PathLike):
        return os.fspath(config)
    if config is None or isinstance(config, str | int | float | bool):
        return config
    msg = (
        f"{name} = {config!r} has type {type(config).__name__}; config values must be "
        "JSON-like (dataclass, dict, list, str, int, float, bool, None, numpy scalar or array)"
    )
    raise TypeError(msg)


def _module_sources(code: Iterable[ModuleType | str]) -> dict[str, str]:
    """Source text of each module (all ``.py`` files of a package), by dotted name."""
    sources = {}
    for item in code:
        if isinstance(item, ModuleType):
            name, origin = item.__name__, getattr(item, "__file__", None)
        elif isinstance(item, str):
            spec = importlib.util.find_spec(item)
            name, origin = item, spec.origin if spec is not None else None
        else:
            msg = f"code entry {item!r} must be a module or a dotted module name"
            raise TypeError(msg)
        if origin is None or not origin.endswith(".py"):
            msg = f"code module {name!r} has no Python source file (origin {origin!r})"
            raise ValueError(msg)
        origin = Path(origin)
        if origin.name == "__init__.py":
            files = sorted(origin.parent.rglob("*.py"))
            sources[name] = "".join(
                f"# {f.relative_to(origin.parent)}\n{f.read_text()}" for f in files
            )
        else:
            sources[name] = origin.read_text()
    return dict(sorted(sources.items()))


def code_digest(code: Iterable[ModuleType | str]) -> str:
    """SHA-256 (16 hex digits) of the source of these modules; packages include every file.

    Example:
        >>> len(code_digest(["calopaper.store"]))
        16
    """
    digest = hashlib.sha256()
    for name, source in _module_sources(code).items():
        digest.update(f"\0{name}\0{source}".encode())
    return digest.hexdigest()[:16]


class Store:
    """A directory of artifacts keyed by config and code (see the module docstring).

    Args:
        root: the directory holding ``<kind>/<key><suffix>`` artifacts and their manifests.
    """

    def __init__(self, root: str | os.PathLike = "data") -> None:
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"Store({str(self.root)!r})"

    def key(self, kind: str, config: object, code: Iterable[ModuleType | str] = ()) -> str:
        """First 16 hex digits of SHA-256 over canonical JSON of (kind, config) + code sources.

        Example:
            >>> Store().key("demo", {"b": 2, "a": 1}) == Store().key("demo", {"a": 1, "b": 2})
            True
        """
        self._validate_kind(kind)
        text = json.dumps([kind, canonical_config(config)], sort_keys=True, separators=(",", ":"))
        digest = hashlib.sha256(text.encode())
        for name, source in _module_sources(code).items():
            digest.update(f"\0{name}\0{source}".encode())
        return digest.hexdigest()[:16]

    def path_for(
        self,
        kind: str,
        config: object,
        suffix: str = ".h5",
        code: Iterable[ModuleType | str] = (),
    ) -> Path:
        """Where the artifact of ``kind`` built from ``config`` and ``code`` lives (built or not).

        Example:
            >>> Store("data").path_for("demo", {"n": 10}).parent
            PosixPath('data/demo')
        """
        if suffix == ".json":
            msg = f"suffix {suffix!r} clashes with the manifest <key>.json; use e.g. '.result.json'"
            raise ValueError(msg)
        return self.root / kind / f"{self.key(kind, config, code)}{suffix}"

    def get_or_build(
        self,
        kind: str,
        config: object,
        build: Callable[[Path], None],
        *,
        suffix: str = ".h5",
        code: Iterable[ModuleType | str] = (),
    ) -> Path:
        """Return the artifact for ``(kind, config, code)``, building it first if it is missing.

        Args:
            kind: artifact family, the sub-directory (e.g. ``"datasets"``, ``"models/savae"``).
            config: JSON-like description of the artifact (dataclasses allowed).
            build: called as ``build(tmp_path)``; must write the artifact to ``tmp_path``,
                which is then renamed into place. If it raises, nothing is left behind.
            suffix: file suffix of the artifact, passed on to ``tmp_path``.
            code: modules (objects or dotted names) whose source the artifact depends on.

        Returns:
            Path of the artifact; a manifest ``<key>.json`` beside it records kind, config, a
            hash of each code module, the models used while building it, the creation time
            and the calopaper version.

        Raises:
            NotStored: the artifact is missing and this is inside ``only_stored()``.
        """
        code = list(code)
        path = self.path_for(kind, config, suffix, code)
        key = path.name.removesuffix(suffix)
        manifest_path = path.parent / f"{key}.json"
        if kind.split("/")[0] == "models":
            _use_model(path.resolve())
        if path.exists():
            self._use_models_behind(manifest_path)
            return path
        if _ONLY_STORED:
            raise NotStored(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock(path.parent / f".{key}.lock"):
            if path.exists():  # built by another process while we waited
                self._use_models_behind(manifest_path)
                return path
            log.info("building %s", path)
            start = time.perf_counter()
            _BUILDING.append({})
            try:
                with atomic_write(path) as tmp:
                    build(tmp)
            finally:
                behind = list(_BUILDING.pop())
            log.info("built %s in %.1f s", path, time.perf_counter() - start)
            root = self.root.resolve()
            manifest = {
                "models": [
                    str(p.relative_to(root)) if p.is_relative_to(root) else str(p) for p in behind
                ],  # fmt: skip
                "kind": kind,
                "key": key,
                "artifact": path.name,
                "config": canonical_config(config),
                "code": {
                    name: hashlib.sha256(src.encode()).hexdigest()
                    for name, src in _module_sources(code).items()
                },
                "created": datetime.now(UTC).isoformat(timespec="seconds"),
                "calopaper_version": calopaper.__version__,
            }
            with atomic_write(manifest_path) as tmp:
                tmp.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        return path

    def _use_models_behind(self, manifest_path: Path) -> None:
        """Count the models an artifact's manifest lists as used (none for older manifests)."""
        if manifest_path.exists():
            for name in json.loads(manifest_path.read_text()).get("models", []):
                _use_model((self.root / name).resolve())

    @staticmethod
    def _validate_kind(kind: str) -> None:
        if not isinstance(kind, str) or not _KIND.fullmatch(kind) or ".." in kind.split("/"):
            msg = f"artifact kind {kind!r} must be a relative path of letters, digits, '_.-'"
            raise ValueError(msg)

    @staticmethod
    @contextlib.contextmanager
    def _lock(lock_path: Path) -> Iterator[None]:
        if fcntl is None:  # pragma: no cover
            yield
            return
        with open(lock_path, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)


def default_store() -> Store:
    """The store at ``$CALOPAPER_DATA``, or ``<repo root>/data`` when that is unset.

    The repo root is the parent of the ``calopaper`` package directory; an empty
    ``CALOPAPER_DATA`` counts as unset. A dry run (``calopaper.dryrun``) without
    ``CALOPAPER_DATA`` uses its own store, never ``data/``.
    """
    root = os.environ.get("CALOPAPER_DATA")
    if not root and dryrun.active():
        return Store(dryrun.store_root())
    return Store(root or Path(calopaper.__file__).resolve().parent.parent / "data")


def models_used(clear: bool = False) -> list[Path]:
    """The trained models (kinds ``models/...``) this process has loaded or built, in order.

    Args:
        clear: forget them afterwards (the next chapter in the same process starts afresh).
    """
    used = list(_MODELS_USED)
    if clear:
        _MODELS_USED.clear()
    return used
