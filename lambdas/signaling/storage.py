"""All DynamoDB access: one table, four kinds of item, every write conditional, every item with a TTL.

    pk               sk          attributes                                    why
    room#<room>      meta        capacity, joins, expiresAt                    the room's capacity; a version
    room#<room>      seq         seq, expiresAt                                the room's membership sequence
    room#<room>      slot#<i>    peerId, name, conn, expiresAt                 membership: one item per seat
    peer#<peer>      peer        room, slot, conn, tokenHash, expiresAt        relay target, identity, resume
    peer#<peer>      peer        tokenHash, expiresAt                          a tombstone: the peer left (below)
    conn#<conn>      conn        room, peerId, slot, expiresAt                 who is on this socket
    mail#<peer>      m#<n>       from, data, expiresAt                         a signal held while the socket is gone
    peer#<peer>      departure   room, conn, reason, seq, expiresAt            removed, room not yet told (below)

Capacity is enforced by seats: a room of capacity C has seats 0..C-1, and joining writes one seat with
"attribute_not_exists" in a transaction. There is no member counter that a lost $disconnect or a TTL deletion could
leave wrong: a seat whose record expired is free again. Peer ids are unique across the table, so a relay reads the
sender (by socket) and the target (by peer id) in one BatchGetItem. DynamoDB deletes expired items lazily, so every
read treats an expired item as absent.

When a member is removed, its peer record stays as a tombstone (room, slot and conn removed; tokenHash and expiresAt
kept) until its TTL: whoever may still remember that peerId (the others in the call, for a while) must not see it
come back as someone else, so only the holder of its token can take the id again until then.

Every membership change (a seat taken or freed) moves the room's `seq` item from n to n + 1 in the same transaction,
conditional on n: membership events carry it, so clients can order them and recognise a stale snapshot.

A peer's mailbox holds the signals posted while its socket is gone (during the grace period). The peer record counts
them (mailSeq: every message ever held, which names the next item; mailHeld, mailBytes: what is held now, reset by
a resume), so the bounds are conditions of the same transaction that stores a message.

A removal may also write a departure record in its transaction: the room has not been told `peer-left` yet. The
remover deletes it once it has; a queued follow-up (signaling.grace.Departure) that still finds it tells the room.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from signaling.definition import CONNECTION_MAX_SECONDS, TABLE

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

PK, SK, TTL = TABLE.partition_key, TABLE.sort_key, TABLE.ttl_attribute
_MAX_ATTEMPTS = 6  # for TransactionConflict, which DynamoDB raises when transactions touch one item at once
_FRESH = f"attribute_not_exists({PK}) OR #ttl < :now"  # absent, or expired but not yet deleted by TTL


@dataclass(frozen=True)
class Member:
    peer_id: str
    name: str
    conn: str
    slot: int
    expired: bool = False


@dataclass(frozen=True)
class Connection:
    conn: str
    room: str
    peer_id: str
    slot: int


@dataclass(frozen=True)
class Peer:
    peer_id: str
    room: str
    slot: int
    conn: str
    token_hash: str
    lapsed: bool = False  # a tombstone: not seated anywhere, but its id stays bound to token_hash until its TTL
    mail_seq: int = 0  # messages ever held for it (the next one's number)
    mail_held: int = 0  # held now, and their bytes
    mail_bytes: int = 0


@dataclass(frozen=True)
class Mail:
    """A signal held for a peer whose socket is gone."""

    number: int
    sender: str  # the sender's peerId
    data: str  # the `signal` message, as it would have been posted


@dataclass(frozen=True)
class PendingDeparture:
    """A removal whose `peer-left` the room may not have heard."""

    peer_id: str
    room: str
    conn: str
    reason: str
    seq: int  # the removal's membership sequence number, which its `peer-left` carries


@dataclass(frozen=True)
class Room:
    name: str
    capacity: int | None  # None: the room does not exist (yet)
    version: int = 0
    members: list[Member] = field(default_factory=list)
    seq: int = 0  # the membership sequence: how many seats were taken or freed (0: none yet)

    @property
    def live(self) -> list[Member]:
        return [m for m in self.members if not m.expired]

    def free_slot(self, capacity: int) -> int | None:
        taken = {m.slot for m in self.live}
        return next((slot for slot in range(capacity) if slot not in taken), None)


class StorageError(Exception):
    """DynamoDB failed in a way the caller cannot fix."""


class Contended(Exception):
    """Someone else changed the room between our read and our write: read again and retry."""


class PeerIdTaken(Exception):
    pass


class ConnectionTaken(Exception):
    pass


class MailboxFull(Exception):
    pass


class NotHeld(Exception):
    """The peer is no longer on the socket the message was for: it resumed (deliver to `peer`) or left (None)."""

    def __init__(self, peer: Peer | None) -> None:
        super().__init__()
        self.peer = peer


def _meta(room: str) -> dict[str, Any]:
    return {PK: {"S": f"room#{room}"}, SK: {"S": "meta"}}


def _seat(room: str, slot: int) -> dict[str, Any]:
    return {PK: {"S": f"room#{room}"}, SK: {"S": f"slot#{slot}"}}


def _peer(peer_id: str) -> dict[str, Any]:
    return {PK: {"S": f"peer#{peer_id}"}, SK: {"S": "peer"}}


def _seq(room: str) -> dict[str, Any]:
    return {PK: {"S": f"room#{room}"}, SK: {"S": "seq"}}


def _mail(peer_id: str, number: int) -> dict[str, Any]:
    return {PK: {"S": f"mail#{peer_id}"}, SK: {"S": f"m#{number:010d}"}}


def _departure(peer_id: str) -> dict[str, Any]:
    return {PK: {"S": f"peer#{peer_id}"}, SK: {"S": "departure"}}


def _conn(conn: str) -> dict[str, Any]:
    return {PK: {"S": f"conn#{conn}"}, SK: {"S": "conn"}}


def _n(value: int) -> dict[str, str]:
    return {"N": str(value)}


def _s(value: str) -> dict[str, str]:
    return {"S": value}


class Storage:
    def __init__(
        self,
        client: DynamoDBClient,
        table_name: str,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._db = client
        self._table = table_name
        self._clock = clock
        self._sleep = sleep

    def _now(self) -> int:
        return int(self._clock())

    # --- reads ------------------------------------------------------------------------------------------------

    def room(self, room: str) -> Room:
        """The room's capacity, version and seats, in one strongly consistent Query."""
        capacity, version, seq, members = None, 0, 0, []
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": f"{PK} = :pk",
            "ExpressionAttributeValues": {":pk": _s(f"room#{room}")},
            "ConsistentRead": True,
        }
        while True:
            page = self._db.query(**kwargs)
            for item in page["Items"]:
                if item[SK]["S"] == "meta":
                    if not self._expired(item):
                        capacity, version = int(item["capacity"]["N"]), int(item["joins"]["N"])
                elif item[SK]["S"] == "seq":
                    seq = int(item["seq"]["N"])  # never treated as expired: the sequence only moves forward
                else:
                    members.append(
                        Member(
                            peer_id=item["peerId"]["S"],
                            name=item["name"]["S"],
                            conn=item["conn"]["S"],
                            slot=int(item[SK]["S"].removeprefix("slot#")),
                            expired=self._expired(item),
                        )
                    )
            if "LastEvaluatedKey" not in page:
                return Room(room, capacity, version, members, seq)
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def connection(self, conn: str) -> Connection | None:
        item = self._db.get_item(TableName=self._table, Key=_conn(conn), ConsistentRead=True).get("Item")
        return None if not item or self._expired(item) else _to_connection(conn, item)

    def peer(self, peer_id: str) -> Peer | None:
        item = self._db.get_item(TableName=self._table, Key=_peer(peer_id), ConsistentRead=True).get("Item")
        return None if not item or self._expired(item) else _to_peer(item)

    def connection_and_peer(self, conn: str, peer_id: str) -> tuple[Connection | None, Peer | None]:
        """The sender (by socket) and a target (by peer id) in one round trip."""
        keys: list[dict[str, Any]] = [_conn(conn), _peer(peer_id)]
        found: list[dict[str, Any]] = []
        for attempt in range(_MAX_ATTEMPTS):
            response = self._db.batch_get_item(RequestItems={self._table: {"Keys": keys, "ConsistentRead": True}})
            found += response["Responses"].get(self._table, [])
            unprocessed: dict[str, Any] = dict(response.get("UnprocessedKeys", {}))
            keys = unprocessed.get(self._table, {}).get("Keys", [])
            if not keys:
                break
            self._backoff(attempt)
        else:
            raise StorageError("BatchGetItem kept leaving keys unprocessed")
        sender = target = None
        for item in found:
            if self._expired(item):
                continue
            if item[PK]["S"].startswith("conn#"):
                sender = _to_connection(conn, item)
            elif "conn" in item:  # not a tombstone
                target = _to_peer(item)
        return sender, target

    # --- writes -----------------------------------------------------------------------------------------------

    def add_member(
        self,
        room: Room,
        *,
        slot: int,
        capacity: int,
        peer_id: str,
        name: str,
        conn: str,
        token_hash: str,
        expires_at: int,
        claim_hash: str | None = None,
    ) -> None:
        """Seat a new peer atomically, if the room is still as `room` was read: its membership sequence and its
        version (joins and resumes) unchanged, so the room committed is `room` plus this seat. Raises Contended,
        PeerIdTaken or ConnectionTaken. `claim_hash` (the hash of the token that came with a proposed peerId) lets
        the peer take over that id's tombstone."""
        now = self._now()
        fresh = {":now": _n(now)}
        ttl = {"#ttl": TTL}
        if room.capacity is None:
            # The first member creates the room and chooses its capacity.
            meta: dict[str, Any] = {
                "Put": {
                    "TableName": self._table,
                    "Item": _meta(room.name) | {"capacity": _n(capacity), "joins": _n(1)},
                    "ConditionExpression": _FRESH,
                    "ExpressionAttributeNames": ttl,
                    "ExpressionAttributeValues": fresh,
                }
            }
        else:
            # The version too: a resume (move_peer) changes a seat's socket without moving the sequence, and the
            # caller takes the room it read, plus this seat, as the room this transaction committed.
            meta = {
                "Update": {
                    "TableName": self._table,
                    "Key": _meta(room.name),
                    "UpdateExpression": "SET joins = joins + :one",
                    "ConditionExpression": f"attribute_exists({PK}) AND #ttl > :now AND joins = :seen",
                    "ExpressionAttributeNames": ttl,
                    "ExpressionAttributeValues": {":one": _n(1), ":now": _n(now), ":seen": _n(room.version)},
                }
            }
        self._set_room_expiry(meta, now)
        peer = self._put(
            _peer(peer_id),
            {
                "room": _s(room.name),
                "slot": _n(slot),
                "conn": _s(conn),
                "tokenHash": _s(token_hash),
                TTL: _n(expires_at),
            },
            now,
        )
        if claim_hash is not None:
            peer["Put"]["ConditionExpression"] += " OR (attribute_not_exists(conn) AND tokenHash = :claim)"
            peer["Put"]["ExpressionAttributeValues"][":claim"] = _s(claim_hash)
        items = [
            meta,
            self._put(
                _seat(room.name, slot),
                {"peerId": _s(peer_id), "name": _s(name), "conn": _s(conn), TTL: _n(expires_at)},
                now,
            ),
            peer,
            self._put(
                _conn(conn), {"room": _s(room.name), "peerId": _s(peer_id), "slot": _n(slot), TTL: _n(expires_at)}, now
            ),
            self._next_seq(room.name, room.seq, now),
        ]
        reasons = self._transact(items)
        if reasons is None:
            return
        failed = [reason.get("Code") == "ConditionalCheckFailed" for reason in reasons]
        if failed[3]:
            raise ConnectionTaken
        if failed[2]:
            raise PeerIdTaken
        raise Contended

    def move_peer(self, peer: Peer, *, new_conn: str, expires_at: int) -> None:
        """Resume: point a peer at a new socket, if nothing changed since `peer` was read. Raises Contended or
        ConnectionTaken."""
        now = self._now()
        values = {":new": _s(new_conn), ":exp": _n(expires_at), ":old": _s(peer.conn)}
        meta: dict[str, Any] = {
            "Update": {
                "TableName": self._table,
                "Key": _meta(peer.room),
                "UpdateExpression": "SET joins = joins + :one",
                "ConditionExpression": f"attribute_exists({PK})",
                "ExpressionAttributeValues": {":one": _n(1)},
            }
        }
        self._set_room_expiry(meta, now)
        items = [
            {
                "Update": {
                    "TableName": self._table,
                    "Key": _peer(peer.peer_id),
                    # The mailbox's bounds start again: what it holds is delivered on this resume.
                    "UpdateExpression": "SET conn = :new, #ttl = :exp REMOVE mailHeld, mailBytes",
                    "ConditionExpression": "conn = :old AND tokenHash = :hash",
                    "ExpressionAttributeNames": {"#ttl": TTL},
                    "ExpressionAttributeValues": values | {":hash": _s(peer.token_hash)},
                }
            },
            {
                "Update": {
                    "TableName": self._table,
                    "Key": _seat(peer.room, peer.slot),
                    "UpdateExpression": "SET conn = :new, #ttl = :exp",
                    "ConditionExpression": "conn = :old",
                    "ExpressionAttributeNames": {"#ttl": TTL},
                    "ExpressionAttributeValues": values,
                }
            },
            self._put(
                _conn(new_conn),
                {"room": _s(peer.room), "peerId": _s(peer.peer_id), "slot": _n(peer.slot), TTL: _n(expires_at)},
                now,
            ),
            {"Delete": {"TableName": self._table, "Key": _conn(peer.conn)}},
            meta,
        ]
        reasons = self._transact(items)
        if reasons is None:
            return
        if reasons[2].get("Code") == "ConditionalCheckFailed":
            raise ConnectionTaken
        raise Contended

    def remove_member(
        self, *, room: str, slot: int, peer_id: str, conn: str, departure: str | None = None
    ) -> int | None:
        """Remove a peer if it is still on `conn`, leaving its tombstone, and return the room's new membership
        sequence. None: already removed, or it moved to another socket. `departure` (the reason to announce) also
        records the removal, with its sequence number, as not yet announced."""
        only_if_on_conn = {"ConditionExpression": "conn = :conn", "ExpressionAttributeValues": {":conn": _s(conn)}}
        tombstone = {
            "TableName": self._table,
            "Key": _peer(peer_id),
            "UpdateExpression": "REMOVE #room, #slot, #conn",
            "ExpressionAttributeNames": {"#room": "room", "#slot": "slot", "#conn": "conn"},
            "ConditionExpression": "#conn = :conn",
            "ExpressionAttributeValues": {":conn": _s(conn)},
        }
        for _ in range(_MAX_ATTEMPTS):
            seen = self._seq_now(room)
            items = [
                {"Delete": {"TableName": self._table, "Key": _seat(room, slot)} | only_if_on_conn},
                {"Update": tombstone},
                {"Delete": {"TableName": self._table, "Key": _conn(conn)}},
                self._next_seq(room, seen, self._now()),
            ]
            if departure is not None:
                record = {"room": _s(room), "conn": _s(conn), "reason": _s(departure), "seq": _n(seen + 1)}
                expiry = _n(self._now() + CONNECTION_MAX_SECONDS)
                items.append({"Put": {"TableName": self._table, "Item": _departure(peer_id) | record | {TTL: expiry}}})
            reasons = self._transact(items)
            if reasons is None:
                return seen + 1
            if not any(reason.get("Code") == "ConditionalCheckFailed" for reason in reasons[:3]):
                continue  # only the sequence moved (another member joined or left): read it again
            # Someone else removed or resumed this peer already: only this socket's own record is left to drop.
            self._db.delete_item(TableName=self._table, Key=_conn(conn))
            return None
        raise StorageError("the room's sequence kept moving")

    def pending_departure(self, peer_id: str) -> PendingDeparture | None:
        """The removal of `peer_id` that was recorded and not yet announced, if any."""
        key = _departure(peer_id)
        item = self._db.get_item(TableName=self._table, Key=key, ConsistentRead=True).get("Item")
        if not item or self._expired(item):
            return None
        return PendingDeparture(
            peer_id, item["room"]["S"], item["conn"]["S"], item["reason"]["S"], int(item["seq"]["N"])
        )

    def departure_announced(self, peer_id: str, conn: str) -> None:
        """Forget the departure of `peer_id` from `conn` (a later one, from another socket, stays)."""
        try:
            self._db.delete_item(
                TableName=self._table,
                Key=_departure(peer_id),
                ConditionExpression="conn = :conn",
                ExpressionAttributeValues={":conn": _s(conn)},
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise

    def delete_room(self, room: Room) -> None:
        """Delete an empty room's record, unless someone joined since `room` was read."""
        try:
            self._db.delete_item(
                TableName=self._table,
                Key=_meta(room.name),
                ConditionExpression="joins = :seen",
                ExpressionAttributeValues={":seen": _n(room.version)},
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise

    # --- mailbox ----------------------------------------------------------------------------------------------

    def hold(self, peer: Peer, *, sender: str, message: str, limits: tuple[int, int], expires_at: int) -> int:
        """Keep `message` for `peer` while its socket (peer.conn) is gone; returns how many are held now (1: the
        first). Raises MailboxFull (limits: most messages, most bytes) or NotHeld (the peer moved or left)."""
        most_messages, most_bytes = limits
        size = len(message.encode())
        for _ in range(_MAX_ATTEMPTS):
            if peer.mail_held + 1 > most_messages or peer.mail_bytes + size > most_bytes:
                raise MailboxFull
            number = peer.mail_seq + 1
            count = {
                "Update": {
                    "TableName": self._table,
                    "Key": _peer(peer.peer_id),
                    "UpdateExpression": "SET mailSeq = :number, mailHeld = :held, mailBytes = :bytes",
                    "ConditionExpression": "conn = :conn AND "
                    + ("attribute_not_exists(mailSeq)" if peer.mail_seq == 0 else "mailSeq = :seen"),
                    "ExpressionAttributeValues": {
                        ":number": _n(number),
                        ":held": _n(peer.mail_held + 1),
                        ":bytes": _n(peer.mail_bytes + size),
                        ":conn": _s(peer.conn),
                    }
                    | ({":seen": _n(peer.mail_seq)} if peer.mail_seq else {}),
                }
            }
            held = {"from": _s(sender), "data": _s(message), TTL: _n(expires_at)}
            item = {"Put": {"TableName": self._table, "Item": _mail(peer.peer_id, number) | held}}
            if self._transact([count, item]) is None:
                return peer.mail_held + 1
            current = self.peer(peer.peer_id)
            if current is None or current.lapsed or current.conn != peer.conn:
                raise NotHeld(current if current is not None and not current.lapsed else None)
            peer = current  # another message was held meanwhile: count again
        raise StorageError("the mailbox kept changing")

    def mail(self, peer_id: str) -> list[Mail]:
        """The messages held for a peer, oldest first."""
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": f"{PK} = :pk",
            "ExpressionAttributeValues": {":pk": _s(f"mail#{peer_id}")},
            "ConsistentRead": True,
        }
        held: list[Mail] = []
        while True:
            page = self._db.query(**kwargs)
            held += [
                Mail(int(item[SK]["S"].removeprefix("m#")), item["from"]["S"], item["data"]["S"])
                for item in page["Items"]
                if not self._expired(item)
            ]
            if "LastEvaluatedKey" not in page:
                return held
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def drop_mail(self, peer_id: str, held: list[Mail]) -> None:
        for mail in held:
            self._db.delete_item(TableName=self._table, Key=_mail(peer_id, mail.number))

    # --- helpers ----------------------------------------------------------------------------------------------

    def _seq_now(self, room: str) -> int:
        item = self._db.get_item(TableName=self._table, Key=_seq(room), ConsistentRead=True).get("Item")
        return int(item["seq"]["N"]) if item else 0

    def _next_seq(self, room: str, seen: int, now: int) -> dict[str, Any]:
        """Move the room's sequence from `seen` to `seen` + 1 (fails if it moved meanwhile). It lives as long as the
        room record could, so it never starts again while anyone may remember a number."""
        return {
            "Update": {
                "TableName": self._table,
                "Key": _seq(room),
                "UpdateExpression": "SET seq = :next, #ttl = :ttl",
                "ConditionExpression": "attribute_not_exists(seq)" if seen == 0 else "seq = :seen",
                "ExpressionAttributeNames": {"#ttl": TTL},
                "ExpressionAttributeValues": {":next": _n(seen + 1), ":ttl": _n(now + CONNECTION_MAX_SECONDS)}
                | ({":seen": _n(seen)} if seen else {}),
            }
        }

    def _set_room_expiry(self, meta: dict[str, Any], now: int) -> None:
        # Every seat expires with its own socket, at most 2 h after it connected, so before now + 2 h; the room
        # record outlives all of them.
        expiry = _n(now + CONNECTION_MAX_SECONDS)
        if "Put" in meta:
            meta["Put"]["Item"][TTL] = expiry
        else:
            update = meta["Update"]
            update["UpdateExpression"] += ", #ttl = :roomttl"
            update.setdefault("ExpressionAttributeNames", {})["#ttl"] = TTL
            update["ExpressionAttributeValues"][":roomttl"] = expiry

    def _put(self, key: dict[str, Any], attributes: dict[str, Any], now: int) -> dict[str, Any]:
        return {
            "Put": {
                "TableName": self._table,
                "Item": key | attributes,
                "ConditionExpression": _FRESH,
                "ExpressionAttributeNames": {"#ttl": TTL},
                "ExpressionAttributeValues": {":now": _n(now)},
            }
        }

    def _transact(self, items: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
        """Run a transaction. None when it commits; the per-item cancellation reasons when a condition fails."""
        for attempt in range(_MAX_ATTEMPTS):
            try:
                self._db.transact_write_items(TransactItems=items)  # type: ignore[arg-type]
                return None
            except ClientError as exc:
                if exc.response["Error"]["Code"] != "TransactionCanceledException":
                    raise
                reasons: list[dict[str, Any]] = exc.response.get("CancellationReasons", [])  # type: ignore[assignment]
                codes = {reason.get("Code") for reason in reasons}
                if "ConditionalCheckFailed" in codes or "TransactionConflict" not in codes:
                    return reasons
                self._backoff(attempt)
        raise StorageError("transaction kept conflicting")

    def _backoff(self, attempt: int) -> None:
        self._sleep(random.uniform(0, 0.01 * 2**attempt))  # noqa: S311 - jitter, not security

    def _expired(self, item: dict[str, Any]) -> bool:
        return TTL in item and int(item[TTL]["N"]) <= self._now()


def _to_connection(conn: str, item: dict[str, Any]) -> Connection:
    return Connection(conn=conn, room=item["room"]["S"], peer_id=item["peerId"]["S"], slot=int(item["slot"]["N"]))


def _to_peer(item: dict[str, Any]) -> Peer:
    peer_id = item[PK]["S"].removeprefix("peer#")
    if "conn" not in item:
        return Peer(peer_id=peer_id, room="", slot=-1, conn="", token_hash=item["tokenHash"]["S"], lapsed=True)
    return Peer(
        peer_id=peer_id,
        room=item["room"]["S"],
        slot=int(item["slot"]["N"]),
        conn=item["conn"]["S"],
        token_hash=item["tokenHash"]["S"],
        mail_seq=int(item.get("mailSeq", {}).get("N", 0)),
        mail_held=int(item.get("mailHeld", {}).get("N", 0)),
        mail_bytes=int(item.get("mailBytes", {}).get("N", 0)),
    )
