"""gaam's published generation times (§5) and the cells behind them."""

from __future__ import annotations

__all__ = ["CELLS", "GPU", "MS_PER_SHOWER"]

#: gaam §5: ms per generated shower of each layer's GAAM on a GPU (savae §V quotes the middle).
MS_PER_SHOWER = {"inner": 2040.7, "middle": 140.5, "outer": 9.6}
#: Cells of each layer's largest segmentation in gaam Table 1, (192,48), (48,48) and (24,24):
#: the paper does not say which segmentation it timed; we assume the largest.
CELLS = {"inner": 9216, "middle": 2304, "outer": 576}
#: The hardware of gaam §5's times.
GPU = "2× NVIDIA RTX 3090"
