"""Claims of the datasets chapter (01): layer energy sharing, SAVAE's condition, regrouping."""

from __future__ import annotations

from dataclasses import dataclass

from calopaper.results import Claim, verdict

__all__ = ["REGROUPING_TOLERANCE", "Measured", "claims"]

#: Largest relative difference between cells + overflow and the deposited energy that still
#: counts as "energy conserved" when regrouping.
REGROUPING_TOLERANCE = 1e-5


@dataclass(frozen=True)
class Measured:
    """What chapter 01 measured on its truth showers.

    Attributes:
        fractions: (inner, middle, outer) fraction of the deposited energy per layer.
        conditioning_vector: SAVAE's [eta-, eta+, phi-, phi+] of the (36,48)* segmentation.
        n_segmentations: number of segmentations the showers were regrouped into.
        rebin_worst: largest relative difference between cells + overflow and the deposited
            energy of a layer.
    """

    fractions: tuple[float, float, float]
    conditioning_vector: tuple[int, int, int, int]
    n_segmentations: int
    rebin_worst: float


def claims(measured: Measured) -> list[Claim]:
    """The chapter's three claims (gaam §3, savae §IV).

    Example:
        >>> rows = claims(Measured((0.3, 0.69, 0.01), (24, 12, 24, 24), 18, 1e-12))
        >>> [c.verdict for c in rows]
        ['reproduced', 'reproduced', 'reproduced']
    """
    inner, middle, outer = measured.fractions
    vector = [int(v) for v in measured.conditioning_vector]
    return [
        Claim(
            "layer-fractions",
            "The middle layer receives the largest fraction of the photon energy, the outer the "
            "least (gaam §3).",
            "qualitative",
            f"inner {inner:.1%}, middle {middle:.1%}, outer {outer:.1%}",
            verdict(middle == max(measured.fractions) and outer == min(measured.fractions)),
        ),
        Claim(
            "conditioning-vector",
            "The (36,48)* segmentation has the conditioning vector [24, 12, 24, 24] (savae §IV).",
            "[24, 12, 24, 24]",
            str(vector),
            verdict(vector == [24, 12, 24, 24]),
        ),
        Claim(
            "regrouping",
            "Fine-grained showers regroup into any segmentation without re-simulation (gaam §3).",
            "qualitative",
            f"{measured.n_segmentations} segmentations, energy conserved to "
            f"{measured.rebin_worst:.0e}",
            verdict(measured.rebin_worst < REGROUPING_TOLERANCE),
        ),
    ]
