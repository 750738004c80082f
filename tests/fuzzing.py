"""A seeded generator of client frames for the fuzz tests (handlers under moto, and the running local stack), and
the oracles that judge what the server sent back.

Each frame says what it is, so the test knows what must come back: `join`, `signal`, `ghost` (a valid signal to a
peer that never existed), `leave`, `ice` (exactly one `ice-servers`), `ping`, `bad` (malformed on purpose: exactly
one `bad-request`) and `any` (a valid message mutated at random: it may have stayed valid, so only the general rules
apply).

The oracles here do not use signaling.wire: the server's output is checked by an independent strict parser.
"""

from __future__ import annotations

import json
import math
import random
import re
import string
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

ROOMS = ("fz-a", "fz-b", "fz-c")
GHOST_PREFIX = "ghost-"  # the server assigns 22-character ids and the generator never proposes one like this
KINDS_ALLOWED_SILENT = ("signal", "leave")


@dataclass
class Frame:
    payload: str | bytes
    kind: str
    action: str | None = None  # the action the frame was built for (None: none, or not a string)
    data: Any = None  # for `signal`: the data that must arrive at the target


@dataclass
class State:
    """What the generator knows of the server: peer ids and tokens it has seen in `joined` replies."""

    peers: dict[str, str] = field(default_factory=dict)  # peerId -> token

    def learn(self, message: dict[str, Any]) -> None:
        if message.get("type") == "joined":
            self.peers[message["peerId"]] = message["token"]


def _id(rng: random.Random, n: int = 8) -> str:
    return "".join(rng.choice(string.ascii_letters + string.digits + "_-") for _ in range(n))


def _json_value(rng: random.Random, depth: int = 0) -> Any:
    roll = rng.random()
    if depth > 3 or roll < 0.4:
        return rng.choice(
            [
                rng.randint(-(2**53), 2**53),
                rng.uniform(-1e6, 1e6),
                _text(rng),
                True,
                False,
                None,
                0,
                -0.0,
                1e308,
                5e-324,
            ]
        )
    if roll < 0.7:
        return [_json_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    return {_text(rng, 6): _json_value(rng, depth + 1) for _ in range(rng.randint(0, 4))}


def _text(rng: random.Random, n: int = 12) -> str:
    alphabet = string.printable + "éß漢字🙂\u2028\u0000\x7f\ufeff"
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, n)))


def _signal_data(rng: random.Random) -> Any:
    if rng.random() < 0.5:
        return {
            "seq": rng.randint(1, 1000),
            "sid": _id(rng, 12),
            "description": {"type": rng.choice(["offer", "answer"]), "sdp": "v=0\r\n" + "a=x\r\n" * rng.randint(0, 50)},
        }
    data = _json_value(rng)
    return data if data is not None else {}


class Generator:
    def __init__(self, seed: int, state: State, *, max_capacity: int = 8) -> None:
        self.rng = random.Random(seed)
        self.state = state
        self.max_capacity = max_capacity

    # --- valid messages ---------------------------------------------------------------------------------------

    def valid_join(self) -> dict[str, Any]:
        rng = self.rng
        message: dict[str, Any] = {"action": "join", "room": rng.choice(ROOMS)}
        if rng.random() < 0.5:
            message["name"] = _text(rng, 20).strip()[:60]
        if rng.random() < 0.3:
            message["capacity"] = rng.randint(2, self.max_capacity)
        if self.state.peers and rng.random() < 0.3:
            peer_id = rng.choice(list(self.state.peers))
            message["peerId"] = peer_id
            if rng.random() < 0.7:
                message["token"] = self.state.peers[peer_id]
        elif rng.random() < 0.2:
            message["peerId"] = "fz" + _id(rng, 10)
        return message

    def valid_signal(self, *, ghost: bool = False) -> dict[str, Any]:
        if ghost or not self.state.peers:
            to = GHOST_PREFIX + _id(self.rng, 12)
        else:
            to = self.rng.choice(list(self.state.peers))
        return {"action": "signal", "to": to, "data": _signal_data(self.rng)}

    def valid(self) -> dict[str, Any]:
        return self.rng.choice([self.valid_join, self.valid_signal, self.valid_signal, lambda: {"action": "leave"}])()

    # --- the frames ---------------------------------------------------------------------------------------------

    def frames(self) -> Iterator[Frame]:
        makers = [
            # Valid messages reach DynamoDB (moto: ~10 ms a call); malformed ones are refused before it (~1 ms).
            (self._join, 6),
            (self._signal, 8),
            (self._ghost, 3),
            (self._leave, 3),
            (self._ice, 2),
            (self._ping, 2),
            (self._huge_number, 8),
            (self._deep, 7),
            (self._surrogate, 7),
            (self._non_finite, 7),
            (self._wrong_type, 12),
            (self._unknown_action, 5),
            (self._not_an_object, 4),
            (self._garbage, 5),
            (self._binary, 2),
            (self._duplicate_key, 2),
            (self._mutated, 6),
        ]
        functions, weights = zip(*makers, strict=True)
        while True:
            yield self.rng.choices(functions, weights)[0]()

    def _frame(self, message: dict[str, Any], kind: str) -> Frame:
        action = message.get("action")
        if self.rng.random() < 0.1:
            message = {**message, f"x{_id(self.rng, 4)}": _json_value(self.rng)}  # unknown fields are ignored
        return Frame(json.dumps(message, ensure_ascii=self.rng.random() < 0.5), kind, action, message.get("data"))

    def _join(self) -> Frame:
        return self._frame(self.valid_join(), "join")

    def _signal(self) -> Frame:
        return self._frame(self.valid_signal(), "signal")

    def _ghost(self) -> Frame:
        return self._frame(self.valid_signal(ghost=True), "ghost")

    def _leave(self) -> Frame:
        return self._frame({"action": "leave"}, "leave")

    def _ice(self) -> Frame:
        return self._frame({"action": "ice"}, "ice")

    def _ping(self) -> Frame:
        return Frame('{"action":"ping"}', "ping", "ping")

    def _inject(self, token: str) -> Frame:
        """A valid message with `token` (JSON text of a value) replacing one of its fields' values, or a field of
        its own, or a value deep inside `data`."""
        message = self.valid()
        fields = [name for name in message if name != "action"] + ["peerId", "capacity", "to", "data", "name", "zz"]
        name = self.rng.choice(fields)
        placeholder = "\u0001PLACEHOLDER\u0001"
        if name == "data" and isinstance(message.get("data"), dict) and self.rng.random() < 0.5:
            message["data"]["nested"] = [placeholder]
        else:
            message[name] = placeholder
        text = json.dumps(message).replace(json.dumps(placeholder), token)
        return Frame(text, "bad", message["action"])

    def _huge_number(self) -> Frame:
        digits = "".join(self.rng.choices(string.digits, k=self.rng.choice([33, 100, 4301, 5000, 20000])))
        digits = "9" + digits
        token = self.rng.choice([digits, "-" + digits, digits + ".5", "0." + digits, "1e" + digits, digits + "e1"])
        return self._inject(token)

    def _deep(self) -> Frame:
        depth = self.rng.choice([33, 40, 999, 1000, 1001, 5000, 30000])
        opener, closer = self.rng.choice([("[", "]"), ('{"a":', "}"), ('[{"b":', "}]")])
        token = opener * depth + "1" + closer * depth
        if opener.startswith("[{"):
            token = opener * (depth // 2 + 1) + "1" + closer * (depth // 2 + 1)
        return self._inject(token)

    def _surrogate(self) -> Frame:
        bad = self.rng.choice(["\\ud800", "\\udfff", "\\udc00\\ud800", "a\\ud83d", "\\ude00b", "\\uDBFF"])
        if self.rng.random() < 0.3:
            # as a key
            return self._inject('{"' + bad + '":1}')
        return self._inject('"' + bad + '"')

    def _non_finite(self) -> Frame:
        return self._inject(self.rng.choice(["NaN", "Infinity", "-Infinity", "1e400", "-1e400", "1E999", "[NaN]"]))

    def _wrong_type(self) -> Frame:
        rng = self.rng
        wrong = ["42", "[]", "{}", "null", "true", "2.5", '""', '"bad id!"', '"' + "a" * 65 + '"', "-1"]
        action = rng.choice(["join", "signal"])
        if action == "join":
            name = rng.choice(["room", "peerId", "token", "name", "capacity"])
            values = {
                "room": wrong,
                "peerId": [v for v in wrong if v != "null"],
                "token": ["42", "[]", "{}", '""', '"' + "t" * 257 + '"', "true"],
                "name": ["42", "[]", "{}", "true", '"' + "n" * 65 + '"'],
                "capacity": ["1", "0", "-3", '"3"', "2.0", "true", "[]", "1000000", "9"],
            }[name]
            base: dict[str, Any] = {"action": "join", "room": rng.choice(ROOMS)}
        else:
            name = rng.choice(["to", "data", "action"])
            values = {
                "to": wrong,
                "data": ["null"],
                "action": ['"Signal"', '"signal "'],
            }[name]
            base = {"action": "signal", "to": "x", "data": {}}
        if name == "capacity" and values:
            values = [v for v in values if v != "9" or self.max_capacity < 9]
        base[name] = "\u0001P\u0001"
        text = json.dumps(base).replace(json.dumps("\u0001P\u0001"), rng.choice(values))
        if name == "room" and rng.random() < 0.2:
            text = text.replace('"room": ' + text.split('"room": ')[1].split(",")[0].split("}")[0], "")
            text = text.replace(", ,", ",").replace("{,", "{").replace(", }", "}")
        if name == "action":
            return Frame(text, "bad", None)
        return Frame(text, "bad", action)

    def _unknown_action(self) -> Frame:
        action = self.rng.choice(
            ['"dance"', '""', "5", "null", '["join"]', '"JOIN"', '"$connect"', '"$disconnect"', '"$default"', "{}"]
        )
        rest = self.rng.choice(["", ', "room": "fz-a"', ', "to": "x", "data": 1'])
        return Frame('{"action": ' + action + rest + "}", "bad", None)

    def _not_an_object(self) -> Frame:
        return Frame(
            self.rng.choice(['["join"]', '"join"', "42", "null", "true", "[]", '  {"action":"join"} x', "{}", "", " "]),
            "bad",
            None,
        )

    def _garbage(self) -> Frame:
        rng = self.rng
        n = rng.choice([1, 5, 50, 2000])
        choice = rng.random()
        if choice < 0.4:
            text = "".join(chr(rng.randint(1, 0xD7FF)) for _ in range(n))
        elif choice < 0.7:
            text = "".join(rng.choice(string.printable) for _ in range(n))
        else:
            text = json.dumps(self.valid())
            text = text[: rng.randint(0, len(text) - 1)]  # truncated
            if not text.strip():
                text = "{"
        if text.lstrip()[:1] in ("{", "[", '"') or text.strip() == "":
            return Frame(text, "any", None)  # vanishingly unlikely to be valid, but the oracle need not care
        return Frame(text, "bad", None)

    def _binary(self) -> Frame:
        if self.rng.random() < 0.5:
            return Frame(json.dumps(self.valid()).encode(), "bad", None)
        return Frame(self.rng.randbytes(self.rng.randint(1, 300)), "bad", None)

    def _duplicate_key(self) -> Frame:
        message = self.valid()
        text = json.dumps(message)
        return Frame(text[:-1] + ', "action": ' + json.dumps(message["action"]) + "}", "bad", message["action"])

    def _mutated(self) -> Frame:
        text = json.dumps(self.valid())
        chars = list(text)
        for _ in range(self.rng.randint(1, 4)):
            position = self.rng.randrange(len(chars))
            operation = self.rng.random()
            if operation < 0.4:
                chars[position] = self.rng.choice('{}[]",:0123456789eE.-+\\ntfa\u0000 ')
            elif operation < 0.7:
                del chars[position]
            else:
                chars.insert(position, self.rng.choice('{}[]",:\\u' + "\ud800"))
        mutated = "".join(chars)
        return Frame(mutated, "any", None)


# --- routing, as API Gateway does it ------------------------------------------------------------------------------

_ACTION = re.compile(r'^\s*\{\s*"action"\s*:\s*"([^"\\]*)"')


def route_of(frame: Frame, routes: set[str], rng: random.Random) -> str:
    """API Gateway's route selection on $request.body.action. Its JSON parser is not Python's: a frame Python
    cannot read (too deep, too long a number) may still be routed by its action, so such frames go either way."""
    if isinstance(frame.payload, bytes):
        return "$default"
    action: Any = None
    try:
        message = json.loads(frame.payload, parse_int=lambda _: 0, parse_float=lambda _: 0.0, parse_constant=str)
        action = message.get("action") if isinstance(message, dict) else None
    except (ValueError, RecursionError):
        found = _ACTION.match(frame.payload)
        if found and rng.random() < 0.5:
            action = found.group(1)
    if isinstance(action, str) and action in routes:
        return action
    return "$default"


# --- oracles -----------------------------------------------------------------------------------------------------


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not RFC 8259 JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} does not fit a double")
    return value


def strict_json(text: str | bytes) -> Any:
    """Parse a server frame as RFC 8259 JSON in UTF-8, or raise ValueError."""
    if isinstance(text, bytes):
        text = text.decode("utf-8")  # strict: invalid UTF-8 raises
    text.encode("utf-8")  # a lone surrogate cannot be sent as UTF-8
    value = json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float)
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for key in item:
                key.encode("utf-8")
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str):
            item.encode("utf-8")
    return value


def table_problems(items: list[dict[str, Any]]) -> list[str]:
    """The table's invariants: every seat has its peer and connection records, and every peer and connection
    record has its seat, all agreeing on room, slot, peer and socket. The one check of the table's consistency that
    every test uses (fuzz, storms, fault injection)."""
    seats, peers, conns = {}, {}, {}
    for item in items:
        pk, sk = item["pk"], item["sk"]
        if pk.startswith("room#") and sk.startswith("slot#"):
            seats[(pk.removeprefix("room#"), int(sk.removeprefix("slot#")))] = item
        elif pk.startswith("peer#") and sk == "peer":
            peers[pk.removeprefix("peer#")] = item
        elif pk.startswith("conn#") and sk == "conn":
            conns[pk.removeprefix("conn#")] = item
        # Besides: a socket's per-connection limits (conn#/limits) and a departure not yet announced
        # (peer#/departure): neither is membership.
    rooms = {
        pk.removeprefix("room#") for item in items if (pk := item["pk"]).startswith("room#") and item["sk"] == "meta"
    }
    problems = []
    for (room, slot), seat in seats.items():
        peer, conn = peers.get(seat["peerId"]), conns.get(seat["conn"])
        if room not in rooms:
            problems.append(f"seat {room}/{slot} has no room record")
        if peer is None or (peer["room"], int(peer["slot"]), peer["conn"]) != (room, slot, seat["conn"]):
            problems.append(f"seat {room}/{slot} ({seat['peerId']}) has no matching peer record: {peer}")
        if conn is None or (conn["room"], int(conn["slot"]), conn["peerId"]) != (room, slot, seat["peerId"]):
            problems.append(f"seat {room}/{slot} ({seat['conn']}) has no matching connection record: {conn}")
    seated_peers = {seat["peerId"] for seat in seats.values()}
    seated_conns = {seat["conn"] for seat in seats.values()}
    problems += [
        f"peer record {p} has no seat" for p, item in peers.items() if p not in seated_peers and "room" in item
    ]
    problems += [f"connection record {c} has no seat" for c in conns if c not in seated_conns]
    return problems
