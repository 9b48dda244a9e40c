"""The seed check: the book's model claims beside builds with every seed shifted, and its
records."""

import json

import numpy as np
import pytest

from calopaper.cli import main
from calopaper.findings import band
from calopaper.rebuilds import (
    beside_this_build,
    expected_agreement,
    newest_record,
    seed_check,
    seed_record,
    write_record,
)
from calopaper.results import (
    Claim,
    claims_frame,
    judge,
    judged,
    run_folder,
    verdict_codes,
    write_results,
)


def _model_claims(verdicts):
    """Claims with seeds (model claims) of the given verdicts, and one claim without seeds."""
    out = [Claim(f"c{i}", "x", "p", "o", v, seeds={"n_seeds": 3}) for i, v in enumerate(verdicts)]
    return [*out, Claim("timing", "x", "p", "o", "reproduced")]


def _stores(tmp_path):
    """A book and two shifted builds of chapter 3 (three model claims each)."""
    book, one, two = tmp_path / "book", tmp_path / "one", tmp_path / "two"
    write_results("03_gaam", _model_claims(["reproduced", "partly", "reproduced"]),
                  root=book / "results")  # fmt: skip
    for store, offset, verdicts in (
        (one, 1, ["reproduced", "partly", "not reproduced"]),
        (two, 2, ["reproduced", "reproduced", "reproduced"]),
    ):
        folder = run_folder(store, "03_gaam", {"CALOPAPER_SEED_OFFSET": str(offset)})
        write_results("03_gaam", _model_claims(verdicts), root=folder / "results")
    return book, one, two


def test_the_seed_check_sets_the_books_model_claims_beside_the_shifted_runs(tmp_path, capsys):
    book, one, two = _stores(tmp_path)
    write_results("04_dvae", _model_claims(["partly"]), root=book / "results")  # not run shifted
    table = seed_check(book, {1: one})
    assert list(table["id"]) == ["c0", "c1", "c2"]
    assert table["same"].tolist() == [True, True, False]
    assert table["flip"].tolist() == [False, False, True]
    table = seed_check(book, {1: one, 2: two})
    assert table["same"].tolist() == [True, False, False]
    assert list(table.columns[2:5]) == ["verdict", "verdict, offset 1", "verdict, offset 2"]
    assert main(["seeds", str(book), str(one)]) == 0
    out = capsys.readouterr().out
    assert "2 of 3 model claims keep their verdict in both builds (67%)" in out
    assert "1 flip" in out and "partly 1 in the book, 1 with offset 1" in out
    assert main(["seeds", str(book), str(one), str(two)]) == 0
    out = capsys.readouterr().out
    # pairs of builds agree on 2/3 (book, 1), 2/3 (book, 2), 1/3 (1, 2) of the claims
    assert "1 of 3 model claims keep their verdict in every build (33%)" in out
    assert "two builds agree on 56% of them" in out
    with pytest.raises(FileNotFoundError, match="offset 2 in"):
        seed_check(book, {2: one})
    with pytest.raises(SystemExit, match="one distinct non-zero --offset per SHIFTED"):
        main(["seeds", str(book), str(one), str(two), "--offset", "1"])


def test_a_seed_record_round_trips_and_names_where_each_build_came_from(tmp_path):
    book, one, two = _stores(tmp_path)
    (shifted,) = one.glob("results/runs/03_gaam/*/results/03_gaam.json")
    result = json.loads(shifted.read_text())
    result["provenance"] = {"commit": "abc1234", "date": "2026-12-06", "machine": {"cpu": "EPYC"}}
    shifted.write_text(json.dumps(result))
    record = seed_record(book, {1: one, 2: two})
    assert record["kind"] == "seed check"
    assert record["summary"].startswith("1 of 3 model claims keep their verdict in every build")
    assert set(record["builds"]) == {"0", "1", "2"}
    assert record["builds"]["1"]["03_gaam"] == {
        "commit": "abc1234",
        "date": "2026-12-06",
        "cpu": "EPYC",
    }
    path = write_record(record, tmp_path / "records")
    assert path.name == f"seeds-{record['commit'][:7]}.json"
    assert json.loads(path.read_text()) == record
    assert newest_record(tmp_path / "records") == record


def test_the_newest_record_is_the_latest_seed_check_and_ignores_gpu_records(tmp_path):
    folder = tmp_path / "records"
    assert newest_record(folder) is None
    folder.mkdir()
    old = {"kind": "seed check", "date": "2026-01-01T00:00:00+00:00", "claims": []}
    new = old | {"date": "2026-02-01T00:00:00+00:00"}
    (folder / "seeds-aaaaaaa.json").write_text(json.dumps(new))
    (folder / "seeds-bbbbbbb.json").write_text(json.dumps(old))
    (folder / "nvidia-h200-ccccccc.json").write_text(json.dumps({"device": {}, "date": "2027"}))
    assert newest_record(folder) == new


def test_the_record_sits_beside_this_builds_verdicts(tmp_path):
    book, one, two = _stores(tmp_path)
    record = seed_record(book, {1: one, 2: two})
    write_results("03_gaam", _model_claims(["partly", "partly"]), root=tmp_path / "now")
    table = beside_this_build(record, claims_frame(tmp_path / "now"))
    assert list(table.columns) == [
        "chapter", "id", "this build", "book, recorded", "offset 1", "offset 2", "same"
    ]  # fmt: skip
    assert table["this build"].tolist() == ["partly", "partly", "–"]  # c2 is gone
    assert table["book, recorded"].tolist() == ["reproduced", "partly", "reproduced"]
    assert table["offset 1"].tolist() == ["reproduced", "partly", "not reproduced"]


def test_the_cli_writes_the_record_where_it_is_told(tmp_path, capsys):
    book, one, two = _stores(tmp_path)
    assert main(["seeds", str(book), str(one), str(two), "--record", str(tmp_path / "rec")]) == 0
    (path,) = (tmp_path / "rec").glob("seeds-*.json")
    assert f"recorded in {path}" in capsys.readouterr().out
    assert newest_record(tmp_path / "rec")["claims"][2]["verdict, offset 1"] == "not reproduced"


def _noise_record(*claims):
    """A record whose claims (interval, per-seed values of two builds) are all modelled."""
    noise = [
        {"chapter": "c", "id": f"c{i}", "interval": list(interval),
         "values": {"0": list(v0), "1": list(v1)},
         "errors": {"0": band(v0).error, "1": band(v1).error}}
        for i, (interval, v0, v1) in enumerate(claims)
    ]  # fmt: skip
    return {"date": "2026-12-06", "noise": noise}


def test_a_record_keeps_the_per_seed_values_of_claims_one_interval_judges(tmp_path, capsys):
    book, one = tmp_path / "book", tmp_path / "one"
    for store, values in ((book, [1.2, 1.4, 1.3]), (one, [0.8, 1.1, 0.9])):
        claims = [
            Claim("ratio", "x", "p", "o", **judged(band(values), low=1.0)),
            Claim("composite", "x", "p", "o", "partly", seeds=band(values).record()),
        ]
        offset = {"CALOPAPER_SEED_OFFSET": "1"} if store == one else {}
        folder = run_folder(store, "03_gaam", offset) if offset else store
        write_results("03_gaam", claims, root=folder / "results")
    record = seed_record(book, {1: one})
    (noise,) = record["noise"]  # the composite claim has no single interval
    assert noise["id"] == "ratio" and noise["interval"] == [1.0, None]
    assert noise["values"] == {"0": [1.2, 1.4, 1.3], "1": [0.8, 1.1, 0.9]}
    assert noise["errors"]["1"] == pytest.approx(band([0.8, 1.1, 0.9]).error)
    assert main(["seeds", str(book), str(one)]) == 0
    assert "two builds agree on" in capsys.readouterr().out.splitlines()[-1]  # the model's line


def test_the_modelled_verdicts_are_the_books_verdicts():
    rng = np.random.default_rng(3)
    for _ in range(200):
        values = rng.normal(rng.normal(), rng.uniform(0.1, 2), size=3)
        extra, low, high = rng.uniform(0, 0.5), rng.normal() - 1, rng.normal() + 1
        b = band(values, bootstrap_error=extra)
        code = verdict_codes(np.array([b.mean]), np.array([b.error]), low, high)[0]
        assert ("reproduced", "partly", "not reproduced")[code] == judge(b, low, high)


def test_expected_agreement_is_certain_far_from_a_threshold_and_a_draw_on_it():
    far = ((0.0, None), [10.0, 10.5, 9.5], [10.2, 9.8, 10.1])
    on = ((0.0, None), [-1.0, 0.5, 1.0], [-0.5, 0.2, 1.2])  # scattered around the threshold
    near = ((0.0, None), [0.0, 1.0, 0.5], [0.9, 0.1, 0.5])  # a spread or so above it
    table = expected_agreement(_noise_record(far), (3, 20), draws=4000)
    assert table["agree"].tolist() == [1.0, 1.0] and table["partly"].tolist() == [0.0, 0.0]
    on_3 = expected_agreement(_noise_record(on), (3,), draws=4000).iloc[0]
    assert on_3["agree"] < 0.9 and on_3["partly"] > 0.5
    near = expected_agreement(_noise_record(near), (3, 20), draws=4000)
    assert near["agree"].iloc[1] > near["agree"].iloc[0] + 0.2  # more seeds settle it
    assert near["claims"].tolist() == [1, 1]


def test_expected_agreement_counts_flips_and_needs_per_seed_values():
    # one training lands far on either side: three seeds now and then all fall on one side
    split = ((0.0, None), [-10.0, -10.0, -10.0], [10.0, 10.0, 10.0])
    row = expected_agreement(_noise_record(split), (3,), draws=20_000).iloc[0]
    assert row["flips"] == pytest.approx(2 / 64, abs=0.01)  # 2 × P(all R) × P(all NR)
    with pytest.raises(ValueError, match=r"at least 2, got \(1, 3\)"):
        expected_agreement(_noise_record(split), (1, 3))
    with pytest.raises(ValueError, match="keeps no per-seed values"):
        expected_agreement({"date": "2026-01-01", "claims": []})
