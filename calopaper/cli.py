"""The ``calopaper`` command: simulate showers and benchmark the simulators."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

__all__ = ["main"]


def _simulator(name: str, preset: str):
    """Return ``generate(n, seed) -> PointClouds`` for a simulator preset."""
    if name == "supa":
        from calopaper.sim import supa

        table, run = supa.PRESETS, supa.simulate
    else:
        from calopaper.sim import gflash

        table, run = gflash.CALORIMETERS, gflash.simulate
    if preset not in table:
        msg = f"unknown {name} preset {preset!r}; expected one of {sorted(table)}"
        raise SystemExit(msg)
    config = table[preset]
    return lambda n, seed=0: run(config, n, seed=seed)


def _positive(text: str) -> int:
    value = int(text)
    if value <= 0:
        msg = f"expected a positive integer, got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="calopaper", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    simulate = commands.add_parser("simulate", help="simulate showers into a point-cloud HDF5 file")
    simulate.add_argument("simulator", choices=["supa", "gflash"])
    simulate.add_argument(
        "--preset", required=True, help="supa: paper|gaam|calogan; gflash: ild|calogan"
    )
    simulate.add_argument("-n", type=_positive, required=True, help="number of showers")
    simulate.add_argument("--seed", type=int, default=0)
    simulate.add_argument("-o", "--output", type=Path, required=True, help="output .h5 file")

    bench = commands.add_parser("bench", help="time a simulator (ms per shower)")
    bench.add_argument("simulator", choices=["supa", "gflash"])
    bench.add_argument("--preset", action="append", help="preset(s) to time; default all")
    bench.add_argument("-n", type=_positive, default=10000, help="showers per timed call")
    bench.add_argument("--repeats", type=_positive, default=3)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "simulate":
        from calopaper.datasets import write_points

        clouds = _simulator(args.simulator, args.preset)(args.n, args.seed)
        write_points(args.output, clouds)
        print(f"wrote {len(clouds)} {args.simulator}/{args.preset} showers to {args.output}")
    elif args.command == "bench":
        from calopaper.timing import time_per_shower

        presets = args.preset or _all_presets(args.simulator)
        for preset in presets:
            generate = _simulator(args.simulator, preset)
            timing = time_per_shower(generate, args.n, repeats=args.repeats)
            print(f"{args.simulator}/{preset}: {timing}")
    return 0


def _all_presets(name: str) -> list[str]:
    if name == "supa":
        from calopaper.sim.supa import PRESETS
    else:
        from calopaper.sim.gflash import CALORIMETERS as PRESETS
    return sorted(PRESETS)


if __name__ == "__main__":
    sys.exit(main())
