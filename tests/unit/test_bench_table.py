"""`make bench` prints one table from its results dict: every row, its ratio, why a row did not run."""

from collections import Counter

import pytest

from bench.latency import Load, answered_only
from bench.measure import Row, not_run
from bench.run import render


def test_the_table_shows_each_row_with_its_ratio_and_the_machine() -> None:
    results = {
        "machine": {
            "cpu": "Test CPU",
            "cores": 2,
            "memory_gb": 4.0,
            "kernel": "6.1",
            "python": "3.13.0",
            "lambda_python": "Python 3.13.0",
        },
        "commit": "abc123",
        "quick": False,
        "run_seconds": 321.0,
        "rows": [
            Row("latency", "GET /health, 1 client: p50", 4.2, "ms", 1.4, "direct (uvicorn)").as_dict(),
            Row(
                "cold start", "first invoke", 1500.0, "ms", 600.0, "hello-world", detail=["fastapi 389 ms"]
            ).as_dict(),
            not_run("sam local", "sam local start-api", "no engine").as_dict(),
        ],
    }

    lines = render(results).splitlines()

    cold = next(line for line in lines if "first invoke" in line)
    assert "1500 ms" in cold
    assert "600 ms" in cold
    assert "2.50x" in cold
    latency = next(line for line in lines if "GET /health" in line)
    assert "3.00x" in latency
    # Groups print in the order, whatever order they were measured in.
    assert lines.index(cold) < lines.index(latency)
    assert any("fastapi 389 ms" in line for line in lines)
    assert any("not run: no engine" in line for line in lines)
    assert "Test CPU, 2 cores" in lines[-1]
    assert "abc123" in lines[-1]


def test_a_latency_of_other_answers_than_the_rows_is_refused() -> None:
    def measured(**refused: int) -> Load:
        return Load(p50_ms=0.3, p99_ms=0.5, rps=3000.0, refused=Counter(refused))

    assert answered_only(measured(), "200", "GET /health").p50_ms == 0.3
    assert answered_only(measured(**{"401": 300}), "401", "no token").p50_ms == 0.3
    with pytest.raises(RuntimeError, match="429"):  # a route's throttle answered most of them
        answered_only(measured(**{"429": 280}), "200", "GET /health")
    with pytest.raises(RuntimeError, match="only 200"):
        answered_only(measured(), "401", "no token")
    with pytest.raises(RuntimeError, match="no answer"):
        answered_only(measured(**{"401": 290, "no answer": 10}), "401", "no token")
