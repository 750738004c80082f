"""All DynamoDB access: one table, four kinds of item, every write conditional, every item with a TTL.

    pk               sk          attributes                                    why
    room#<room>      meta        capacity, joins, expiresAt                    the room's capacity; a version
    room#<room>      slot#<i>    peerId, name, conn, expiresAt                 membership: one item per seat
    peer#<peer>      peer        room, slot, conn, tokenHash, expiresAt        relay target, identity, resume
    peer#<peer>      peer        tokenHash, expiresAt                          a tombstone: the peer left (below)
    conn#<conn>      conn        room, peerId, slot, expiresAt                 who is on this socket
    peer#<peer>      departure   room, conn, reason, expiresAt                 removed, room not yet told (below)

Capacity is enforced by seats: a room of capacity C has seats 0..C-1, and joining writes one seat with
"attribute_not_exists" in a transaction. There is no member counter that a lost $disconnect or a TTL deletion could
leave wrong: a seat whose record expired is free again. Peer ids are unique across the table, so a relay reads the
sender (by socket) and the target (by peer id) in one BatchGetItem. DynamoDB deletes expired items lazily, so every
read treats an expired item as absent.

When a member is removed, its peer record stays as a tombstone (room, slot and conn removed; tokenHash and expiresAt
kept) until its TTL: whoever may still remember that peerId (the others in the call, for a while) must not see it
come back as someone else, so only the holder of its token can take the id again until then.

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


@dataclass(frozen=True)
class PendingDeparture:
    """A removal whose `peer-left` the room may not have heard."""

    peer_id: str
    room: str
    conn: str
    reason: str


@dataclass(frozen=True)
class Room:
    name: str
    capacity: int | None  # None: the room does not exist (yet)
    version: int = 0
    members: list[Member] = field(default_factory=list)

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


def _meta(room: str) -> dict[str, Any]:
    return {PK: {"S": f"room#{room}"}, SK: {"S": "meta"}}


def _seat(room: str, slot: int) -> dict[str, Any]:
    return {PK: {"S": f"room#{room}"}, SK: {"S": f"slot#{slot}"}}


def _peer(peer_id: str) -> dict[str, Any]:
    return {PK: {"S": f"peer#{peer_id}"}, SK: {"S": "peer"}}


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
        capacity, version, members = None, 0, []
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
                return Room(room, capacity, version, members)
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
        """Seat a new peer atomically. Raises Contended, PeerIdTaken or ConnectionTaken. `claim_hash` (the hash of
        the token that came with a proposed peerId) lets the peer take over that id's tombstone."""
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
            meta = {
                "Update": {
                    "TableName": self._table,
                    "Key": _meta(room.name),
                    "UpdateExpression": "SET joins = joins + :one",
                    "ConditionExpression": f"attribute_exists({PK}) AND #ttl > :now",
                    "ExpressionAttributeNames": ttl,
                    "ExpressionAttributeValues": {":one": _n(1), ":now": _n(now)},
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
                    "UpdateExpression": "SET conn = :new, #ttl = :exp",
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

    def remove_member(self, *, room: str, slot: int, peer_id: str, conn: str, departure: str | None = None) -> bool:
        """Remove a peer if it is still on `conn`, leaving its tombstone. False: already removed, or it moved to
        another socket. `departure` (the reason to announce) also records the removal as not yet announced."""
        only_if_on_conn = {"ConditionExpression": "conn = :conn", "ExpressionAttributeValues": {":conn": _s(conn)}}
        tombstone = {
            "TableName": self._table,
            "Key": _peer(peer_id),
            "UpdateExpression": "REMOVE #room, #slot, #conn",
            "ExpressionAttributeNames": {"#room": "room", "#slot": "slot", "#conn": "conn"},
            "ConditionExpression": "#conn = :conn",
            "ExpressionAttributeValues": {":conn": _s(conn)},
        }
        items = [
            {"Delete": {"TableName": self._table, "Key": _seat(room, slot)} | only_if_on_conn},
            {"Update": tombstone},
            {"Delete": {"TableName": self._table, "Key": _conn(conn)}},
        ]
        if departure is not None:
            record = {"room": _s(room), "conn": _s(conn), "reason": _s(departure)}
            expiry = _n(self._now() + CONNECTION_MAX_SECONDS)
            items.append({"Put": {"TableName": self._table, "Item": _departure(peer_id) | record | {TTL: expiry}}})
        reasons = self._transact(items)
        if reasons is None:
            return True
        # Someone else removed or resumed this peer already: only this socket's own record is left to drop.
        self._db.delete_item(TableName=self._table, Key=_conn(conn))
        return False

    def pending_departure(self, peer_id: str) -> PendingDeparture | None:
        """The removal of `peer_id` that was recorded and not yet announced, if any."""
        key = _departure(peer_id)
        item = self._db.get_item(TableName=self._table, Key=key, ConsistentRead=True).get("Item")
        if not item or self._expired(item):
            return None
        return PendingDeparture(peer_id, item["room"]["S"], item["conn"]["S"], item["reason"]["S"])

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

    # --- helpers ----------------------------------------------------------------------------------------------

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
    )
