"""Claims of the speed chapter (07): each paper's timing claim re-judged as a ratio on one machine.

The papers timed their models on their own hardware (GPUs for SAVAE and GAAM, one CPU thread
for CaloClouds, a laptop for SUPA). Here every generator is timed by ``calopaper bench`` on the
same machine, with the same method, and each claim is judged by a ratio of two of our numbers
(or, for GAAM, against the paper's GPU time): the ratio does not depend on how fast the machine
is, only on the implementations.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from calopaper.claims.caloclouds3 import PAPER_SPEED_RATIO as CC3_OVER_CC2
from calopaper.claims.caloclouds3 import speed_ratio, speed_verdict
from calopaper.claims.supa import PAPER_MS as SUPA_PAPER_MS
from calopaper.claims.supa import REFERENCE_CODE
from calopaper.models.gaam.paper import MS_PER_SHOWER as GAAM_MS
from calopaper.models.savae.paper import MS_PER_SHOWER as SAVAE_MS
from calopaper.results import Claim, verdict

__all__ = [
    "CC3_OVER_CC2",
    "GAAM_MIDDLE_GOAL_MS",
    "SAVAE_OVER_GAAM",
    "SUPA_GOAL",
    "Measured",
    "claims",
]

#: SAVAE's speed-up over GAAM in savae §V (both batch-generated on a GPU).
SAVAE_OVER_GAAM = SAVAE_MS["GAAM"] / SAVAE_MS["SAVAE"]
#: Our goal for GAAM's middle layer on one CPU thread: ten times below the paper's GPU time.
GAAM_MIDDLE_GOAL_MS = GAAM_MS["middle"] / 10
#: Our goal for the vectorised SUPA: this many times faster than the reference code.
SUPA_GOAL = 1000.0
_NAN = float("nan")


@dataclass(frozen=True)
class Measured:
    """The bench's numbers the claims are judged on (NaN where a generator was not timed).

    Attributes:
        supa_ms: SUPA ``paper`` preset, fastest batch, one thread, ms/shower.
        savae_ms, gaam_ms: SAVAE and GAAM (middle layer, 48x48) at the same batch size
            ``batch``, one thread, ms/shower.
        batch: that batch size (the largest both were timed at).
        gaam_middle_ms: GAAM middle layer, fastest batch, one thread, ms/shower.
        cc2_ms, cc3_ms: CC2 and CC3 with the paper's network sizes at each timed incident
            energy, one thread, ms/shower: chapter 6's timings in the book
            (``models.caloclouds.bench.paper_speed``), the bench's rows in ``calopaper bench``.
        cc_energies: those incident energies, GeV (empty: not recorded).
        gibbs_share: CaloDVAE's Gibbs sampling time over its whole generation time, at each
            batch size both were timed at.
        gibbs_share_error: the standard error of each share, from the errors of the timed
            repetitions (zeros when unknown).
        device: where the CPU numbers come from (always "cpu" here) or "cuda".
    """

    supa_ms: float = _NAN
    savae_ms: float = _NAN
    gaam_ms: float = _NAN
    batch: int = 0
    gaam_middle_ms: float = _NAN
    cc2_ms: tuple[float, ...] = ()
    cc3_ms: tuple[float, ...] = ()
    cc_energies: tuple[float, ...] = ()
    gibbs_share: tuple[float, ...] = ()
    gibbs_share_error: tuple[float, ...] = ()
    device: str = "cpu"


def _finite(*values: float) -> bool:
    return all(isinstance(v, int | float) and math.isfinite(v) for v in values)


def _supa(m: Measured) -> Claim:
    ratio = REFERENCE_CODE.ms / m.supa_ms if _finite(m.supa_ms) else _NAN
    return Claim(
        "speed-supa",
        f"SUPA generates a shower in about {SUPA_PAPER_MS:.0f} ms (supa Table 1); our vectorised "
        f"SUPA `paper` is to be ≥ {SUPA_GOAL:,.0f}× faster than the reference code.",
        f"Table 1: {SUPA_PAPER_MS:.0f} ms/shower; reference code: {REFERENCE_CODE}",
        f"{m.supa_ms:.3g} ms/shower (fastest batch, 1 thread): {ratio:,.3g}× faster than "
        f"the reference code's {REFERENCE_CODE.ms:.0f} ms"
        if _finite(ratio)
        else "SUPA not timed",
        verdict(ratio >= SUPA_GOAL, partly=ratio >= SUPA_GOAL / 10, measured=ratio),
    )


def _savae(m: Measured) -> Claim:
    ratio = m.gaam_ms / m.savae_ms if _finite(m.gaam_ms, m.savae_ms) else _NAN
    return Claim(
        "speed-savae-gaam",
        f"SAVAE generates showers much faster than GAAM: {SAVAE_MS['SAVAE']} vs "
        f"{SAVAE_MS['GAAM']} ms/shower, both batch-generated (savae §V).",
        f"{SAVAE_OVER_GAAM:.0f}× (GPU)",
        f"{ratio:,.0f}× at batch {m.batch} (1 CPU thread: SAVAE {m.savae_ms:.3g}, GAAM "
        f"{m.gaam_ms:.3g} ms/shower)"
        if _finite(ratio)
        else "SAVAE or GAAM not timed",
        verdict(ratio >= SAVAE_OVER_GAAM, partly=ratio >= SAVAE_OVER_GAAM / 10, measured=ratio),
    )


def _gaam(m: Measured) -> Claim:
    ms = m.gaam_middle_ms
    return Claim(
        "speed-gaam-middle",
        f"GAAM's middle layer takes {GAAM_MS['middle']} ms per shower on a GPU (gaam §5); on "
        f"one CPU thread ours is to take ≤ {GAAM_MIDDLE_GOAL_MS:.1f} ms (ten times less).",
        f"{GAAM_MS['middle']} ms/shower (GPU)",
        f"{ms:.3g} ms/shower (1 CPU thread): {GAAM_MS['middle'] / ms:.1f}× below the paper"
        if _finite(ms)
        else "GAAM not timed",
        verdict(ms <= GAAM_MIDDLE_GOAL_MS, partly=ms <= GAAM_MS["middle"], measured=ms),
    )


def _caloclouds(m: Measured) -> Claim:
    """Chapter 6's claim "cc3-speed" on the same number: ``caloclouds3.speed_ratio`` and
    ``caloclouds3.speed_verdict``, one definition for both chapters."""
    mean = speed_ratio(m.cc2_ms, m.cc3_ms)
    timed = math.isfinite(mean)
    ratios = [a / b for a, b in zip(m.cc2_ms, m.cc3_ms, strict=True)] if timed else []
    at = ", ".join(f"{e:g}" for e in m.cc_energies)
    return Claim(
        "speed-cc3-cc2",
        "CaloClouds3 is on average over six times faster than CaloClouds2, one CPU thread "
        "(caloclouds3 §6, Fig. 14).",
        f"> {CC3_OVER_CC2:.0f}× (mean over 10–100 GeV)",
        f"{mean:.2g}× with the paper's network sizes (mean over {len(ratios)} energies"
        + (f", {at} GeV" if at else "")
        + f"; range {min(ratios):.2g}–{max(ratios):.2g}×)"
        if timed
        else "CC2 or CC3 not timed",
        speed_verdict(mean),
    )


def _dvae(m: Measured) -> Claim:
    """Above half at every batch with the whole band (± 2 standard errors of the medians'
    ratio); partly when any batch's band reaches above half."""
    errors = m.gibbs_share_error or (0.0,) * len(m.gibbs_share)
    pairs = [(s, e) for s, e in zip(m.gibbs_share, errors, strict=True) if _finite(s, e)]
    margin = min((s - 2 * e for s, e in pairs), default=_NAN)  # the lowest band's lower end
    return Claim(
        "speed-dvae-gibbs",
        "CaloDVAE's generation time is dominated by the RBM's Monte-Carlo (Gibbs) sampling "
        "(calodvae checklist 3d), at every batch size.",
        "qualitative",
        "Gibbs share "
        + ", ".join(f"{s:.0%} ± {2 * e:.0%}" for s, e in pairs)
        + " (± 2 standard errors; batch 1 … largest)"
        if pairs
        else "CaloDVAE not timed",
        verdict(margin > 0.5, partly=any(s + 2 * e > 0.5 for s, e in pairs), measured=margin),
    )


def claims(m: Measured) -> list[Claim]:
    """The chapter's five claims, in the order of the papers in the book.

    Example:
        >>> rows = claims(Measured(supa_ms=0.05, savae_ms=0.05, gaam_ms=15.0, batch=64,
        ...                        gaam_middle_ms=12.0))
        >>> [c.verdict for c in rows]
        ['reproduced', 'reproduced', 'not yet run', 'reproduced', 'not yet run']
    """
    return [_savae(m), _gaam(m), _dvae(m), _supa(m), _caloclouds(m)]
