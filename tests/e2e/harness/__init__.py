"""Helpers for snigate's end-to-end tests: processes, PKI, backends, the snigate runner."""
