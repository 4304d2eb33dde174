"""Helpers shared by the suites that drive the API over HTTP (in-process and through the chain)."""
