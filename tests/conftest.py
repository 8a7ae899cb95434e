"""Shared fixtures: the published test keys and signed lists of tests/vectors."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pytest

from signing import PrivateKey, StatusList, TrustedKey, TrustList
from tests.vectors import generate


@dataclass(frozen=True)
class World:
    """The vectors' keys and lists, verified, at the vectors' pinned time."""

    now: datetime
    root: PrivateKey
    keys: dict[str, PrivateKey]
    entries: dict[str, TrustedKey]
    trust_list: TrustList
    status_list: StatusList
    trust_document: bytes
    status_document: bytes


@pytest.fixture(scope="session")
def world() -> World:
    keys = generate._keys()
    trust_list, status_list = generate._documents(keys)
    root = keys["root"].private
    trust_document, status_document = trust_list.sign(root), status_list.sign(root)
    return World(
        now=generate.NOW,
        root=root,
        keys={name: k.private for name, k in keys.items()},
        entries={name: k.entry for name, k in keys.items() if k.entry is not None},
        trust_list=TrustList.verify(trust_document, [root.public_key], generate.NOW),
        status_list=StatusList.verify(status_document, [root.public_key], generate.NOW),
        trust_document=trust_document,
        status_document=status_document,
    )
