"""Tests of gep.ledger (a package so helpers import relatively, as in tests/compensation)."""
