"""Request IDs (`_fastpath.new_request_id`): version 4 UUIDs in text form, unique, and not shared across a fork."""

from __future__ import annotations

import os
import re
import uuid

import pytest

from latticework.dataplane._fastpath import new_request_id

_UUID4 = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


def test_request_id_is_a_version_4_uuid_in_text_form() -> None:
    """36 lower-case characters in 8-4-4-4-12 groups, that uuid reads back as version 4, RFC 9562 variant."""
    for _ in range(1000):
        text = new_request_id()
        assert _UUID4.fullmatch(text), text
        parsed = uuid.UUID(text)
        assert (parsed.version, parsed.variant, str(parsed)) == (4, uuid.RFC_4122, text)


def test_request_ids_are_unique_over_many() -> None:
    """200,000 IDs, no repeat."""
    ids = [new_request_id() for _ in range(200_000)]
    assert len(set(ids)) == len(ids)


def test_random_bits_reach_every_free_nibble() -> None:
    """Every hex digit but the version's varies over many IDs; the variant digit takes all of 8, 9, a and b."""
    ids = [new_request_id().replace("-", "") for _ in range(2000)]
    seen = [{text[i] for text in ids} for i in range(32)]
    assert seen[12] == {"4"}
    assert seen[16] == set("89ab")
    assert all(len(digits) == 16 for i, digits in enumerate(seen) if i not in (12, 16))


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_worker_draws_other_ids_than_its_parent() -> None:
    """Re-seeded after fork: parent and child, from the same generator state, make different IDs."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: send its next IDs and leave without running pytest's exit handlers
        os.write(write, "".join(new_request_id() for _ in range(4)).encode())
        os._exit(0)
    os.close(write)
    _, status = os.waitpid(pid, 0)
    child = os.read(read, 4096).decode()
    os.close(read)
    parent = "".join(new_request_id() for _ in range(4))
    assert os.waitstatus_to_exitcode(status) == 0
    assert len(child) == len(parent) == 4 * 36
    assert child != parent
