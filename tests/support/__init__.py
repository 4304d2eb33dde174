"""Helpers shared by more than one suite: user steps over HTTP (in-process and through the chain), what
a bucket holds, and in-memory fakes of the domain ports (the unit suite, and the contract tests on both)."""
