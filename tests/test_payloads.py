"""The seeded payloads probes send: reproducible from the seed, and shaped as documented."""

from __future__ import annotations

import random
from collections import Counter

from grader.probes import common
from grader.probes.common import _PRINTABLE, binary, keystream, printable


def test_the_same_seed_gives_the_same_bytes_and_leaves_the_generator_alike() -> None:
    one, two = random.Random(7), random.Random(7)
    assert keystream(one, 100_000) == keystream(two, 100_000)
    assert one.random() == two.random()  # later draws replay too: a fixed amount was drawn


def test_different_seeds_and_successive_calls_give_different_bytes() -> None:
    rng = random.Random(7)
    first, second = keystream(rng, 4096), keystream(rng, 4096)
    assert first != second
    assert keystream(random.Random(8), 4096) != keystream(random.Random(7), 4096)


def test_sizes_are_exact_and_bytes_uniform() -> None:
    rng = random.Random(1)
    assert [len(keystream(rng, size)) for size in (0, 1, 15, 16, 17, 1 << 20)] == \
        [0, 1, 15, 16, 17, 1 << 20]
    counts = Counter(keystream(rng, 1 << 20))
    assert len(counts) == 256
    expected = (1 << 20) / 256
    assert all(abs(n - expected) < 0.2 * expected for n in counts.values()), counts.most_common(3)


def test_printable_is_printable_text_with_one_newline_in_128_bytes_on_average() -> None:
    data = printable(random.Random(3), 1 << 20)
    assert len(data) == 1 << 20
    assert set(data) == set(_PRINTABLE)
    # 256 byte values onto 96 symbols: the first 64 take three values each, the rest (the
    # newline among them) two
    assert abs(data.count(b"\n") - (1 << 20) / 128) < 0.05 * (1 << 20) / 128


def test_a_big_payload_made_again_from_the_same_seed_is_the_kept_one_and_draws_alike() -> None:
    """printable() keeps payloads of KEEP_FROM bytes or more: the same seed gives the same
    object (made once), identical to one made afresh, and leaves the generator where a fresh
    one would; the kept bytes stay under KEEP_AT_MOST."""
    size = common.KEEP_FROM
    one, two = random.Random(11), random.Random(11)
    first, again = printable(one, size), printable(two, size)
    assert again is first
    fresh = random.Random(11)
    assert keystream(fresh, size).translate(common._TO_PRINTABLE) == first
    assert one.random() == two.random() == fresh.random()
    rng = random.Random(12)
    for _ in range(common.KEEP_AT_MOST // size + 2):
        printable(rng, size)
    assert sum(len(kept) for kept in common._kept.values()) <= common.KEEP_AT_MOST


def test_a_big_binary_payload_is_the_keystream_kept_apart_from_the_printable_one() -> None:
    """binary() gives keystream()'s bytes (every byte value), kept as printable()'s are but
    apart from them: the same seed gives the printable and the binary payload of one size,
    each its own, and the generator is left where keystream() leaves it."""
    size = common.KEEP_FROM
    one, two, fresh = random.Random(21), random.Random(21), random.Random(21)
    first = binary(one, size)
    assert binary(two, size) is first
    assert keystream(fresh, size) == first and len(set(first)) == 256
    assert one.random() == two.random() == fresh.random()
    text_one = printable(random.Random(21), size)
    assert text_one != first and set(text_one) <= set(_PRINTABLE)
    small = binary(random.Random(22), 1000)
    assert small == keystream(random.Random(22), 1000)
