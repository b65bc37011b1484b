"""Helpers for the test suite: private infrastructure that tests start, break and stop."""
