"""timing.stored: one clock, keyed by the machine."""

from calopaper import provenance, timing


def test_a_timing_is_served_only_on_the_machine_that_measured_it(data_root, monkeypatch):
    calls = []

    def generate(n: int) -> list:
        calls.append(n)
        return [0] * n

    def timed() -> timing.Timing:
        return timing.stored({"what": "zeros"}, generate, 10, code=(), repeats=2)

    first = timed()
    assert len(calls) == 3  # one warm-up and two timed calls
    assert timed() == first and len(calls) == 3  # the same machine reads it back
    monkeypatch.setattr(provenance, "cpu_name", lambda: "another CPU")
    other = timed()
    assert len(calls) == 6 and other.n == 10 and len(other.seconds) == 2
    assert len(list((data_root / "timings").glob("*.timing.json"))) == 2
