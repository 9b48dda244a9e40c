"""What the bench times: each model family offers named generators for a profile.

A family is a function ``generators(ctx) -> list[Generator]`` in a module named in
:data:`PROVIDERS` (``"module:function"``), imported only when the bench runs, so a family whose
package is missing or broken becomes a row that says why instead of stopping the bench.
Each generator is the model its chapter trains in ``ctx.profile``, loaded from the store; when
it is not there and ``ctx.train`` is false, ``ctx.store`` refuses to train it
(:class:`Unavailable`).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from types import SimpleNamespace

from calopaper.store import Store, default_store

__all__ = [
    "PROVIDERS",
    "architecture",
    "BenchContext",
    "Entry",
    "Generator",
    "Unavailable",
    "collect",
]

#: Family -> ``"module:function"`` returning its generators; imported lazily, in this order.
PROVIDERS: dict[str, str] = {
    "SUPA": "calopaper.bench.providers:supa",
    "reference simulator": "calopaper.bench.providers:reference_simulator",
    "SAVAE": "calopaper.models.savae.bench:generators",
    "GAAM": "calopaper.models.gaam.bench:generators",
    "CaloDVAE": "calopaper.models.dvae.bench:generators",
    "CaloFlow": "calopaper.models.caloflow.bench:generators",
    "CaloClouds": "calopaper.models.caloclouds.bench:generators",
}


class Unavailable(Exception):
    """A generator cannot be timed here; the message is the row's reason.

    Raise it from ``generators`` for a whole family, or return it in the list in place of one
    generator, with ``name`` its row label.
    """

    def __init__(self, reason: str, name: str = "") -> None:
        super().__init__(reason)
        self.name = name


@dataclass
class Generator:
    """One row of the bench: something that makes showers, and what it is compared with.

    Attributes:
        name: row label, unique across the bench (e.g. "GAAM middle (48,48)").
        paper: the paper whose timing claim it serves ("supa", "savae", "gaam", ...).
        truth: the truth it imitates ("gaam-middle", "calogan", "ild"): the scoreboard's group.
        generate: ``generate(n, energy)`` makes ``n`` showers at incident energy ``energy`` GeV,
            or drawn from the training spectrum when ``energy`` is None; the result is ignored.
        energies: incident energies (GeV) at which its cost differs; ``()`` if it does not.
        macs: multiply-adds per shower at an energy, when the bench's own count (torch's
            ``FlopCounterMode`` over ``generate``) would be wrong; ``None`` otherwise.
        training_seconds: training time of the model(s) behind the row (``History.seconds``).
        samples: the chapter's saved samples of it, relative to ``data/samples/`` without
            ``.h5`` (e.g. "02_savae/savae"); "" when there are none.
        truth_samples: the truth sample set it is compared with, in the same form.
        note: what exactly it is, one line.
        max_batch: the largest batch ``generate`` takes (``None``: any).
        network: whether it is a neural network (its MACs are counted); simulators are not.
        one_thread: time it on one thread only (a row that serves a one-thread claim).
        architecture: the configuration fields that size its network (:func:`architecture`):
            what a GPU record's row is matched on (``bench.records``); empty for simulators.
    """

    name: str
    paper: str
    truth: str
    generate: Callable[[int, float | None], object]
    energies: tuple[float, ...] = ()
    macs: Callable[[float | None], float] | None = None
    training_seconds: float | None = None
    samples: str = ""
    truth_samples: str = ""
    note: str = ""
    max_batch: int | None = None
    network: bool = True
    one_thread: bool = False
    architecture: dict = field(default_factory=dict)


def architecture(config: object, fields: tuple[str, ...]) -> dict:
    """``{field: value}`` of a model configuration, tuples as lists (as JSON reads them back).

    Example:
        >>> from types import SimpleNamespace
        >>> architecture(SimpleNamespace(hidden=(64, 64), depth=2), ("hidden", "depth"))
        {'hidden': [64, 64], 'depth': 2}
    """
    return {f: list(v) if isinstance(v, tuple) else v for f in fields for v in [getattr(config, f)]}


class _NoTrainingStore(Store):
    """A store that refuses to build trained models (kinds ``models/...``): raises Unavailable."""

    def get_or_build(self, kind, config, build, *, suffix=".h5", code=()):
        code = list(code)
        path = self.path_for(kind, config, suffix, code)
        if kind.startswith("models/") and not path.exists():
            msg = (
                f"{kind} {path.stem} is not in the store: run its chapter in this profile, "
                "or bench with --train"
            )
            raise Unavailable(msg)
        return super().get_or_build(kind, config, build, suffix=suffix, code=code)


@dataclass(frozen=True)
class BenchContext:
    """What a family's ``generators`` is given.

    Attributes:
        profile: "smoke", "book" or "paper": build the model its chapter trains in this profile.
        device: "cpu" or "cuda": where the generators run.
        train: whether a model missing from the store may be trained now.
        root: the store's folder (default: ``default_store()``).
    """

    profile: str
    device: str = "cpu"
    train: bool = False
    root: Path | None = None

    @cached_property
    def store(self) -> Store:
        """The store to load models from; without ``train`` it refuses to train them."""
        root = self.root if self.root is not None else default_store().root
        return Store(root) if self.train else _NoTrainingStore(root)

    def chapter_parameters(self, chapter: str) -> SimpleNamespace:
        """The chapter notebook's parameters resolved for this profile and device
        (``profiles.chapter_parameters``); torch's threads are left as they are."""
        from calopaper.profiles import chapter_parameters

        return chapter_parameters(chapter, self.profile, device=self.device)


@dataclass
class Entry:
    """A family's generator, or the reason it has none (``generator`` is None)."""

    family: str
    generator: Generator | None
    reason: str = ""
    label: str = ""

    @property
    def name(self) -> str:
        return self.generator.name if self.generator else self.label or self.family


def _load(target: str) -> Callable[[BenchContext], list[Generator]]:
    module, _, function = target.partition(":")
    try:
        return getattr(importlib.import_module(module), function)
    except ModuleNotFoundError as e:
        if e.name and module.startswith(e.name):
            raise Unavailable(f"not available: no module {e.name} in this tree") from None
        raise


def collect(ctx: BenchContext, only: list[str] | None = None) -> list[Entry]:
    """Every family's generators for ``ctx`` (or just the families in ``only``).

    ``generators`` may return :class:`Unavailable` instances (with ``name``) among its
    generators for single rows it cannot offer.

    A family that raises :class:`Unavailable` gives one entry with the reason; any other error
    gives an entry "error: ..." so one broken family never stops the bench.

    Raises:
        ValueError: a name in ``only`` that is not a family of :data:`PROVIDERS`.
    """
    unknown = sorted(set(only or ()) - set(PROVIDERS))
    if unknown:
        msg = f"unknown bench family {unknown[0]!r}; expected one of {list(PROVIDERS)}"
        raise ValueError(msg)
    entries = []
    for family, target in PROVIDERS.items():
        if only and family not in only:
            continue
        try:
            generators = _load(target)(ctx)
        except Unavailable as e:
            entries.append(Entry(family, None, str(e), e.name))
            continue
        except Exception as e:  # noqa: BLE001 - a broken family is reported, not fatal
            entries.append(Entry(family, None, f"error: {type(e).__name__}: {e}"))
            continue
        entries += [
            Entry(family, None, str(g), g.name) if isinstance(g, Unavailable) else Entry(family, g)
            for g in generators
        ]
    return entries
