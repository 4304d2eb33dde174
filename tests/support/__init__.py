"""Helpers shared by more than one suite: user steps over HTTP (in-process and through the chain), and
in-memory fakes of the domain ports (the unit suite, and the repository contract test on both)."""
