"""Helpers for the tests and benchmarks that are not fixtures: ports, waiting, the gRPC server
process, the mail catcher's inbox, the test infrastructure's addresses.

Fixtures live in `conftest.py` files and import from here; nothing here imports a conftest, and
tests import these helpers, never a conftest.
"""
