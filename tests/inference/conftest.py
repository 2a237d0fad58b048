"""A small world with a fitted model (session scope: fitted once, in well under a second)."""

from __future__ import annotations

import pytest

from tests.inference.cards import make_world


@pytest.fixture(scope="session")
def world():
    return make_world()
