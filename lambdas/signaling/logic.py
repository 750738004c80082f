"""The signaling rules: who may join, who hears what, and cleanup when a socket is gone.

Storage and Sender are passed in; nothing here knows about Lambda events or boto3.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable
from typing import Any, Literal, Protocol

from signaling import wire
from signaling.definition import CONNECTION_MAX_SECONDS, MAX_FRAME_BYTES, MAX_MESSAGE_BYTES
from signaling.errors import (
    AlreadyJoined,
    BadRequest,
    Internal,
    InvalidToken,
    NotJoined,
    RoomFull,
    TooLarge,
    Unavailable,
    UnknownPeer,
)
from signaling.ice import ice_servers
from signaling.models import Join, Signal, dumps, peer_joined, peer_left
from signaling.observability import logger
from signaling.sender import Sender
from signaling.settings import Settings
from signaling.storage import ConnectionTaken, Contended, Member, Peer, PeerIdTaken, Room, Storage

LeaveReason = Literal["left", "disconnected", "gone"]


class GraceTimer(Protocol):
    """Calls Signaling.grace_over(conn) once `delay_seconds` have passed (signaling.grace.GraceQueue in AWS)."""

    def start(self, conn: str, delay_seconds: int) -> None: ...

    def follow_up(self, peer_id: str, conn: str, delay_seconds: int) -> bool:
        """Calls Signaling.departure_over(peer_id, conn) once `delay_seconds` have passed; False if it cannot."""
        ...


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_peer_id() -> str:
    return secrets.token_urlsafe(16)  # 22 characters, 128 bits: unique without coordination


def new_token() -> str:
    return secrets.token_urlsafe(32)


class Signaling:
    def __init__(
        self,
        storage: Storage,
        sender: Sender,
        settings: Settings,
        *,
        grace: GraceTimer | None = None,
        turn_secret: Callable[[], str | None] = lambda: None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._storage = storage
        self._sender = sender
        self._settings = settings
        self._grace = grace
        self._turn_secret = turn_secret
        self._clock = clock

    # --- join -------------------------------------------------------------------------------------------------

    def join(self, conn: str, request: Join, *, connected_at: float) -> dict[str, Any]:
        """Admit (or resume) a peer and return its `joined` message. Everyone else hears `peer-joined` first."""
        if request.capacity is not None and request.capacity > self._settings.max_capacity:
            raise BadRequest(f"'capacity' can be at most {self._settings.max_capacity} here.")
        expires_at = int(connected_at) + CONNECTION_MAX_SECONDS
        if request.peer_id is not None and request.token is not None:
            resumed = self._resume(conn, request, request.peer_id, request.token, expires_at)
            if resumed is not None:
                return resumed
        peer_id = request.peer_id or new_peer_id()
        token = new_token()
        # A proposed peerId that someone held recently stays bound to its token (its tombstone): only the token
        # takes it back.
        claim = hash_token(request.token) if request.peer_id is not None and request.token is not None else None
        self._seat(conn, request, peer_id, hash_token(token), expires_at, claim)
        try:
            room = self._storage.room(request.room)
            others = [m for m in room.live if m.peer_id != peer_id]
            others = self._deliver(request.room, others, peer_joined(peer_id, request.name))
            return self._joined(room, peer_id, token, request.name, others, resumed=False)
        except Exception:
            self._abandon_seat(conn, peer_id)
            raise

    def _abandon_seat(self, conn: str, peer_id: str) -> None:
        """A join failed after its seat was committed (a read or the TURN secret failed): free the seat, so that the
        caller, who hears an error, can retry on the same socket. Best effort: if this fails too, the seat is freed
        like any other (`leave`, the socket's grace period, its TTL)."""
        try:
            connection = self._storage.connection(conn)
            if connection is not None and connection.peer_id == peer_id:
                self._remove(connection.room, Member(peer_id, "", conn, connection.slot), "left")
        except Exception:
            logger.warning("could not free the seat of a failed join", extra={"peer": peer_id}, exc_info=True)

    def _seat(
        self, conn: str, request: Join, peer_id: str, token_hash: str, expires_at: int, claim: str | None = None
    ) -> None:
        reaped = False
        for _ in range(self._settings.max_capacity + 4):
            room = self._storage.room(request.room)
            capacity = room.capacity or request.capacity or self._settings.default_capacity
            slot = room.free_slot(capacity)
            if slot is None:
                # Full, unless some seat belongs to a socket that died without a $disconnect (best-effort).
                if not reaped and self._reap(room):
                    reaped = True
                    continue
                raise RoomFull(f'Room "{request.room}" is full ({len(room.live)} of {capacity}).')
            try:
                self._storage.add_member(
                    room,
                    slot=slot,
                    capacity=capacity,
                    peer_id=peer_id,
                    name=request.name,
                    conn=conn,
                    token_hash=token_hash,
                    expires_at=expires_at,
                    claim_hash=claim,
                )
                return
            except Contended:
                continue  # another join took the seat, or the room changed: read it again
            except PeerIdTaken as exc:
                raise InvalidToken(
                    f'The peerId "{peer_id}" is in use or was in use recently. Send its token to take it back, or join'
                    " without a peerId."
                ) from exc
            except ConnectionTaken as exc:
                raise AlreadyJoined(
                    "This connection is already in a room. Send 'leave' first, or open a new connection."
                ) from exc
        raise Unavailable("The room is too busy right now; try again.", retry_after_ms=200)

    def _resume(self, conn: str, request: Join, peer_id: str, token: str, expires_at: int) -> dict[str, Any] | None:
        for _ in range(3):
            peer = self._storage.peer(peer_id)
            if peer is None:
                return None  # never existed, or its record expired: join afresh with this peerId
            if peer.lapsed:
                if not hmac.compare_digest(peer.token_hash, hash_token(token)):
                    raise InvalidToken(f'The token does not match peerId "{peer_id}".')
                return None  # membership lapsed (left, or its socket was found dead): join afresh, same peerId
            if not hmac.compare_digest(peer.token_hash, hash_token(token)):
                raise InvalidToken(f'The token does not match peerId "{peer_id}".')
            if peer.room != request.room:
                raise BadRequest(f'peerId "{peer_id}" is a member of another room; leave it first.')
            if peer.conn == conn:
                raise AlreadyJoined("This connection is already in this room.")
            try:
                self._storage.move_peer(peer, new_conn=conn, expires_at=expires_at)
            except Contended:
                continue
            except ConnectionTaken as exc:
                raise AlreadyJoined("This connection is already in a room.") from exc
            return self._after_resume(peer, token)
        raise Unavailable("Could not resume; try again.", retry_after_ms=200)

    def _after_resume(self, peer: Peer, token: str) -> dict[str, Any]:
        # Close the replaced socket if it is still open; its $disconnect will find no record and change nothing.
        self._sender.disconnect(peer.conn)
        room = self._storage.room(peer.room)
        name = next((m.name for m in room.live if m.peer_id == peer.peer_id), "")
        others = [m for m in room.live if m.peer_id != peer.peer_id]
        return self._joined(room, peer.peer_id, token, name, others, resumed=True)

    def _joined(
        self, room: Room, peer_id: str, token: str, name: str, others: list[Member], *, resumed: bool
    ) -> dict[str, Any]:
        settings = self._settings
        return {
            "type": "joined",
            "room": room.name,
            "peerId": peer_id,
            "token": token,
            "name": name,
            "capacity": room.capacity,
            "resumed": resumed,
            "peers": [{"peerId": m.peer_id, "name": m.name} for m in others],
            "iceServers": ice_servers(
                settings.ice_servers,
                peer_id=peer_id,
                now=self._clock(),
                turn_urls=settings.turn_urls,
                turn_secret=self._turn_secret() if settings.turn_urls else None,
                ttl_seconds=settings.turn_ttl_seconds,
            ),
            "limits": {
                "maxSignalBytes": settings.max_signal_bytes,
                "maxCapacity": settings.max_capacity,
                "maxMessageBytes": MAX_MESSAGE_BYTES,
                "maxFrameBytes": MAX_FRAME_BYTES,
            },
        }

    def _reap(self, room: Room) -> bool:
        """Free the seats of sockets that are gone; True if any was freed."""
        stale = [m for m in room.members if m.expired or not self._sender.is_connected(m.conn)]
        for member in stale:
            self._remove(room.name, member, "gone")
        return bool(stale)

    # --- signal -----------------------------------------------------------------------------------------------

    def signal(self, conn: str, request: Signal) -> None:
        """Relay `data` to one peer of the sender's room: one DynamoDB round trip and one post."""
        data = wire.dumps(request.data)  # RFC 8259 only: wire.decode let no NaN or lone surrogate in
        size = len(data.encode())
        if size > self._settings.max_signal_bytes:
            raise TooLarge(f"'data' is {size} bytes; the limit is {self._settings.max_signal_bytes}.")
        sender, target = self._storage.connection_and_peer(conn, request.to)
        if sender is None:
            raise NotJoined("Join a room before sending signals.")
        if request.to == sender.peer_id:
            raise BadRequest("You cannot signal yourself.")
        if target is None or target.room != sender.room:
            raise UnknownPeer(f'There is no peer "{request.to}" in room "{sender.room}".')
        message = f'{{"type":"signal","from":{json.dumps(sender.peer_id)},"data":{data}}}'
        if not self._sender.send(target.conn, message):
            self._remove(sender.room, Member(target.peer_id, "", target.conn, target.slot), "gone")

    # --- leave / disconnect -----------------------------------------------------------------------------------

    def leave(self, conn: str, reason: LeaveReason = "left") -> None:
        connection = self._storage.connection(conn)
        if connection is None:
            if reason == "left":
                raise NotJoined("You are not in a room.")
            return  # never joined, already left, or replaced by a resume: nothing to do
        self._remove(connection.room, Member(connection.peer_id, "", conn, connection.slot), reason)

    def disconnect(self, conn: str) -> None:
        """A socket closed. Its seat is held for the grace period, so that a client which reconnects (the socket hit
        the 2-hour limit or the idle timeout, or the network dropped) resumes without anyone hearing a thing: a
        timer starts, and returns at once. A resume deletes this socket's record; if the record is still there when
        the timer fires (grace_over), the peer is gone."""
        if self._storage.connection(conn) is None:
            return  # never joined, left, or already replaced by a resume
        grace = self._settings.disconnect_grace_seconds
        if grace > 0:
            if self._grace is None:
                raise Internal("No grace timer is configured.")
            self._grace.start(conn, grace)
            return
        self.leave(conn, reason="disconnected")

    def grace_over(self, conn: str) -> None:
        """The grace period of a closed socket ended: free its seat unless a resume or a `leave` came first. Safe to
        call any number of times: the removal is conditional on the seat still being this socket's."""
        self.leave(conn, reason="disconnected")

    def departure_over(self, peer_id: str, conn: str) -> None:
        """A removal's follow-up (signaling.grace.Departure) is due: if the room was never told (the invocation that
        removed the seat died first), tell it now. Safe to call any number of times."""
        pending = self._storage.pending_departure(peer_id)
        if pending is None or pending.conn != conn:
            return  # announced, or never committed
        reason: LeaveReason = pending.reason if pending.reason in ("left", "disconnected") else "gone"  # type: ignore[assignment]
        self._tell_room(pending.room, peer_id, conn, reason, recorded=True)  # a failure: SQS delivers it again

    def _remove(self, room_name: str, member: Member, reason: LeaveReason) -> None:
        """Free a seat and tell the room. The announcement is followed through: before the removal commits, a
        follow-up is queued (it outlives this invocation), and the removal records the departure as unannounced in
        the same transaction; the record goes once the room was told. If this invocation dies in between, the
        follow-up finds the record and tells the room (departure_over)."""
        queued = self._grace is not None and self._grace.follow_up(
            member.peer_id, member.conn, self._settings.follow_up_delay_seconds
        )
        removed = self._storage.remove_member(
            room=room_name,
            slot=member.slot,
            peer_id=member.peer_id,
            conn=member.conn,
            departure=reason if queued else None,
        )
        if not removed:
            return
        self._announce(room_name, member.peer_id, member.conn, reason, recorded=queued)

    def _announce(self, room_name: str, peer_id: str, conn: str, reason: LeaveReason, *, recorded: bool) -> None:
        """Tell the room about a removal that committed. Never raises when the departure is recorded: the action
        that removed the seat succeeded, and whatever failed here is done again by the queued follow-up."""
        try:
            self._tell_room(room_name, peer_id, conn, reason, recorded=recorded)
        except Exception:
            if not recorded:
                raise
            logger.warning("announcing a departure failed; its follow-up will", extra={"peer": peer_id}, exc_info=True)

    def _tell_room(self, room_name: str, peer_id: str, conn: str, reason: LeaveReason, *, recorded: bool) -> None:
        room = self._storage.room(room_name)
        if any(m.peer_id == peer_id for m in room.live):
            pass  # seated again (the same peerId rejoined with its token): it never left, as far as the room knows
        elif not room.live:
            self._storage.delete_room(room)
        else:
            delivery = self._sender.fan_out([m.conn for m in room.live], dumps(peer_left(peer_id, reason)))
            self._drop_gone(room_name, room.live, delivery.gone)
            if delivery.failed:
                return  # keep the record: the follow-up tells the room again (peer-left twice is harmless)
        if recorded:
            self._storage.departure_announced(peer_id, conn)

    def _deliver(self, room_name: str, recipients: list[Member], message: dict[str, Any]) -> list[Member]:
        """Post to several members at once; remove the ones whose socket is gone. Returns the reachable ones (a
        member whose post failed otherwise, or did not finish within the budget, stays: nothing is known about it).
        Never raises for a post: what was committed before the fan-out stays valid whatever the posts do."""
        delivery = self._sender.fan_out([m.conn for m in recipients], dumps(message))
        self._drop_gone(room_name, recipients, delivery.gone)
        return [m for m in recipients if m.conn not in delivery.gone]

    def _drop_gone(self, room_name: str, recipients: list[Member], gone: set[str]) -> None:
        for member in recipients:
            if member.conn in gone:
                self._remove(room_name, member, "gone")
