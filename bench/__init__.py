"""`make bench`: our figures against the alternatives, each a ratio measured side by side in one run.

One module per group (cold_start, latency, start, per_request, suites, artifact); run.py runs them in
order, prints one table and writes results.json with the machine it ran on. BENCH_QUICK=1 runs fewer rounds.
"""
