"""Engine, sessions and the declarative base shared by every domain's models.

One transaction per unit of work: :func:`Database.session` commits when the block
ends and rolls back on any error. Services never commit; they flush when they need ids.
"""

from __future__ import annotations

import os
import socket
import sqlite3
import threading
from collections import namedtuple
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import (
    JSON,
    DateTime,
    Engine,
    MetaData,
    Select,
    bindparam,
    create_engine,
    event,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.pool import NullPool, QueuePool
from sqlalchemy.types import TypeDecorator

from registry.observability.metrics import metered_pool

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# JSONB on PostgreSQL (indexable, compact), plain JSON text elsewhere.
JSONType = JSON().with_variant(JSONB(), "postgresql")
# The same, storing Python None as SQL NULL so "IS NULL" finds it.
NullableJSONType = JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every store (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; use utcnow()")
        # In UTC: SQLite keeps the wall time and drops the offset, so 00:00+05:00 would
        # be read back (and compared) as 00:00 UTC.
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


def utcnow() -> datetime:
    """The current time, timezone-aware."""
    return datetime.now(UTC)


# How long PostgreSQL may stay silent before a request gets its 503, instead of hanging
# while the database host drops packets: a new connection may take CONNECT_TIMEOUT_S
# (psycopg waits 130 s by default); data sent on an open one (the pool's ping, a query)
# may go unacknowledged by the host's TCP stack for TCP_USER_TIMEOUT_MS (by default
# Linux retransmits for about 15 minutes). Either, given in the database URL's query,
# takes precedence.
CONNECT_TIMEOUT_S = 5
TCP_USER_TIMEOUT_MS = 10_000
# An idle pooled connection whose host went away is found by keepalive probes: the first
# after KEEPALIVES_IDLE_S of silence, then every KEEPALIVES_INTERVAL_S, given up on after
# KEEPALIVES_COUNT unanswered (Linux waits two hours before the first by default).
KEEPALIVES_IDLE_S = 30
KEEPALIVES_INTERVAL_S = 10
KEEPALIVES_COUNT = 3
# The connect timeout of a readiness check (libpq takes no less than 2 s).
PING_CONNECT_TIMEOUT_S = 2

# Errors that say the database cannot be reached, as opposed to busy: a SQLite file that
# cannot be opened or read; a PostgreSQL connection refused, timed out or lost (psycopg
# gives these no SQLSTATE), class 08, or a server shutting down or starting up.
_SQLITE_UNREACHABLE = ("SQLITE_CANTOPEN", "SQLITE_IOERR", "SQLITE_NOTADB")
_POSTGRES_UNREACHABLE = ("08", "57P01", "57P02", "57P03")
# The other errors of a working database that pass with time (a lock, a conflict between
# transactions, a cancelled statement), and two that an operator must fix: no space left,
# and a database that takes no writes. Any other error is the registry's to report.
_SQLITE_BUSY = ("SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_PROTOCOL", "SQLITE_SCHEMA")
_POSTGRES_BUSY = ("40001", "40P01", "55P03", "57014", "53300")
_FULL = ("SQLITE_FULL", "53100")
_READ_ONLY = ("SQLITE_READONLY", "25006")


def make_engine(
    url: str,
    *,
    busy_timeout_ms: int = 30_000,
    statement_timeout_ms: int | None = None,
    echo: bool = False,
    set_up_file: bool = True,
    single_statements: bool = False,
    ping: bool = False,
) -> Engine:
    """An engine configured for the registry's transaction rules on SQLite or PostgreSQL.

    On SQLite, ``set_up_file`` puts the file in WAL mode, which takes a lock; an engine
    for a file another engine has set up already passes False.

    On a server database, ``single_statements`` makes an engine for reads of one
    statement each (see ``Database.reads``): in autocommit, so no BEGIN and no
    ROLLBACK cross the network, and without the pool's ping on checkout. ``ping`` makes
    one for readiness checks: a new connection each time, with a short connect timeout.

    On PostgreSQL, ``statement_timeout_ms`` has the server cancel a statement that runs
    longer (a 503, "busy"); it is kept in the engine's URL, so the engines made from it
    for checks keep it too, and a ``statement_timeout`` in the URL's ``options`` wins.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        connect_args: dict[str, Any] = {}
        if parsed.get_backend_name() == "postgresql":
            if statement_timeout_ms:
                given = parsed.query.get("options", "")
                ours = f"-c statement_timeout={int(statement_timeout_ms)}"
                parsed = parsed.update_query_dict(
                    {"options": f"{ours} {given}".strip() if isinstance(given, str) else ours}
                )
            defaults = {
                "connect_timeout": PING_CONNECT_TIMEOUT_S if ping else CONNECT_TIMEOUT_S,
                "tcp_user_timeout": TCP_USER_TIMEOUT_MS,
                "keepalives": 1,
                "keepalives_idle": KEEPALIVES_IDLE_S,
                "keepalives_interval": KEEPALIVES_INTERVAL_S,
                "keepalives_count": KEEPALIVES_COUNT,
            }
            connect_args = {k: v for k, v in defaults.items() if k not in parsed.query}
        # The metered pool reports connections in use and waits for one (GET /metrics).
        options: dict[str, Any] = {
            "pool_size": 10,
            "max_overflow": 20,
            "poolclass": metered_pool("main"),
        }
        if single_statements:
            options = {"pool_size": 5, "max_overflow": 10, "isolation_level": "AUTOCOMMIT"}
        if ping:
            options = {"poolclass": NullPool, "isolation_level": "AUTOCOMMIT"}
        # pool_pre_ping: connections the database dropped (a restart, a failover) are
        # replaced on checkout, so the server recovers on its own when it comes back.
        return create_engine(
            parsed,
            echo=echo,
            pool_pre_ping=not (single_statements or ping),
            connect_args=connect_args,
            **options,
        )

    metered = set_up_file and parsed.database not in (None, "", ":memory:")
    engine = create_engine(
        url,
        echo=echo,
        connect_args={"check_same_thread": False},
        **({"poolclass": metered_pool("main")} if metered else {}),
    )

    @event.listens_for(engine, "connect")
    def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not pysqlite, decide when a transaction starts (see _sqlite_begin).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        if set_up_file and parsed.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    # SQLite has one writer at a time. Writers of this process take turns on a lock of
    # their own first: one that finds SQLite's write lock taken sleeps in the busy handler
    # between polls (1, 2, 5, … 100 ms), which left the lock idle between writers and
    # queued eight concurrent publishes for hundreds of milliseconds; a waiter on this
    # lock starts the moment the previous writer's connection goes back to the pool. The
    # busy timeout still covers writers of other processes.
    turn = threading.Lock()
    holder: list[Any] = []  # the DBAPI connection whose transaction holds the turn

    def _take_turn(dbapi_connection: Any) -> None:
        if not turn.acquire(timeout=busy_timeout_ms / 1000):
            locked = sqlite3.OperationalError("database is locked")
            locked.sqlite_errorname = "SQLITE_BUSY"  # as SQLite's own says
            raise OperationalError("BEGIN IMMEDIATE", None, locked)
        holder.append(dbapi_connection)

    def _end_turn(dbapi_connection: Any, *_args: Any) -> None:
        if holder and holder[0] is dbapi_connection:
            holder.clear()
            turn.release()

    @event.listens_for(engine, "begin")
    def _sqlite_begin(conn: Connection) -> None:
        # A writer takes the write lock up front: a deferred transaction that reads and
        # then writes can deadlock against another writer, and busy_timeout cannot help.
        if conn.get_execution_options().get("registry_write"):
            dbapi_connection = conn.connection.dbapi_connection
            _take_turn(dbapi_connection)
            try:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            except BaseException:
                _end_turn(dbapi_connection)
                raise
        else:
            # A deferred BEGIN takes no lock and cannot fail on a working connection: sent
            # to the driver as it is, without SQLAlchemy's execution around it (every
            # request's transaction begins so).
            cast(sqlite3.Connection, conn.connection.dbapi_connection).execute("BEGIN")

    # The transaction has ended (committed or rolled back) once its connection is back
    # in the pool, or closed.
    for name in ("checkin", "invalidate", "soft_invalidate", "close", "detach"):
        event.listen(engine, name, _end_turn)

    return engine


class Failure(StrEnum):
    """What a database error says of the database."""

    UNREACHABLE = "unreachable"
    BUSY = "busy"
    FULL = "full"
    READ_ONLY = "read-only"
    OTHER = "other"


def failure_of(exc: DBAPIError) -> Failure:
    """Whether the database is unreachable, busy, full or read-only, by SQLite's error
    name or PostgreSQL's SQLSTATE; OTHER for any other error (a missing table, say)."""
    if is_unreachable(exc):
        return Failure.UNREACHABLE
    errorname = getattr(exc.orig, "sqlite_errorname", None)
    code = errorname if isinstance(errorname, str) else getattr(exc.orig, "sqlstate", None)
    if not isinstance(code, str):
        # A driver error that names no code: an operational one is taken to pass, as a
        # lock does.
        return Failure.BUSY if isinstance(exc, OperationalError) else Failure.OTHER
    if code.startswith(_SQLITE_BUSY if isinstance(errorname, str) else _POSTGRES_BUSY):
        return Failure.BUSY
    if code.startswith(_FULL):
        return Failure.FULL
    if code.startswith(_READ_ONLY):
        return Failure.READ_ONLY
    return Failure.OTHER


def is_unreachable(exc: DBAPIError) -> bool:
    """Whether ``exc`` says the database cannot be reached, rather than that it is busy."""
    if exc.connection_invalidated:
        return True
    errorname = getattr(exc.orig, "sqlite_errorname", None)
    if isinstance(errorname, str):
        return errorname.startswith(_SQLITE_UNREACHABLE)
    if not hasattr(exc.orig, "sqlstate"):
        return False
    sqlstate = getattr(exc.orig, "sqlstate", None)
    return sqlstate is None or (
        isinstance(sqlstate, str) and sqlstate.startswith(_POSTGRES_UNREACHABLE)
    )


class _CompiledRead:
    """A Core SELECT compiled once for one dialect, run on a raw DBAPI connection.

    The statement's SQL and its columns' result processing (dates, JSON) are
    SQLAlchemy's own, without a Connection, a transaction object or the statement cache
    lookup around each call.
    """

    def __init__(self, statement: Select[Any], dialect: Any) -> None:
        compiled = statement.compile(dialect=dialect)
        self.sql = str(compiled)
        self._positions: tuple[str, ...] | None = (
            tuple(compiled.positiontup or ()) if compiled.positional else None
        )
        columns = list(statement.selected_columns)
        row = namedtuple("Row", [str(column.key) for column in columns])  # type: ignore[misc]
        self._make: Callable[[Any], Any] = row._make
        processors = [
            column.type.dialect_impl(dialect).result_processor(dialect, None) for column in columns
        ]
        self._decoders: list[tuple[int, Callable[[Any], Any]]] = [
            (index, processor) for index, processor in enumerate(processors) if processor
        ]

    def all(self, dbapi_connection: Any, **params: Any) -> list[Any]:
        cursor = dbapi_connection.cursor()
        try:
            if self._positions is None:
                cursor.execute(self.sql, params)
            else:
                cursor.execute(self.sql, tuple(params[name] for name in self._positions))
            rows = cursor.fetchall()
        finally:
            cursor.close()
        make = self._make
        if not self._decoders:
            return [make(raw) for raw in rows]
        decoded = []
        for raw in rows:
            values = list(raw)
            for index, decode in self._decoders:
                values[index] = decode(values[index])
            decoded.append(make(values))
        return decoded

    def first(self, dbapi_connection: Any, **params: Any) -> Any | None:
        rows = self.all(dbapi_connection, **params)
        return rows[0] if rows else None


_CONNECTION = "registry.connection"
# Compiled forms a PreparedRead keeps at most: one per list length in use (a resolve's
# versions and locales), a few dozen in practice.
_MAX_COMPILED = 256


@dataclass(frozen=True)
class Reads:
    """A pooled connection for reads of one statement each, outside any transaction of
    the registry's (see :meth:`Database.reads`): what a request reads before it knows it
    needs a session."""

    dbapi_connection: Any
    dialect: Any


class PreparedRead:
    """A Core SELECT of the serving path, run on a DBAPI connection: the registry's one
    way to run the reads every request makes (the key's lookup, a label's pointer, the
    revisions a kept answer was read from).

    Through SQLAlchemy's own execution (its compiled cache included) such a read cost
    ten times the statement itself; ``lambda_stmt`` was not measured. ``build`` makes
    the statement, given the length of each list parameter named in ``lists``; its list
    parameters are ``name_0``, ``name_1``… (see :func:`in_list`). It is compiled once per
    dialect and lengths. Parameters reach the driver as they are (strings and integers),
    and the rows are named tuples of the selected columns.

    Run in a session's transaction (what the session has not written yet is flushed
    first, unless autoflush is off) or on :class:`Reads`; a driver error is raised as
    SQLAlchemy's, as for a query of the session.
    """

    def __init__(self, build: Callable[..., Select[Any]], *lists: str) -> None:
        self._build = build
        self._lists = lists
        self._compiled: dict[tuple[Any, ...], _CompiledRead] = {}

    def rows(self, source: Session | Reads, **params: Any) -> list[Any]:
        connection: Connection | None = None
        if isinstance(source, Reads):
            dbapi_connection, dialect = source.dbapi_connection, source.dialect
        else:
            connection = _session_connection(source)
            dbapi_connection, dialect = connection.connection.dbapi_connection, connection.dialect
        sizes = []
        for name in self._lists:
            values = params.pop(name)
            sizes.append(len(values))
            params.update({f"{name}_{i}": value for i, value in enumerate(values)})
        key = (dialect.name, *sizes)
        read = self._compiled.get(key)
        if read is None:
            if len(self._compiled) >= _MAX_COMPILED:
                self._compiled.clear()  # lengths come from requests: the memory stays bounded
            read = self._compiled[key] = _CompiledRead(self._build(*sizes), dialect)
        try:
            return read.all(dbapi_connection, **params)
        except dialect.loaded_dbapi.Error as exc:
            lost = dialect.is_disconnect(exc, dbapi_connection, None)
            if lost and connection is not None:
                connection.invalidate(exc)
            raise DBAPIError.instance(
                read.sql,
                params,
                exc,
                dialect.loaded_dbapi.Error,
                connection_invalidated=lost,
                dialect=dialect,
            ) from exc

    def first(self, source: Session | Reads, **params: Any) -> Any | None:
        rows = self.rows(source, **params)
        return rows[0] if rows else None


def _session_connection(session: Session) -> Connection:
    """The session's connection for its current transaction, asked of the session once
    per transaction (asking costs more than most reads), after flushing what it has not
    written yet."""
    if session.autoflush and (session.new or session.deleted or session.dirty):
        session.flush()
    transaction = session.get_transaction()
    kept = session.info.get(_CONNECTION)
    if transaction is not None and kept is not None and kept[0] is transaction:
        connection: Connection = kept[1]
    else:
        connection = session.connection()
        session.info[_CONNECTION] = (session.get_transaction(), connection)
    return connection


def in_list(column: Any, name: str, count: int) -> Any:
    """``column IN (:name_0, … :name_{count-1})``, for a :class:`PreparedRead`."""
    return column.in_([bindparam(f"{name}_{i}") for i in range(count)])


class _Deadline:
    """Shuts down, at a deadline, the sockets it was given to watch, unless closed first.

    It keeps a duplicate of each socket's descriptor: the socket stays the same one even
    if its connection closes its own descriptor meanwhile, which the system may then
    give to another file.
    """

    def __init__(self, seconds: float) -> None:
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._expired = self._closed = False
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True
        self._timer.start()

    def watch(self, fd: int) -> None:
        with self._lock:
            if self._closed:
                return
            sock = socket.socket(fileno=os.dup(fd))
            self._sockets.append(sock)
            if self._expired:
                _shut_down(sock)

    def _expire(self) -> None:
        with self._lock:
            self._expired = True
            for sock in self._sockets:
                _shut_down(sock)

    def close(self) -> None:
        self._timer.cancel()
        with self._lock:
            self._closed = True
            for sock in self._sockets:
                sock.close()


def _shut_down(sock: socket.socket) -> None:
    # Wakes the thread that waits on the socket: its read ends as a lost connection.
    # The other side may have closed it already.
    with suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


class Database:
    """Session factories over one engine: read-only work and writes."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._read = sessionmaker(bind=engine, expire_on_commit=False)
        self._write = sessionmaker(
            bind=engine.execution_options(registry_write=True), expire_on_commit=False
        )
        self._immediate_engine: Engine | None = None
        self._immediate_checked = False
        self._single: Engine | None = None
        self._ping: Engine | None = None
        self._pinging = threading.local()  # the deadline of this thread's ping
        self._single_lock = threading.Lock()
        self._thread_reads = threading.local()  # the connection of this thread's reads
        self._kept_reads: list[Any] = []

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> Database:
        return cls(make_engine(url, **kwargs))

    @contextmanager
    def session(self, *, write: bool = True) -> Iterator[Session]:
        """One transaction: committed at the end of the block, rolled back on error."""
        factory = self._write if write else self._read
        with factory() as session, session.begin():
            yield session

    @property
    def max_connections(self) -> int | None:
        """How many connections the engine's pool hands out at most; None: no limit."""
        pool = self.engine.pool
        if not isinstance(pool, QueuePool):
            return None
        overflow: int = pool._max_overflow
        return None if overflow < 0 else pool.size() + overflow

    @property
    def reads_wait(self) -> bool:
        """Whether a read of :meth:`reads` may wait: on a server database (it crosses the
        network) or a SQLite file not in WAL mode. Where it never waits, it costs tens of
        microseconds of page-cache reads, less than a trip to a worker thread: a request
        may make it on the event loop."""
        return self._immediate() is None

    @contextmanager
    def reads(self) -> Iterator[Reads]:
        """A pooled connection for reads of one statement each, outside any transaction
        (each statement sees what is committed), for :class:`PreparedRead`.

        On a SQLite file in WAL mode, a reader never waits for a writer; its busy
        timeout is zero, so in the rare case the file is locked anyway (a recovery after
        a crash) a read fails at once instead of blocking. On a server database, the
        connections run in autocommit without the pool's ping: a read costs one round
        trip, not four or five (ping, BEGIN, the statement, ROLLBACK). A connection that
        failed is not used again: the pool replaces it.
        """
        immediate = self._immediate()
        if immediate is not None:
            # Reads that never wait run on the event loop: its thread keeps a connection
            # of its own rather than asking the pool for one each time.
            kept = getattr(self._thread_reads, "connection", None)
            if kept is None:
                kept = self._thread_reads.connection = immediate.raw_connection()
                with self._single_lock:
                    self._kept_reads.append(kept)
            try:
                yield Reads(kept.dbapi_connection, immediate.dialect)
            except DBAPIError as exc:
                self._thread_reads.connection = None
                kept.invalidate(exc)
                raise
            return
        engine = self._single_statements()
        connection = engine.raw_connection()
        try:
            yield Reads(connection.dbapi_connection, engine.dialect)
        except DBAPIError as exc:
            if exc.connection_invalidated or failure_of(exc) is Failure.UNREACHABLE:
                connection.invalidate(exc)
            raise
        finally:
            connection.close()

    def _immediate(self) -> Engine | None:
        """The engine of reads that never wait (a SQLite file in WAL mode), else None."""
        if not self._immediate_checked:
            url = self.engine.url
            if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
                self._immediate_checked = True
                return None
            engine = make_engine(
                url.render_as_string(hide_password=False), busy_timeout_ms=0, set_up_file=False
            )
            try:
                with engine.connect() as conn:
                    mode = conn.exec_driver_sql("PRAGMA journal_mode").scalar()
            except DBAPIError:
                # Locked or not set up yet: reads wait for now; ask again later.
                engine.dispose()
                return None
            self._immediate_checked = True
            if str(mode).lower() == "wal":
                self._immediate_engine = engine
            else:
                engine.dispose()
        return self._immediate_engine

    def _single_statements(self) -> Engine:
        """The engine of :meth:`reads` where reads may wait: on a server database, one in
        autocommit without the pool's ping (a caller that gets an error takes its usual
        path, whose engine pings and recovers); elsewhere, the registry's engine."""
        if self.engine.url.get_backend_name() == "sqlite":
            return self.engine
        with self._single_lock:
            if self._single is None:
                url = self.engine.url.render_as_string(hide_password=False)
                self._single = make_engine(url, single_statements=True)
            return self._single

    def ping(self, timeout_s: float) -> None:
        """Run ``SELECT 1``: return once the database answers; raise a DBAPIError when it
        does not, within about ``timeout_s`` seconds whatever it does.

        On a server database, on a connection of its own (a pooled one may be the one
        that hangs), with a short connect timeout. Once connected, nothing in libpq bounds
        the wait for an answer: a proxy or a host that froze still acknowledges what it is
        sent, so TCP timeouts never fire. The socket is shut down at the deadline instead,
        and the wait ends as a lost connection.
        """
        if self.engine.url.get_backend_name() == "sqlite":
            with self.session(write=False) as session:
                session.execute(text("SELECT 1"))
            return
        with self._single_lock:
            if self._ping is None:
                url = self.engine.url.render_as_string(hide_password=False)
                self._ping = make_engine(url, ping=True)
                # First among the listeners: the dialect's first queries are watched too.
                event.listen(self._ping, "connect", self._watch_ping, insert=True)
            engine = self._ping
        deadline = self._pinging.deadline = _Deadline(timeout_s)
        try:
            with engine.connect() as connection:
                connection.exec_driver_sql("SELECT 1")
        finally:
            self._pinging.deadline = None
            deadline.close()

    def _watch_ping(self, dbapi_connection: Any, _record: Any) -> None:
        deadline: _Deadline | None = getattr(self._pinging, "deadline", None)
        if deadline is not None:
            deadline.watch(dbapi_connection.fileno())

    def dispose(self) -> None:
        with self._single_lock:
            kept, self._kept_reads = self._kept_reads, []
        for connection in kept:
            with suppress(Exception):
                connection.close()
        self._thread_reads = threading.local()
        for engine in (self._immediate_engine, self._single, self._ping):
            if engine is not None:
                engine.dispose()
        self.engine.dispose()
