"""The signaling rules: who may join, who hears what, and cleanup when a socket is gone.

Storage and Sender are passed in; nothing here knows about Lambda events or boto3.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any, Literal, Protocol, TypeVar

from pydantic import JsonValue

from signaling import wire
from signaling.definition import (
    CONNECTION_MAX_SECONDS,
    MAILBOX_MAX_BYTES,
    MAILBOX_MAX_MESSAGES,
    MAILBOX_SLACK_SECONDS,
    MAX_FRAME_BYTES,
    MAX_MESSAGE_BYTES,
)
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
from signaling.ice import configured_ice_servers
from signaling.models import Join, Signal, dumps, left, peer_joined, peer_left, relayed, undelivered
from signaling.observability import logger
from signaling.sender import Sender
from signaling.settings import Settings
from signaling.storage import (
    ConnectionTaken,
    Contended,
    MailboxFull,
    Member,
    NotHeld,
    Peer,
    PeerIdTaken,
    Room,
    Storage,
)

LeaveReason = Literal["left", "disconnected", "gone"]
T = TypeVar("T")

Admit = Callable[[], None]
"""A request's per-connection limit (signaling.ratelimit): takes its token or raises RateLimited."""


def _free() -> None:
    """No per-connection limit (the service's own callers: the grace period, the tests)."""


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
        alongside: Executor | None = None,
    ) -> None:
        """alongside: where a request's `admit` runs while the action makes its first read (one DynamoDB round trip
        for both); None runs it first, then the read."""
        self._storage = storage
        self._sender = sender
        self._settings = settings
        self._grace = grace
        self._turn_secret = turn_secret
        self._clock = clock
        self._alongside = alongside

    def _admitted(self, admit: Admit, read: Callable[[], T]) -> T:
        """`read`'s result, once `admit` took the request's token. The two run at once (`alongside`): `read` only
        reads, and nothing is written or posted before both are done. A refusal (or a failure of the limit) wins
        over whatever `read` raised, as if the limit had run first."""
        if self._alongside is None or admit is _free:
            admit()
            return read()
        charged = self._alongside.submit(admit)
        try:
            result = read()
        except BaseException:
            charged.result()
            raise
        charged.result()
        return result

    # --- join -------------------------------------------------------------------------------------------------

    def join(self, conn: str, request: Join, *, connected_at: float, admit: Admit = _free) -> dict[str, Any]:
        """Admit (or resume) a peer and return its `joined` message. Everyone else hears `peer-joined` first.
        `admit` (the per-connection limit) runs alongside the first read."""
        if request.capacity is not None and request.capacity > self._settings.max_capacity:
            admit()  # counted, as every request that passed validation
            raise BadRequest(f"'capacity' can be at most {self._settings.max_capacity} here.")
        offer = None if request.offer is None else self._payload("offer", request.offer, admit)
        expires_at = int(connected_at) + CONNECTION_MAX_SECONDS
        if request.peer_id is not None and request.token is not None:
            resumed = self._resume(conn, request, request.peer_id, request.token, expires_at, admit)
            if resumed is not None:
                return resumed
            admit = _free  # taken by the resume's read
        peer_id = request.peer_id or new_peer_id()
        token = new_token()
        # A proposed peerId that someone held recently stays bound to its token (its tombstone): only the token
        # takes it back.
        claim = hash_token(request.token) if request.peer_id is not None and request.token is not None else None
        room = self._seat(conn, request, peer_id, hash_token(token), expires_at, claim, admit)
        try:
            # The room as the seat's transaction committed it: nothing needs reading again (see _seat).
            others = [m for m in room.live if m.peer_id != peer_id]
            others, told = self._deliver(
                request.room, others, peer_joined(request.room, peer_id, request.name, room.seq)
            )
            offered_to = self._relay_offer(request.room, peer_id, others, told, offer) if offer is not None else None
            return self._joined(room, peer_id, token, request.name, others, resumed=False, offered_to=offered_to)
        except Exception:
            self._abandon_seat(conn, peer_id)
            raise

    def _payload(self, field: str, value: JsonValue, admit: Admit) -> str:
        """A payload to relay (`signal.data`, `join.offer`), serialized, once it is known to be within the limit."""
        data = wire.dumps(value)  # RFC 8259 only: wire.decode let no NaN or lone surrogate in
        size = len(data.encode())
        if size > self._settings.max_signal_bytes:
            admit()  # counted, as every request that passed validation
            raise TooLarge(f"'{field}' is {size} bytes; the limit is {self._settings.max_signal_bytes}.")
        return data

    def _relay_offer(self, room: str, peer_id: str, others: list[Member], told: set[str], offer: str) -> str | None:
        """Post the join's `offer` to the room's first other member, right behind its `peer-joined` (the same
        socket, in order), as the `signal` it would have been. Returns that member's peerId, or None when there is
        nobody, that member was not told of the newcomer (`told`: the sockets its `peer-joined` reached; rule 3),
        or the post failed: the join stands, and the client sends the offer as a `signal` (rule 4)."""
        if not others or others[0].conn not in told:
            return None
        target = others[0]
        try:
            delivered = self._sender.send(target.conn, relayed(room, peer_id, offer))
        except (Unavailable, Internal):
            return None  # logged by the sender; nothing is known about the socket
        if not delivered:
            self._socket_gone(room, target)
            return None
        return target.peer_id

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
        self,
        conn: str,
        request: Join,
        peer_id: str,
        token_hash: str,
        expires_at: int,
        claim: str | None = None,
        admit: Admit = _free,
    ) -> Room:
        """Take a free seat; returns the room as this join's transaction committed it. The transaction requires the
        room's membership sequence (every seat taken or freed moves it) and its version (every join and resume
        moves it) to be what was read, so the room it committed is exactly the one read plus the new seat, at the
        next sequence number."""
        reaped = False
        for _ in range(self._settings.max_capacity + 4):
            room = self._admitted(admit, lambda: self._storage.room(request.room))
            admit = _free
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
                seated = Member(peer_id=peer_id, name=request.name, conn=conn, slot=slot)
                return Room(request.room, capacity, room.version + 1, [*room.live, seated], room.seq + 1)
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

    def _resume(
        self, conn: str, request: Join, peer_id: str, token: str, expires_at: int, admit: Admit
    ) -> dict[str, Any] | None:
        for _ in range(3):
            peer = self._admitted(admit, lambda: self._storage.peer(peer_id))
            admit = _free
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
            return self._after_resume(peer, conn, token)
        raise Unavailable("Could not resume; try again.", retry_after_ms=200)

    def _after_resume(self, peer: Peer, conn: str, token: str) -> dict[str, Any]:
        # Close the replaced socket if it is still open; its $disconnect will find no record and change nothing.
        self._sender.disconnect(peer.conn)
        # The signals held while the socket was gone, in the order they were sent, before `joined` (the route's
        # reply). Anything sent from now on finds the new socket (move_peer committed first).
        held = self._storage.mail(peer.peer_id)
        for mail in held:
            try:
                delivered = self._sender.send(conn, mail.data)
            except (Unavailable, Internal):
                delivered = False  # the resume committed: it succeeds, and the rest waits as if the socket were gone
            if not delivered:
                break  # keep what is left, in order, for the next resume (or report it lost when the seat lapses)
            self._storage.drop_mail(peer.peer_id, [mail])
        room = self._storage.room(peer.room)
        name = next((m.name for m in room.live if m.peer_id == peer.peer_id), "")
        others = [m for m in room.live if m.peer_id != peer.peer_id]
        return self._joined(room, peer.peer_id, token, name, others, resumed=True)

    def _joined(
        self,
        room: Room,
        peer_id: str,
        token: str,
        name: str,
        others: list[Member],
        *,
        resumed: bool,
        offered_to: str | None = None,
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
            "seq": room.seq,
            "peers": [{"peerId": m.peer_id, "name": m.name} for m in others],
            "offeredTo": offered_to,
            "iceServers": self._ice_servers(peer_id),
            "limits": {
                "maxSignalBytes": settings.max_signal_bytes,
                "maxCapacity": settings.max_capacity,
                "maxMessageBytes": MAX_MESSAGE_BYTES,
                "maxFrameBytes": MAX_FRAME_BYTES,
            },
        }

    def _ice_servers(self, peer_id: str) -> list[dict[str, Any]]:
        return configured_ice_servers(self._settings, user=peer_id, now=self._clock(), turn_secret=self._turn_secret)

    def _reap(self, room: Room) -> bool:
        """Free the seats of sockets that are gone; True if any was freed."""
        stale = [m for m in room.members if m.expired or not self._sender.is_connected(m.conn)]
        for member in stale:
            self._remove(room.name, member, "gone")
            self._report_held(room.name, member.peer_id)
        return bool(stale)

    # --- signal -----------------------------------------------------------------------------------------------

    def signal(self, conn: str, request: Signal, *, admit: Admit = _free) -> None:
        """Relay `data` to one peer of the sender's room: one DynamoDB round trip (with the per-connection limit's,
        `admit`, alongside) and one post."""
        data = self._payload("data", request.data, admit)
        sender, target = self._admitted(admit, lambda: self._storage.connection_and_peer(conn, request.to))
        if sender is None:
            raise NotJoined("Join a room before sending signals.")
        if request.to == sender.peer_id:
            raise BadRequest("You cannot signal yourself.")
        if target is None or target.room != sender.room:
            raise UnknownPeer(f'There is no peer "{request.to}" in room "{sender.room}".')
        message = relayed(sender.room, sender.peer_id, data)
        for _ in range(3):
            if self._sender.send(target.conn, message):
                return
            moved = self._hold(sender.room, sender.peer_id, conn, target, message)
            if moved is None:
                return
            target = moved  # it resumed meanwhile: post to its new socket
        raise Unavailable("The peer keeps changing sockets; try again.", retry_after_ms=200)

    def _hold(self, room: str, sender: str, sender_conn: str, target: Peer, message: str) -> Peer | None:
        """The target's socket is gone: keep the message for its resume (rule 5) and start that socket's grace period,
        since its $disconnect may never come. Returns the target's new record if it resumed meanwhile."""
        grace = self._settings.disconnect_grace_seconds
        if not self._holds_seats() or self._grace is None:  # (the second test is for mypy: _holds_seats checks it)
            # No grace period: the seat goes at once, and the message with it.
            self._remove(room, Member(target.peer_id, "", target.conn, target.slot), "gone")
            self._sender.send(sender_conn, dumps(undelivered(room, target.peer_id, 1, "peer-left")))
            return None
        try:
            held = self._storage.hold(
                target,
                sender=sender,
                message=message,
                limits=(MAILBOX_MAX_MESSAGES, MAILBOX_MAX_BYTES),
                expires_at=int(self._clock()) + grace + MAILBOX_SLACK_SECONDS,
            )
        except MailboxFull:
            self._sender.send(sender_conn, dumps(undelivered(room, target.peer_id, 1, "mailbox-full")))
            return None
        except NotHeld as exc:
            if exc.peer is None or exc.peer.room != room:
                self._sender.send(sender_conn, dumps(undelivered(room, target.peer_id, 1, "peer-left")))
                return None
            return exc.peer
        if held == 1:
            self._grace.start(target.conn, grace)  # idempotent with the one $disconnect starts
        return None

    # --- leave / disconnect -----------------------------------------------------------------------------------

    def leave(self, conn: str, reason: LeaveReason = "left", *, admit: Admit = _free) -> None:
        connection = self._admitted(admit, lambda: self._storage.connection(conn))
        if connection is None:
            if reason == "left":
                raise NotJoined("You are not in a room.")
            return  # never joined, already left, or replaced by a resume: nothing to do
        seq = self._remove(connection.room, Member(connection.peer_id, "", conn, connection.slot), reason)
        self._report_held(connection.room, connection.peer_id)
        if reason != "left":
            return
        if seq is None:  # another `leave` of this socket (or the end of a grace period) freed the seat first
            raise NotJoined("You are not in a room.")
        self._sender.send(conn, dumps(left(connection.room, connection.peer_id, seq)))

    def _report_held(self, room: str, peer_id: str) -> None:
        """The seat lapsed (or was left) with signals held for it: they will never be delivered, so tell each
        sender how many of its signals were lost. Only when the peer really is out: a resume delivers them."""
        held = self._storage.mail(peer_id)
        if not held:
            return
        peer = self._storage.peer(peer_id)
        if peer is not None and not peer.lapsed:
            return  # it resumed (or joined again): the mailbox is the new seat's
        lost: dict[str, int] = {}
        for mail in held:
            lost[mail.sender] = lost.get(mail.sender, 0) + 1
        self._storage.drop_mail(peer_id, held)
        for sender_id, count in lost.items():
            sender = self._storage.peer(sender_id)
            if sender is not None and not sender.lapsed and sender.room == room:
                # (a fan-out never raises: a report that cannot be posted is lost, not the action that freed the seat)
                self._sender.fan_out([sender.conn], dumps(undelivered(room, peer_id, count, "peer-left")))

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
        removed the seat died first), tell it now, with the removal's own sequence number, and tell the senders of
        signals still held for the peer that they are lost. Safe to call any number of times."""
        pending = self._storage.pending_departure(peer_id)
        if pending is None or pending.conn != conn:
            return  # announced, or never committed
        reason: LeaveReason = pending.reason if pending.reason in ("left", "disconnected") else "gone"  # type: ignore[assignment]
        # A failure: SQS delivers it again.
        self._tell_room(pending.room, peer_id, conn, reason, pending.seq, recorded=True)
        self._report_held(pending.room, peer_id)

    def _remove(self, room_name: str, member: Member, reason: LeaveReason) -> int | None:
        """Free the seat if it is still this member's and tell the room; the removal's membership sequence number, or
        None if the seat was not this member's any more. The announcement is followed through: before the removal
        commits, a follow-up is queued (it outlives this invocation), and the removal records the departure (with
        its number) as unannounced in the same transaction; the record goes once the room was told. If this
        invocation dies in between, the follow-up finds the record and tells the room (departure_over)."""
        queued = self._grace is not None and self._grace.follow_up(
            member.peer_id, member.conn, self._settings.follow_up_delay_seconds
        )
        seq = self._storage.remove_member(
            room=room_name,
            slot=member.slot,
            peer_id=member.peer_id,
            conn=member.conn,
            departure=reason if queued else None,
        )
        if seq is None:
            return None
        self._announce(room_name, member.peer_id, member.conn, reason, seq, recorded=queued)
        return seq

    def _announce(
        self, room_name: str, peer_id: str, conn: str, reason: LeaveReason, seq: int, *, recorded: bool
    ) -> None:
        """Tell the room about a removal that committed. Never raises when the departure is recorded: the action
        that removed the seat succeeded, and whatever failed here is done again by the queued follow-up."""
        try:
            self._tell_room(room_name, peer_id, conn, reason, seq, recorded=recorded)
        except Exception:
            if not recorded:
                raise
            logger.warning("announcing a departure failed; its follow-up will", extra={"peer": peer_id}, exc_info=True)

    def _tell_room(
        self, room_name: str, peer_id: str, conn: str, reason: LeaveReason, seq: int, *, recorded: bool
    ) -> None:
        room = self._storage.room(room_name)
        if any(m.peer_id == peer_id for m in room.live):
            pass  # seated again (the same peerId rejoined with its token): it never left, as far as the room knows
        elif not room.live:
            self._storage.delete_room(room)
        else:
            message = dumps(peer_left(room_name, peer_id, reason, seq))
            delivery = self._sender.fan_out([m.conn for m in room.live], message)
            self._drop_gone(room_name, room.live, delivery.gone)
            if delivery.failed:
                return  # keep the record: the follow-up tells the room again (the same event twice is harmless)
        if recorded:
            self._storage.departure_announced(peer_id, conn)

    def _deliver(
        self, room_name: str, recipients: list[Member], message: dict[str, Any]
    ) -> tuple[list[Member], set[str]]:
        """Post to several members at once. A member whose socket is gone keeps its seat for the grace period (see
        _socket_gone). Returns the members still seated (a member whose post failed otherwise, or did not finish
        within the budget, stays: nothing is known about it), and the sockets the message reached. Never raises for
        a post: what was committed before the fan-out stays valid whatever the posts do."""
        delivery = self._sender.fan_out([m.conn for m in recipients], dumps(message))
        self._drop_gone(room_name, recipients, delivery.gone)
        reached = {m.conn for m in recipients} - delivery.gone - delivery.failed
        return [m for m in recipients if m.conn not in delivery.gone or self._holds_seats()], reached

    def _drop_gone(self, room_name: str, recipients: list[Member], gone: set[str]) -> None:
        for member in recipients:
            if member.conn in gone:
                self._socket_gone(room_name, member)

    def _holds_seats(self) -> bool:
        return self._settings.disconnect_grace_seconds > 0 and self._grace is not None

    def _socket_gone(self, room_name: str, member: Member) -> None:
        """A post found a member's socket gone. Its seat is held for the grace period, exactly as if its $disconnect
        had come (which may never happen): a resume within it hears about what it missed from `joined` (peers, seq)
        and the signals held for it. Without a grace period it is removed at once ("gone")."""
        if self._holds_seats() and self._grace is not None:
            self._grace.start(member.conn, self._settings.disconnect_grace_seconds)
        else:
            self._remove(room_name, member, "gone")
            self._report_held(room_name, member.peer_id)
