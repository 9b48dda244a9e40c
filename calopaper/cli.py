"""The ``calopaper`` command: simulate showers, benchmark the simulators, sweep a chapter, and
render an executed run as a book page."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from dataclasses import asdict, replace
from functools import partial
from pathlib import Path

from calopaper.provenance import RECORDS

__all__ = ["main"]


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
        "--preset",
        required=True,
        help="supa: paper|reference|head|gaam|calogan; gflash: ild|calogan",
    )
    simulate.add_argument("-n", type=_positive, required=True, help="number of showers")
    simulate.add_argument("--seed", type=int, default=0)
    simulate.add_argument("-o", "--output", type=Path, required=True, help="output .h5 file")
    simulate.add_argument("--particle", help="e+, e-, gamma or (supa) pi+; default the preset's")
    simulate.add_argument("--energy", help="incident energy in GeV: 65, or a range 1:100")
    simulate.add_argument(
        "--grid", choices=["1x", "2x", "3x"], help="cell resolution of a binned format (default 1x)"
    )
    simulate.add_argument(
        "--format",
        choices=["points", "calogan", "calochallenge"],
        default="points",
        help="point clouds, the CaloGAN layout (1x, with overflow) or the CaloChallenge layout",
    )

    bench = commands.add_parser(
        "bench",
        help="time every generator of the book (ms per shower), or one simulator",
        description=(
            "Without SIMULATOR: every model and simulator of the book, timed one way (warm-up "
            "dropped, repeated calls, median and spread) over batch sizes, one thread and all, "
            "the GPU when present and incident energies; models come from the store, trained "
            "by their chapters in the profile. Writes data/results/07_speed.json (not --quick)."
        ),
    )
    bench.add_argument("simulator", nargs="?", choices=["supa", "gflash"], help="time only it")
    bench.add_argument("--preset", action="append", help="(simulator) preset(s); default all")
    bench.add_argument("-n", type=_positive, default=10000, help="(simulator) showers per call")
    bench.add_argument("--repeats", type=_positive, default=3, help="(simulator) timed calls")
    bench.add_argument("--profile", choices=["smoke", "book", "paper"], default="book")
    bench.add_argument(
        "--quick", action="store_true", help="smoke profile, batches 1 and 16, one thread"
    )
    bench.add_argument(
        "--plan",
        choices=["smoke", "book", "paper"],
        help="how long to time (bench.PLANS); default: the profile's",
    )
    bench.add_argument("--only", action="append", metavar="FAMILY", help="e.g. GAAM, SUPA")
    bench.add_argument("--batch", type=_positive, nargs="+", help="batch sizes to time")
    bench.add_argument("--device", default="auto", help="auto (CPU and GPU if any), cpu, cuda")
    bench.add_argument("--train", action="store_true", help="train models missing from the store")
    bench.add_argument("--json", action="store_true", help="print the result as JSON")
    bench.add_argument(
        "--record",
        metavar="DIR",
        help="(GPU) also write the result as a record DIR/<gpu>-<commit>.json (book/records)",
    )

    sweep = commands.add_parser(
        "sweep",
        help="run a chapter over a grid of parameters (Dask: local, a scheduler, SLURM, HTCondor)",
        usage=(
            "calopaper sweep NOTEBOOK -p NAME V1 [V2 ...] [-p ...] [--name NAME] [--workers N] "
            "[--scheduler ADDRESS | --cluster {slurm,htcondor} [--cluster-option KEY=VALUE ...]]"
            "\n       calopaper sweep summary NAME [--html]"
        ),
        description=(
            "Each point of the cartesian product of the values is one papermill run of the "
            "notebook, executed as a Dask task; outputs go to data/sweeps/NAME/RUN/. A rerun "
            "skips the runs that are done. `calopaper sweep summary NAME` prints one row per run."
        ),
    )
    sweep.add_argument("notebook", help="chapter (e.g. 02_savae) or notebook path; or `summary`")
    sweep.add_argument("summary_name", nargs="?", metavar="NAME", help="(summary) the sweep")
    sweep.add_argument(
        "--html", action="store_true", help="(summary) also render the runs and the table as pages"
    )
    sweep.add_argument(
        "-p",
        "--parameter",
        nargs="+",
        action="append",
        default=[],
        metavar=("NAME", "VALUE"),
        help="a parameter and its values (Python literals, else strings), e.g. -p beta 1e-5 1e-4",
    )
    sweep.add_argument("--name", help="the sweep's name (default: CHAPTER-PARAMETERS)")
    sweep.add_argument(
        "--workers",
        type=_positive,
        metavar="N",
        help="local worker processes (default: one per core), or the most cluster jobs at once",
    )
    where = sweep.add_mutually_exclusive_group()
    where.add_argument("--scheduler", metavar="ADDRESS", help="a running Dask scheduler")
    where.add_argument("--cluster", choices=["slurm", "htcondor"], help="submit batch jobs")
    sweep.add_argument(
        "--cluster-option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="dask-jobqueue option, e.g. cores=4 memory=16GB walltime=02:00:00 account=...",
    )
    seeds = commands.add_parser(
        "seeds",
        help="compare the book's verdicts with those of runs with every seed shifted",
        description=(
            "Reads the book's results in BOOK (a data folder) and those of the chapters run "
            "with CALOPAPER_SEED_OFFSET in each SHIFTED folder, and prints every model "
            "claim's verdict in each build, how many keep theirs in every build, how often two "
            "builds agree, the flips between reproduced and not reproduced, and the partly "
            "counts."
        ),
    )
    seeds.add_argument("book", type=Path, help="data folder of the book's build")
    seeds.add_argument(
        "shifted", type=Path, nargs="+", help="data folders of the runs with shifted seeds"
    )
    seeds.add_argument(
        "--offset",
        type=int,
        nargs="+",
        help="each SHIFTED run's seed offset, in their order (default 1, 2, ...)",
    )
    seeds.add_argument(
        "--record",
        type=Path,
        nargs="?",
        const=RECORDS,
        metavar="FOLDER",
        help="also write the check as FOLDER/seeds-<commit>.json, which the introduction shows "
        "(default FOLDER: book/records, committed with the book)",
    )
    page = commands.add_parser(
        "page",
        help="render an executed notebook (a papermill run) as a page of the book",
        description=(
            "Builds the executed notebooks with the book's configuration (bibliography, "
            "MathJax served from the build, hidden inputs, the appendices beside them), "
            "executing nothing; the first notebook is the front page."
        ),
    )
    page.add_argument("notebooks", nargs="+", type=Path, help="executed .ipynb files")
    page.add_argument("--out", type=Path, help="build folder (default: NOTEBOOK's _build/STEM)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "simulate":
        return _simulate(args)
    elif args.command == "sweep":
        return _sweep(args)
    elif args.command == "page":
        return _page(args.notebooks, args.out)
    elif args.command == "seeds":
        return _seeds(args.book, args.shifted, args.offset, args.record)
    elif args.simulator is not None:
        return _time_simulator(args)
    try:
        return _bench(args)
    except ValueError as e:
        raise SystemExit(f"calopaper bench: {e}") from None


def _time_simulator(args: argparse.Namespace) -> int:
    """``calopaper bench SIMULATOR``: ms/shower of each ``--preset`` (default: every one)."""
    from calopaper.sim import gflash, supa
    from calopaper.timing import time_per_shower
    from calopaper.truth import presets

    sim, table = supa if args.simulator == "supa" else gflash, presets(args.simulator)
    for preset in args.preset or sorted(table):
        if preset not in table:
            msg = f"unknown {args.simulator} preset {preset!r}; expected one of {sorted(table)}"
            raise SystemExit(msg)
        generate = partial(sim.simulate, table[preset], seed=0)
        timing = time_per_shower(generate, args.n, repeats=args.repeats)
        print(f"{args.simulator}/{preset}: {timing}")
    return 0


def _bench(args: argparse.Namespace) -> int:
    """``calopaper bench``: time every generator of the profile (``--quick``: the smoke plan, CPU
    only), print the summary table or (``--json``) the whole result; a full run also writes
    ``data/results/07_speed.json`` with the speed claims. ``--record``: write a GPU record
    instead (``bench.records``); ``--plan``: the timing plan of another profile."""
    if args.record and not args.device.startswith("cuda"):
        msg = f"--record needs --device cuda (a GPU record), got --device {args.device}"
        raise ValueError(msg)
    import pandas as pd

    from calopaper.bench import PLANS, measure, plan_of, records, report
    from calopaper.claims.speed import claims
    from calopaper.results import write_results

    profile = "smoke" if args.quick else args.profile
    timing = PLANS["smoke"] if args.quick else PLANS[args.plan] if args.plan else plan_of(profile)
    if args.batch:
        timing = replace(timing, batches=tuple(sorted(set(args.batch))))
    device = "cpu" if args.quick else args.device
    result = measure(
        profile, timing, device=device, train=args.train, only=args.only, progress=not args.json
    )
    table = report.summary(result)
    found = claims(report.measured(result))
    if args.json:
        print(json.dumps(result | {"claims": [asdict(c) for c in found]}, default=str))
    else:
        with pd.option_context("display.width", 200, "display.max_colwidth", 60):
            print(table.to_string(index=False, float_format=lambda x: f"{x:.4g}"))
        for claim in found:
            print(f"{claim.id}: {claim.ours} -> {claim.verdict}")
    if args.record:
        path = records.write(records.record(result, args.device, profile), Path(args.record))
        print(f"bench: GPU record written to {path}", file=sys.stderr)
    elif not args.quick and not args.only:
        from calopaper.provenance import collect

        parameters = {"profile": profile, "plan": args.plan or profile, "device": args.device}
        tables = {"bench": result, "summary": table.to_dict("records")}
        command = {"command": "calopaper bench"}  # a run not made by the book's chapter 7
        write_results("07_speed", found, tables, provenance=collect(parameters, command))
    return 0


def _simulate(args: argparse.Namespace) -> int:
    """``calopaper simulate``: check the request, simulate with a progress bar, write the file."""
    from calopaper.export import Request, parse_energy

    try:
        energy = None if args.energy is None else parse_energy(args.energy)
        request = Request(
            args.simulator, args.preset, args.particle, energy, args.grid, args.format
        )
        clouds = request.simulate(args.n, args.seed, progress=True)
        request.write(args.output, clouds)
    except ValueError as e:
        raise SystemExit(f"calopaper simulate: {e}") from None
    print(
        f"wrote {len(clouds)} {args.simulator}/{args.preset} showers ({request.description}) "
        f"to {args.output}"
    )
    return 0


def _sweep(args: argparse.Namespace) -> int:
    """``calopaper sweep``: run a sweep, or print a sweep's summary; one-line errors."""
    from calopaper import sweep

    try:
        if args.notebook == "summary":
            return _print_summary(args.summary_name, args.html)
        if args.summary_name is not None:
            msg = f"unexpected argument {args.summary_name!r}; parameters go after -p NAME"
            raise sweep.SweepError(msg)
        plan = sweep.plan(args.notebook, sweep.parse_grid(args.parameter), name=args.name)
        options = sweep.parse_options(args.cluster_option)
        if options and not args.cluster:
            msg = "--cluster-option needs --cluster slurm or --cluster htcondor"
            raise sweep.SweepError(msg)
        todo = plan.todo()
        where = args.scheduler or args.cluster or "this machine"
        print(
            f"sweep {plan.name}: {len(plan.runs)} runs of {plan.chapter}, "
            f"{len(plan.runs) - len(todo)} already done, {len(todo)} to run on {where}; "
            f"outputs in {plan.folder}"
        )
        with _client(args, options, len(todo)) as client:
            frame = plan.run(client, workers=args.workers)
    except sweep.SweepError as e:
        raise SystemExit(f"calopaper sweep: {e}") from None
    except KeyboardInterrupt:
        print("interrupted: finished runs are kept; rerun the same command to resume")
        return 130
    frame = frame[frame["run"].isin([r.id for r in plan.runs])]
    failed = frame[frame["status"] != "done"]
    print(
        f"{len(frame) - len(failed)} of {len(frame)} runs done; the table: calopaper sweep "
        f"summary {plan.name}"
    )
    for row in failed.itertuples():
        print(f"failed: {row.run}: {row.error} (notebook: {row.notebook})")
    return 1 if len(failed) else 0


@contextlib.contextmanager
def _client(args: argparse.Namespace, options: dict, n_runs: int):
    """A Dask client of ``--scheduler`` or ``--cluster``; ``None`` (a local cluster) otherwise."""
    if not (args.scheduler or args.cluster) or n_runs == 0:
        yield None
        return
    from distributed import Client

    from calopaper.sweep import jobqueue_cluster

    with contextlib.ExitStack() as stack:
        target = args.scheduler
        if args.cluster:
            jobs = args.workers or n_runs
            target = stack.enter_context(jobqueue_cluster(args.cluster, options, jobs))
        yield stack.enter_context(Client(target))


def _print_summary(name: str | None, html: bool = False) -> int:
    from calopaper.sweep import SweepError, summary

    if name is None:
        raise SweepError("usage: calopaper sweep summary NAME [--html]")
    frame = summary(name)
    table = frame.drop(columns=["notebook", "results"])
    print(table.to_string(index=False))
    if html:
        runs = [n for n in frame["notebook"] if n is not None]
        if not runs:
            raise SweepError(f"sweep {name} has no executed run to render yet")
        out = Path(runs[0]).parents[1] / "_build"
        return _page(runs, out, title=f"Sweep {name}", table=table)
    return 0


def _seeds(book: Path, shifted: list[Path], offsets: list[int] | None, record: Path | None) -> int:
    """``calopaper seeds``: the seed-shift check, a row per model claim, a summary line and
    what more seeds would buy (``rebuilds.expected_agreement``); ``--record``: also written as
    a record for the book (``rebuilds.write_record``)."""
    import pandas as pd

    from calopaper.rebuilds import agreement_line, expected_agreement, seed_record, write_record

    offsets = offsets or list(range(1, len(shifted) + 1))
    if len(offsets) != len(shifted) or 0 in offsets or len(set(offsets)) < len(offsets):
        msg = f"give one distinct non-zero --offset per SHIFTED folder, got {offsets}"
        raise SystemExit(f"calopaper seeds: {msg} for {len(shifted)}")
    builds = dict(zip(offsets, shifted, strict=True))
    try:
        checked = seed_record(book, builds)
    except FileNotFoundError as e:
        raise SystemExit(f"calopaper seeds: {e}") from None
    with pd.option_context("display.width", 200, "display.max_rows", None):
        print(pd.DataFrame(checked["claims"]).to_string(index=False))
    print(checked["summary"])
    if checked["noise"]:
        print(agreement_line(expected_agreement(checked)))
    if record is not None:
        print(f"recorded in {write_record(checked, record)}")
    return 0


def _page(notebooks: list[Path], out: Path | None, **front) -> int:
    """Render executed notebooks as book pages and print where the front page is."""
    from calopaper.page import render

    try:
        index = render(notebooks, out, **front)
    except (FileNotFoundError, RuntimeError) as e:
        raise SystemExit(f"calopaper page: {e}") from None
    print(f"the page is at {index}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
