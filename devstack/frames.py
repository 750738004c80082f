"""API Gateway's WebSocket size limits at the level where it applies them: each frame is at most 32 KB and each
message (its frames together) at most 128 KB, and a larger one closes the connection with 1009; a message it sends
that is larger than a frame goes out as several frames (quota table, "WebSocket frame size" and its note).

aiohttp only limits assembled messages, so the client's byte stream is followed here, header by header (RFC 6455
section 5.2), before aiohttp parses it; and messages over a frame are written as fragments here, since aiohttp
writes every message as one frame."""

from __future__ import annotations

import asyncio
import struct
from typing import Any

from aiohttp import WSCloseCode, web
from aiohttp.http import WebSocketError

from signaling.definition import MAX_FRAME_BYTES, MAX_MESSAGE_BYTES

TOO_BIG_REASON = "Message too big"
"""The reason API Gateway gives with 1009 (as a client reports it: "code = 1009 (message too big), reason = Message
too big")."""

_TEXT, _BINARY, _CONTINUATION = 0x1, 0x2, 0x0


class FrameScanner:
    """Follows a client's frames through its byte stream and reports the first frame or message over the limits.
    Only headers are read; payload bytes are counted and skipped."""

    def __init__(self, max_frame: int = MAX_FRAME_BYTES, max_message: int = MAX_MESSAGE_BYTES) -> None:
        self.max_frame = max_frame
        self.max_message = max_message
        self._header = bytearray()
        self._payload_left = 0
        self._message = 0  # bytes of the data message whose frames are arriving

    def feed(self, data: bytes) -> tuple[int, str] | None:
        """(offset in `data` where the offending frame starts, why) for the first frame over a limit, else None."""
        position = 0
        while position < len(data):
            if self._payload_left:
                step = min(self._payload_left, len(data) - position)
                self._payload_left -= step
                position += step
                continue
            frame_start = position - len(self._header)  # negative: the header began in an earlier chunk
            wanted = self._header_length() - len(self._header)
            self._header += data[position : position + wanted]
            position += min(wanted, len(data) - position)
            if len(self._header) < self._header_length():
                continue
            problem = self._frame(bytes(self._header))
            self._header.clear()
            if problem is not None:
                return max(0, frame_start), problem
        return None

    def _header_length(self) -> int:
        if len(self._header) < 2:
            return 2
        length, masked = self._header[1] & 0x7F, self._header[1] & 0x80
        return 2 + {126: 2, 127: 8}.get(length, 0) + (4 if masked else 0)

    def _frame(self, header: bytes) -> str | None:
        fin, opcode, length = header[0] & 0x80, header[0] & 0x0F, header[1] & 0x7F
        if length == 126:
            (length,) = struct.unpack_from("!H", header, 2)
        elif length == 127:
            (length,) = struct.unpack_from("!Q", header, 2)
        self._payload_left = length
        if opcode not in (_TEXT, _BINARY, _CONTINUATION):
            return None  # control frames: at most 125 bytes, which aiohttp enforces
        self._message = length if opcode != _CONTINUATION else self._message + length
        if length > self.max_frame:
            return f"a frame of {length} bytes (the limit is {self.max_frame})"
        if self._message > self.max_message:
            return f"a message of more than {self.max_message} bytes"
        if fin:
            self._message = 0
        return None


class _LimitedReader:
    """Stands in front of aiohttp's WebSocketReader: passes bytes through until a frame breaks a limit, then fails
    the socket with 1009 the way aiohttp fails one itself (an error on its message queue; the rest is ignored)."""

    def __init__(self, reader: Any, queue: Any, scanner: FrameScanner) -> None:
        self._reader = reader
        self._queue = queue
        self._scanner = scanner
        self._failed = False

    def feed_data(self, data: bytes | bytearray | memoryview) -> tuple[bool, bytes]:
        if self._failed:
            return True, b""
        chunk = bytes(data)
        problem = self._scanner.feed(chunk)
        if problem is None:
            result: tuple[bool, bytes] = self._reader.feed_data(chunk)
            return result
        offset, why = problem
        self._failed = True
        if offset:
            self._reader.feed_data(chunk[:offset])  # the complete frames before it still count
        self._queue.set_exception(WebSocketError(WSCloseCode.MESSAGE_TOO_BIG, f"{TOO_BIG_REASON}: {why}"))
        return True, b""

    def feed_eof(self) -> None:
        self._reader.feed_eof()


class GatewayWebSocket(web.WebSocketResponse):
    """A server socket with API Gateway's frame and message limits on what the client sends, and its reason on a
    1009 close. No compression extension is negotiated: nothing says API Gateway offers one, and without it the
    frame limit applies to what the client actually wrote."""

    def __init__(self, max_frame: int = MAX_FRAME_BYTES, max_message: int = MAX_MESSAGE_BYTES) -> None:
        # aiohttp's own message limit stays as a backstop just above ours, so that ours is the one that speaks.
        super().__init__(max_msg_size=max_message + 1, compress=False)
        self._scanner = FrameScanner(max_frame, max_message)
        self.max_frame = max_frame

    def _post_start(self, request: web.BaseRequest, protocol: str | None, writer: Any) -> None:
        # aiohttp has no public hook for frame sizes. Its _post_start gives the connection's protocol a frame
        # parser; the limited reader is put in front of it, and bytes the client sent before that (which
        # set_parser would feed straight to the parser) are held back and fed through the limited reader instead.
        handler: Any = request.protocol
        early, handler._message_tail = handler._message_tail, b""
        super()._post_start(request, protocol, writer)
        limited = _LimitedReader(handler._payload_parser, self._reader, self._scanner)
        handler._payload_parser = limited
        if early and limited.feed_data(early)[0]:
            handler.close()

    async def close(self, *, code: int = WSCloseCode.OK, message: bytes = b"", drain: bool = True) -> bool:
        if code == WSCloseCode.MESSAGE_TOO_BIG and not message:
            message = TOO_BIG_REASON.encode()
        return await super().close(code=code, message=message, drain=drain)


def fragments(data: bytes, opcode: int, max_frame: int) -> bytes:
    """A message as the frames API Gateway sends it in: payloads of at most `max_frame` bytes, the first with the
    message's opcode, the rest continuations, FIN on the last. Server frames are not masked."""
    chunks = [data[start : start + max_frame] for start in range(0, len(data), max_frame)] or [b""]
    out = bytearray()
    for index, chunk in enumerate(chunks):
        first = (0x80 if index == len(chunks) - 1 else 0) | (opcode if index == 0 else _CONTINUATION)
        size = len(chunk)
        if size < 126:
            out += struct.pack("!BB", first, size)
        elif size < 1 << 16:
            out += struct.pack("!BBH", first, 126, size)
        else:
            out += struct.pack("!BBQ", first, 127, size)
        out += chunk
    return bytes(out)


async def send_message(ws: GatewayWebSocket, transport: asyncio.BaseTransport | None, data: str | bytes) -> None:
    """One message to the client: one frame when it fits, else fragments written in one piece (so nothing else
    the loop sends can come between them)."""
    payload = data.encode() if isinstance(data, str) else data
    if len(payload) <= ws.max_frame:
        if isinstance(data, str):
            await ws.send_str(data)
        else:
            await ws.send_bytes(data)
        return
    if not isinstance(transport, asyncio.WriteTransport) or transport.is_closing():
        raise ConnectionResetError("the connection is closed")
    transport.write(fragments(payload, _TEXT if isinstance(data, str) else _BINARY, ws.max_frame))
