"""Fixtures for the ledger tests."""
from __future__ import annotations

import pytest


@pytest.fixture
def keys(tmp_path):
    from gep.ledger.api import keygen

    skey, vkey = keygen("gep.example/test", tmp_path / "keys")
    return skey, vkey
