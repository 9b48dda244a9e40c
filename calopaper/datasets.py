"""HDF5 read/write for point clouds, cell images, the CaloGAN and CaloChallenge layouts, and the
sample sets a chapter publishes (``CellSamples``).

Four layouts are understood (book/conventions.md, "Units and data formats"); ``detect_layout``
tells them apart.

- ``"points"`` (calopaper, ``format = "calopaper-points-v1"``): ``points`` (P, 4) float32 =
  (eta [mm], phi [mm], z [mm] or layer index, E [MeV]), ``offsets`` (N+1,) int64,
  ``incident_energy`` (N,) GeV, ``incident_direction`` (N, 3), ``particle`` (N,) int32 PDG.
- ``"cells"`` (calopaper, ``format = "calopaper-cells-v1"``): one dataset per layer name,
  (N, n_cells) float32 MeV, the ``Segmentation`` JSON in its ``segmentation`` attribute, and
  ``incident_energy`` (N,) GeV.
- ``"calogan"``: ``layer_0`` (N, 3, 96), ``layer_1`` (N, 12, 12), ``layer_2`` (N, 12, 6) MeV,
  ``energy`` (N, 1) GeV and optionally ``overflow`` (N, 3) MeV, as in the CaloGAN Geant4 files.
- ``"calochallenge"``: ``incident_energies`` (N, 1) and ``showers`` (N, n_voxels), both MeV.

File attributes of the calopaper layouts hold the generator config and provenance
(``calopaper_version``); str, int, float and bool values are stored as HDF5 attributes, other
values (dicts, lists) as JSON strings listed in the ``json_attrs`` attribute and decoded on read.
Our own layouts are compressed with lzf (fast); CaloGAN-layout files with gzip, which every HDF5
reader understands. All writes are atomic (``store.atomic_write``). A missing, truncated or
non-HDF5 file, or one without the expected datasets, raises ``DatasetError``.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np

import calopaper
from calopaper import geometry
from calopaper.geometry import Segmentation
from calopaper.showers import PointClouds
from calopaper.store import atomic_write

__all__ = [
    "CellSamples",
    "CALOGAN_SHAPES",
    "CellImages",
    "DatasetError",
    "FORMAT_CELLS",
    "FORMAT_POINTS",
    "clouds_to_calogan",
    "detect_layout",
    "open_h5",
    "read_calochallenge",
    "write_calochallenge",
    "read_calogan",
    "read_cells",
    "read_points",
    "write_calogan",
    "write_cells",
    "write_points",
]

FORMAT_POINTS = "calopaper-points-v1"
FORMAT_CELLS = "calopaper-cells-v1"

#: (n_eta, n_phi) of each CaloGAN layer dataset.
CALOGAN_SHAPES = {"layer_0": (3, 96), "layer_1": (12, 12), "layer_2": (12, 6)}

_RESERVED_ATTRS = ("format", "calopaper_version", "json_attrs")
_POINT_FIELDS = ("points", "offsets", "incident_energy", "incident_direction", "particle")

_EXPECT_POINTS = (
    "datasets points (P,4), offsets (N+1,), incident_energy (N,), incident_direction (N,3), "
    "particle (N,) [calopaper point clouds]"
)
_EXPECT_CELLS = (
    "per-layer datasets (N,n_cells) with a 'segmentation' attribute and incident_energy (N,) "
    "[calopaper cell images]"
)
_EXPECT_CALOGAN = (
    "datasets layer_0 (N,3,96), layer_1 (N,12,12), layer_2 (N,12,6), energy (N,1) [CaloGAN layout]"
)
_EXPECT_CALOCHALLENGE = "datasets incident_energies (N,1), showers (N,n_voxels) [CaloChallenge]"
_EXPECT_ANY = "; or ".join([_EXPECT_POINTS, _EXPECT_CELLS, _EXPECT_CALOGAN, _EXPECT_CALOCHALLENGE])


class DatasetError(ValueError):
    """A file that is missing, unreadable, or not in the layout it was read as."""


@dataclass
class CellImages:
    """Cell images of one or more layers, each with its segmentation.

    Attributes:
        layers: layer name -> (N, n_eta, n_phi) float32 cell energies, MeV.
        segmentations: layer name -> ``Segmentation`` of that layer.
        incident_energy: (N,) float32, GeV.
        attrs: file attributes (generator/model config, ``calopaper_version``).
    """

    layers: dict[str, np.ndarray]
    segmentations: dict[str, Segmentation]
    incident_energy: np.ndarray
    attrs: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.incident_energy)


@contextlib.contextmanager
def open_h5(path: str | os.PathLike, expected: str = "any layout") -> Iterator[h5py.File]:
    """Open ``path`` read-only; turn every way it can fail into a ``DatasetError``.

    Args:
        path: the HDF5 file.
        expected: what the caller wanted to find, quoted in error messages.

    Yields:
        The open ``h5py.File``; an ``OSError`` raised while reading it (e.g. a truncated
        dataset) also becomes a ``DatasetError``.

    Raises:
        DatasetError: missing file, non-HDF5 or truncated file, unreadable data.
    """
    path = Path(path)
    if not path.is_file():
        msg = f"{path}: no such file; expected an HDF5 file ({expected})"
        raise DatasetError(msg)
    try:
        f = h5py.File(path, "r")
    except OSError as err:
        msg = f"{path}: not a readable HDF5 file, or truncated ({err}); expected {expected}"
        raise DatasetError(msg) from err
    with f:
        try:
            yield f
        except OSError as err:
            msg = f"{path}: reading failed ({err}); the file may be truncated or corrupt"
            raise DatasetError(msg) from err


def detect_layout(path: str | os.PathLike) -> str:
    """Which layout ``path`` holds: ``"points"``, ``"cells"``, ``"calogan"`` or ``"calochallenge"``.

    Raises:
        DatasetError: unreadable file, an unknown calopaper format version, or none of the four
            layouts.
    """
    with open_h5(path, _EXPECT_ANY) as f:
        return _layout(f, Path(path))


def _layout(f: h5py.File, path: Path) -> str:
    fmt = f.attrs.get("format")
    if fmt is not None and str(fmt).startswith("calopaper-"):
        layouts = {FORMAT_POINTS: "points", FORMAT_CELLS: "cells"}
        if fmt not in layouts:
            msg = f"{path}: unsupported format {fmt!r}; expected one of {list(layouts)}"
            raise DatasetError(msg)
        return layouts[fmt]
    keys = set(f.keys())
    if {"points", "offsets"} <= keys:
        return "points"
    if set(CALOGAN_SHAPES) | {"energy"} <= keys:
        return "calogan"
    if {"incident_energies", "showers"} <= keys:
        return "calochallenge"
    if "incident_energy" in keys and _cell_layer_names(f):
        return "cells"
    msg = f"{path}: unknown layout with datasets {sorted(keys)}; expected {_EXPECT_ANY}"
    raise DatasetError(msg)


def _cell_layer_names(f: h5py.File) -> list[str]:
    return [k for k, v in f.items() if isinstance(v, h5py.Dataset) and "segmentation" in v.attrs]


def _require(
    f: h5py.File, path: Path, shapes: dict[str, tuple], expected: str
) -> dict[str, np.ndarray]:
    """Read the datasets ``shapes`` names; a str entry is a size shared by all that name it."""
    missing = [k for k in shapes if not isinstance(f.get(k), h5py.Dataset)]
    if missing:
        msg = f"{path}: missing datasets {missing} (found {sorted(f.keys())}); expected {expected}"
        raise DatasetError(msg)
    sizes: dict[str, int] = {}
    for key, shape in shapes.items():
        actual = f[key].shape
        ok = len(actual) == len(shape)
        for want, got in zip(shape, actual, strict=False):
            ok = ok and (sizes.setdefault(want, got) if isinstance(want, str) else want) == got
        if not ok:
            want = ",".join(f"{w}={sizes[w]}" if w in sizes else str(w) for w in shape)
            msg = f"{path}: dataset {key} has shape {actual}, not ({want}); expected {expected}"
            raise DatasetError(msg)
    return {key: f[key][()] for key in shapes}


def _column(f: h5py.File, key: str) -> tuple:
    """Shape spec of a per-shower scalar stored as (N, 1) or (N,)."""
    return ("N",) if isinstance(f.get(key), h5py.Dataset) and f[key].ndim == 1 else ("N", 1)


def _dataset(f: h5py.File, name: str, data: np.ndarray, compression: str = "lzf") -> h5py.Dataset:
    opts = {"compression": compression, "shuffle": True} if data.size else {}
    if compression == "gzip" and data.size:
        opts["compression_opts"] = 4
    return f.create_dataset(name, data=data, **opts)


def _write_attrs(obj: h5py.File, attrs: dict) -> None:
    json_keys = []
    for key, value in attrs.items():
        if key in _RESERVED_ATTRS:
            continue
        if isinstance(value, np.generic):
            value = value.item()
        if not isinstance(value, str | int | float | bool):
            try:
                value = json.dumps(value, default=_json_default)
            except TypeError as err:
                msg = f"attribute {key!r} = {value!r} is not JSON-serialisable"
                raise TypeError(msg) from err
            json_keys.append(key)
        obj.attrs[key] = value
    obj.attrs["json_attrs"] = json.dumps(json_keys)
    obj.attrs["calopaper_version"] = calopaper.__version__


def _json_default(value: object) -> object:
    if isinstance(value, np.ndarray | np.generic):
        return value.tolist()
    raise TypeError(type(value).__name__)


def _read_attrs(obj: h5py.File) -> dict:
    json_keys = set(json.loads(obj.attrs.get("json_attrs", "[]")))
    attrs = {}
    for key, value in obj.attrs.items():
        if key in ("format", "json_attrs"):
            continue
        if isinstance(value, np.generic):
            value = value.item()
        elif isinstance(value, np.ndarray):
            value = value.tolist()
        attrs[key] = json.loads(value) if key in json_keys else value
    return attrs


def write_points(path: str | os.PathLike, clouds: PointClouds) -> None:
    """Write point clouds to ``path`` in the ``calopaper-points-v1`` layout (atomically).

    Args:
        path: target HDF5 file (parent directories are created).
        clouds: the showers; ``clouds.attrs`` become file attributes.
    """
    with atomic_write(path) as tmp, h5py.File(tmp, "w") as f:
        for name in _POINT_FIELDS:
            _dataset(f, name, getattr(clouds, name))
        f["points"].attrs["columns"] = "eta [mm], phi [mm], z [mm] or layer index, E [MeV]"
        f["incident_energy"].attrs["unit"] = "GeV"
        _write_attrs(f, clouds.attrs)
        f.attrs["format"] = FORMAT_POINTS


def read_points(path: str | os.PathLike) -> PointClouds:
    """Read point clouds written by ``write_points`` (or any file with those datasets).

    Returns:
        ``PointClouds`` with the file attributes (minus ``format``) as ``attrs``.

    Raises:
        DatasetError: unreadable file or missing/misshapen datasets.
    """
    path = Path(path)
    with open_h5(path, _EXPECT_POINTS) as f:
        data = _require(
            f,
            path,
            {
                "points": ("P", 4),
                "offsets": ("N+1",),
                "incident_energy": ("N",),
                "incident_direction": ("N", 3),
                "particle": ("N",),
            },
            _EXPECT_POINTS,
        )
        attrs = _read_attrs(f)
    try:
        return PointClouds(**data, attrs=attrs)
    except ValueError as err:
        msg = f"{path}: inconsistent point clouds ({err}); expected {_EXPECT_POINTS}"
        raise DatasetError(msg) from err


def write_cells(
    path: str | os.PathLike,
    layers: dict[str, np.ndarray],
    segmentations: dict[str, Segmentation],
    incident_energy: np.ndarray,
    attrs: dict | None = None,
) -> None:
    """Write cell images of any segmentation in the ``calopaper-cells-v1`` layout (atomically).

    Args:
        path: target HDF5 file.
        layers: layer name -> (N, n_eta, n_phi) or (N, n_cells) cell energies, MeV; stored as
            (N, n_cells) float32, row-major over (n_eta, n_phi).
        segmentations: layer name -> ``Segmentation``; same names as ``layers``.
        incident_energy: (N,) GeV.
        attrs: extra file attributes (e.g. the config of the model that produced the images).

    Raises:
        ValueError: mismatched layer names, shapes or shower counts, or a reserved layer name.
    """
    incident_energy = np.asarray(incident_energy, dtype=np.float32).reshape(-1)
    if set(layers) != set(segmentations):
        msg = f"layers {sorted(layers)} and segmentations {sorted(segmentations)} differ"
        raise ValueError(msg)
    flat = {}
    for name, images in layers.items():
        if name == "incident_energy" or "/" in name or not name:
            msg = f"layer name {name!r} is reserved or invalid; use e.g. 'layer_0'"
            raise ValueError(msg)
        images = np.asarray(images, dtype=np.float32)
        seg = segmentations[name]
        n = len(incident_energy)
        if images.shape not in ((n, *seg.shape), (n, seg.n_cells)):
            msg = (
                f"layer {name!r} has shape {images.shape}; expected ({n}, {seg.shape[0]}, "
                f"{seg.shape[1]}) or ({n}, {seg.n_cells}) for segmentation {seg} and {n} showers"
            )
            raise ValueError(msg)
        flat[name] = images.reshape(n, seg.n_cells)
    with atomic_write(path) as tmp, h5py.File(tmp, "w", track_order=True) as f:
        for name, images in flat.items():
            _dataset(f, name, images).attrs["segmentation"] = segmentations[name].to_json()
        _dataset(f, "incident_energy", incident_energy).attrs["unit"] = "GeV"
        _write_attrs(f, attrs or {})
        f.attrs["format"] = FORMAT_CELLS


def read_cells(path: str | os.PathLike) -> CellImages:
    """Read cell images written by ``write_cells``; layers come back as (N, n_eta, n_phi).

    Raises:
        DatasetError: unreadable file, no layers, or shapes that contradict the segmentation.
    """
    path = Path(path)
    with open_h5(path, _EXPECT_CELLS) as f:
        names = _cell_layer_names(f)
        if not names:
            msg = f"{path}: no dataset carries a 'segmentation' attribute; expected {_EXPECT_CELLS}"
            raise DatasetError(msg)
        shapes = {name: ("N", f"n_cells[{name}]") for name in names}
        data = _require(f, path, {**shapes, "incident_energy": ("N",)}, _EXPECT_CELLS)
        segmentations = {}
        for name in names:
            try:
                segmentations[name] = Segmentation.from_json(f[name].attrs["segmentation"])
            except (ValueError, TypeError, KeyError) as err:
                msg = f"{path}: layer {name!r} has an unreadable segmentation attribute ({err})"
                raise DatasetError(msg) from err
        attrs = _read_attrs(f)
    layers = {}
    for name, seg in segmentations.items():
        if data[name].shape[1] != seg.n_cells:
            msg = (
                f"{path}: layer {name!r} has {data[name].shape[1]} cells but its segmentation "
                f"{seg} has {seg.n_cells}"
            )
            raise DatasetError(msg)
        layers[name] = data[name].astype(np.float32).reshape(-1, *seg.shape)
    incident = data["incident_energy"].astype(np.float32)
    return CellImages(layers, segmentations, incident, attrs)


def read_calogan(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Read a CaloGAN-layout file (real Geant4 or written by ``write_calogan``).

    Returns:
        ``"layer_0"`` (N, 3, 96), ``"layer_1"`` (N, 12, 12), ``"layer_2"`` (N, 12, 6) cell
        energies in MeV, ``"energy"`` (N,) incident energy in GeV (the file's (N, 1) flattened)
        and, when the file has it, ``"overflow"`` (N, 3) MeV outside the grid per layer. All
        arrays are float32 whatever the stored dtype (the Geant4 files store float64).

    Raises:
        DatasetError: unreadable file, missing datasets or wrong shapes.
    """
    path = Path(path)
    shapes: dict[str, tuple] = {k: ("N", *s) for k, s in CALOGAN_SHAPES.items()}
    with open_h5(path, _EXPECT_CALOGAN) as f:
        shapes["energy"] = _column(f, "energy")
        if "overflow" in f:
            shapes["overflow"] = ("N", 3)
        data = _require(f, path, shapes, _EXPECT_CALOGAN)
    data["energy"] = data["energy"].reshape(-1)
    return {k: v.astype(np.float32) for k, v in data.items()}


def write_calogan(
    path: str | os.PathLike,
    layers: dict[str, np.ndarray],
    energy: np.ndarray,
    overflow: np.ndarray | None = None,
) -> None:
    """Write showers in the CaloGAN layout (float32, gzip), readable by ``read_calogan``.

    Args:
        path: target HDF5 file.
        layers: ``"layer_0"`` (N, 3, 96), ``"layer_1"`` (N, 12, 12), ``"layer_2"`` (N, 12, 6),
            MeV. The ``"energy"`` and ``"overflow"`` entries of a ``read_calogan`` or
            ``clouds_to_calogan`` dict are ignored here (pass them as arguments).
        energy: (N,) or (N, 1) incident energy, GeV; stored as (N, 1).
        overflow: (N, 3) MeV outside each layer's grid; zeros when None.

    Raises:
        ValueError: missing or unknown layer names, wrong shapes.
    """
    energy = np.asarray(energy, dtype=np.float32).reshape(-1, 1)
    n = len(energy)
    unknown = set(layers) - set(CALOGAN_SHAPES) - {"energy", "overflow"}
    missing = set(CALOGAN_SHAPES) - set(layers)
    if unknown or missing:
        msg = f"layers: missing {sorted(missing)}, unknown {sorted(unknown)}; {_EXPECT_CALOGAN}"
        raise ValueError(msg)
    data = {}
    for name, shape in CALOGAN_SHAPES.items():
        data[name] = np.asarray(layers[name], dtype=np.float32)
        if data[name].shape != (n, *shape):
            msg = f"{name} has shape {data[name].shape}; expected {(n, *shape)} for {n} showers"
            raise ValueError(msg)
    overflow = np.zeros((n, 3), np.float32) if overflow is None else overflow
    data["overflow"] = np.asarray(overflow, dtype=np.float32)
    if data["overflow"].shape != (n, 3):
        msg = f"overflow has shape {data['overflow'].shape}; expected {(n, 3)}"
        raise ValueError(msg)
    data["energy"] = energy
    with atomic_write(path) as tmp, h5py.File(tmp, "w") as f:
        for name, values in data.items():
            _dataset(f, name, values, compression="gzip")


def write_calochallenge(
    path: str | os.PathLike, energy: np.ndarray, showers: np.ndarray, attrs: dict | None = None
) -> None:
    """Write showers in the CaloChallenge layout, readable by ``read_calochallenge``.

    Args:
        path: target HDF5 file.
        energy: (N,) incident energies, **GeV** (stored as (N, 1) MeV, the layout's unit).
        showers: (N, n_voxels) voxel energies, MeV.
        attrs: file attributes (e.g. the voxels' geometry), JSON-encoded when not scalar.

    Raises:
        ValueError: shapes that do not match.
    """
    energy = np.asarray(energy, dtype=np.float32).reshape(-1, 1)
    showers = np.asarray(showers, dtype=np.float32)
    if showers.ndim != 2 or len(showers) != len(energy):
        msg = f"showers of shape {showers.shape} for {len(energy)} energies; expected (N, n_voxels)"
        raise ValueError(msg)
    with atomic_write(path) as tmp, h5py.File(tmp, "w") as f:
        _dataset(f, "incident_energies", energy * 1000.0, compression="gzip")
        _dataset(f, "showers", showers, compression="gzip")
        _write_attrs(f, attrs or {})


def read_calochallenge(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """Read a CaloChallenge-layout file.

    Returns:
        ``incident_energies`` (N,) float32 in **GeV** (the files store MeV; divided by 1000 to
        follow calopaper's units) and ``showers`` (N, n_voxels) float32 voxel energies, MeV.

    Raises:
        DatasetError: unreadable file, missing datasets or wrong shapes.
    """
    path = Path(path)
    with open_h5(path, _EXPECT_CALOCHALLENGE) as f:
        shapes = {"incident_energies": _column(f, "incident_energies"), "showers": ("N", "V")}
        data = _require(f, path, shapes, _EXPECT_CALOCHALLENGE)
    energies = data["incident_energies"].reshape(-1).astype(np.float32) / 1000.0
    return energies, data["showers"].astype(np.float32)


def clouds_to_calogan(clouds: PointClouds) -> dict[str, np.ndarray]:
    """Rebin layered point clouds (column 2 = readout layer 0, 1, 2) into the CaloGAN cells.

    Each layer's points go through ``geometry.rebin`` with ``geometry.CALOGAN[layer]``;
    energy outside a layer's 480 x 480 mm grid lands in ``"overflow"``.

    Args:
        clouds: showers from a layered simulator (SUPA ``calogan`` preset, gflash).

    Returns:
        The ``read_calogan`` dict: ``layer_0`` (N, 3, 96), ``layer_1`` (N, 12, 12),
        ``layer_2`` (N, 12, 6), ``overflow`` (N, 3), all float32 MeV, and ``energy`` (N,) GeV.
        Per shower, cells plus overflow sum to the point energies (float32 precision).

    Raises:
        ValueError: points whose layer column is not 0, 1 or 2.
    """
    layer = clouds.points[:, 2]
    bad = ~np.isin(layer, (0, 1, 2))
    if bad.any():
        msg = (
            f"clouds_to_calogan needs readout-layer indices 0, 1, 2 in points[:, 2]; found "
            f"{np.unique(layer[bad])[:5].tolist()} (point clouds with z in mm are not layered)"
        )
        raise ValueError(msg)
    event = clouds.event_index
    n = len(clouds)
    out: dict[str, np.ndarray] = {}
    overflow = np.zeros((n, 3), np.float32)
    for index in range(3):
        mask = layer == index
        counts = np.bincount(event[mask], minlength=n)
        offsets = np.concatenate([[0], np.cumsum(counts)])
        eta, phi, _, energy = clouds.points[mask].T
        cells, outside = geometry.rebin(eta, phi, energy, offsets, geometry.CALOGAN[index])
        out[f"layer_{index}"] = cells.astype(np.float32)
        overflow[:, index] = outside
    out["overflow"] = overflow
    out["energy"] = clouds.incident_energy.astype(np.float32)
    return out


@dataclass(frozen=True)
class CellSamples:
    """A sample set of cell images, as ``publish`` writes it (``datasets.write_cells``).

    Attributes:
        layers: layer name -> (N, n_eta, n_phi) or (N, n_cells) energies, MeV.
        segmentations: layer name -> ``Segmentation`` (or its notation, e.g. ``"36x48*"``).
        incident_energy: (N,) GeV, or one value for every shower.
        attrs: what produced the samples (model, config, seed...).
    """

    layers: Mapping[str, np.ndarray]
    segmentations: Mapping[str, Segmentation | str]
    incident_energy: np.ndarray | float
    attrs: dict = field(default_factory=dict)

    def write(self, path: Path) -> None:
        n = len(next(iter(self.layers.values())))
        energy = np.broadcast_to(np.asarray(self.incident_energy, dtype=float), (n,))
        segmentations = {k: Segmentation.parse(s) for k, s in self.segmentations.items()}
        write_cells(path, dict(self.layers), segmentations, energy, attrs=self.attrs)
