"""Frame-level limits, on hand-made RFC 6455 frames: the scanner that follows a client's byte stream, and the
fragments the gateway writes for a message larger than a frame."""

from __future__ import annotations

import os
import struct

import pytest

from devstack.frames import FrameScanner, fragments

TEXT, BINARY, CONTINUATION, PING = 0x1, 0x2, 0x0, 0x9


def client_frame(payload: bytes, opcode: int = TEXT, *, fin: bool = True) -> bytes:
    """A frame as a client sends it: masked, with the shortest length encoding."""
    first = (0x80 if fin else 0) | opcode
    size = len(payload)
    if size < 126:
        header = struct.pack("!BB", first, 0x80 | size)
    elif size < 1 << 16:
        header = struct.pack("!BBH", first, 0x80 | 126, size)
    else:
        header = struct.pack("!BBQ", first, 0x80 | 127, size)
    mask = os.urandom(4)
    return header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def feed_in_pieces(scanner: FrameScanner, stream: bytes, piece: int) -> tuple[int, str] | None:
    """Feeds `stream` in pieces of `piece` bytes. On a problem: how many bytes of the stream the gateway hands on to
    aiohttp (every piece before, and the offending piece up to the offset), and why."""
    for start in range(0, len(stream), piece):
        problem = scanner.feed(stream[start : start + piece])
        if problem is not None:
            return start + problem[0], problem[1]
    return None


@pytest.mark.parametrize("piece", [1, 3, 7, 1000, 1 << 20])
def test_frames_up_to_the_limit_pass_however_the_bytes_arrive(piece: int) -> None:
    stream = client_frame(b"x" * 100) + client_frame(b"y" * 32768) + client_frame(b"", PING) + client_frame(b"")

    assert feed_in_pieces(FrameScanner(max_frame=32768, max_message=131072), stream, piece) is None


@pytest.mark.parametrize("piece", [1, 5, 4096, 1 << 20])
def test_a_frame_one_byte_over_is_caught_at_its_first_byte(piece: int) -> None:
    before = client_frame(b"a" * 10) + client_frame(b"b" * 300)
    stream = before + client_frame(b"c" * 32769)

    problem = feed_in_pieces(FrameScanner(max_frame=32768, max_message=131072), stream, piece)

    assert problem is not None
    handed_on, why = problem
    # Every frame before it is handed on, and nothing of its payload: at most the part of its 8-byte header that
    # arrived in earlier pieces.
    assert len(before) <= handed_on <= len(before) + 8
    if piece > len(stream):
        assert handed_on == len(before)
    assert "32769" in why


def test_a_fragmented_message_may_use_every_byte_of_the_message_limit() -> None:
    parts = [client_frame(b"m" * 32768, TEXT, fin=False)]
    parts += [client_frame(b"m" * 32768, CONTINUATION, fin=False) for _ in range(2)]
    parts += [client_frame(b"m" * 32768, CONTINUATION, fin=True)]
    scanner = FrameScanner(max_frame=32768, max_message=131072)

    assert scanner.feed(b"".join(parts)) is None
    assert scanner.feed(client_frame(b"next message" * 100)) is None  # the count starts again after FIN


def test_one_fragment_too_many_is_over_the_message_limit() -> None:
    parts = [client_frame(b"m" * 32768, BINARY, fin=False)]
    parts += [client_frame(b"m" * 32768, CONTINUATION, fin=False) for _ in range(3)]
    parts += [client_frame(b"m", CONTINUATION, fin=True)]

    problem = FrameScanner(max_frame=32768, max_message=131072).feed(b"".join(parts))

    assert problem is not None
    assert problem[0] == sum(len(p) for p in parts[:-1])
    assert "131072" in problem[1]


def test_control_frames_between_fragments_do_not_count_toward_the_message() -> None:
    stream = (
        client_frame(b"m" * 32768, TEXT, fin=False)
        + client_frame(b"p" * 125, PING)
        + client_frame(b"m" * 32768, CONTINUATION, fin=True)
    )

    assert FrameScanner(max_frame=32768, max_message=65536).feed(stream) is None


def test_a_64_bit_length_is_read_whole() -> None:
    header = struct.pack("!BBQ", 0x80 | TEXT, 0x80 | 127, 1 << 40) + b"mask"

    problem = FrameScanner().feed(header)

    assert problem is not None
    assert str(1 << 40) in problem[1]


def parse_server_frames(data: bytes) -> list[tuple[bool, int, bytes]]:
    frames, position = [], 0
    while position < len(data):
        first, second = data[position], data[position + 1]
        assert not second & 0x80, "server frames are not masked"
        size, position = second & 0x7F, position + 2
        if size == 126:
            (size,), position = struct.unpack_from("!H", data, position), position + 2
        elif size == 127:
            (size,), position = struct.unpack_from("!Q", data, position), position + 8
        frames.append((bool(first & 0x80), first & 0x0F, data[position : position + size]))
        position += size
    return frames


def test_a_message_over_a_frame_goes_out_as_frames_of_at_most_the_limit() -> None:
    message = os.urandom(100_000)

    frames = parse_server_frames(fragments(message, TEXT, 32768))

    assert [(fin, opcode, len(payload)) for fin, opcode, payload in frames] == [
        (False, TEXT, 32768),
        (False, CONTINUATION, 32768),
        (False, CONTINUATION, 32768),
        (True, CONTINUATION, 100_000 - 3 * 32768),
    ]
    assert b"".join(payload for _, _, payload in frames) == message


def test_an_exact_multiple_of_the_frame_size_ends_with_a_full_final_frame() -> None:
    frames = parse_server_frames(fragments(b"z" * 65536, BINARY, 32768))

    assert [(fin, opcode, len(payload)) for fin, opcode, payload in frames] == [
        (False, BINARY, 32768),
        (True, CONTINUATION, 32768),
    ]
