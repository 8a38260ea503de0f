"""The demo seed hashes its one published password once: every demo account still logs in
with it (and with nothing else), the portal's own hasher is back in place afterwards, and an
account made after the seed gets a hash of its own."""
from __future__ import annotations

import pytest


def test_seed_hashes_the_demo_password_once(basin_config, tmp_path):
    from sqlalchemy import select

    from gep.portal import seed as seedmod
    from gep.portal import services as svc
    from gep.portal.models import User

    from .helpers import build

    portal = build(basin_config, f"sqlite:///{tmp_path / 'seed.db'}")
    real = portal.passwords
    calls = []
    real_hash = real.hash
    real.hash = lambda pw: calls.append(pw) or real_hash(pw)
    try:
        seedmod.seed(portal)
        assert calls == [seedmod.DEMO_PASSWORD]  # one argon2 hash for all demo accounts
        assert portal.passwords is real
        with portal.factory() as db:
            users = db.scalars(select(User)).all()
            assert len(users) >= 12 and users[0].password_hash.startswith("$argon2")
            for u in users:
                assert svc.login(portal, db, u.username, seedmod.DEMO_PASSWORD)[0].id == u.id
            with pytest.raises(svc.PortalError) as exc:
                svc.login(portal, db, users[-1].username, "demo-password2")
            assert exc.value.status == 401
            new = svc.create_user(portal, db, "later", seedmod.DEMO_PASSWORD, "committee")
            assert new.password_hash != users[0].password_hash  # its own salt
            assert svc.login(portal, db, "later", seedmod.DEMO_PASSWORD)[0].id == new.id
        assert calls == [seedmod.DEMO_PASSWORD] * 2
    finally:
        portal.engine.dispose()
