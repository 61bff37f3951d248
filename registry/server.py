"""Running the API under uvicorn, with Nagle's algorithm off on every connection.

With ``workers`` above one, uvicorn binds the listening socket itself as
``socket.socket(AF_INET)``, whose ``proto`` is 0. Accepted sockets inherit that
``proto``, and asyncio turns TCP_NODELAY on only for sockets whose ``proto`` is
IPPROTO_TCP, so every connection keeps Nagle's algorithm: a response written in two
sends (headers, then body) waits for the client's delayed ACK of the first, about 40 ms
on Linux, on every keep-alive request (https://github.com/Kludex/uvicorn/issues/3149).
One worker is not affected: asyncio's ``create_server`` makes its sockets with the
protocol set.

:func:`tcp_socket` gives the listening socket its protocol back; :class:`NoDelayConfig`
binds through it, and :func:`run` is ``uvicorn.run`` with that config.
"""

from __future__ import annotations

import socket
from typing import Any

import uvicorn
from uvicorn.supervisors import Multiprocess


def tcp_socket(sock: socket.socket) -> socket.socket:
    """``sock`` as a socket object whose ``proto`` is IPPROTO_TCP, with TCP_NODELAY set.

    A TCP socket made without a protocol number is IPPROTO_TCP in the kernel already; only
    Python's object says 0. A new object over the same descriptor reads the protocol back,
    and it is what the workers are handed (a socket is pickled with its ``proto``). Linux
    also copies TCP_NODELAY from a listening socket to the sockets it accepts.
    """
    if sock.family not in (socket.AF_INET, socket.AF_INET6) or sock.type != socket.SOCK_STREAM:
        return sock
    if sock.proto == 0:
        inheritable = sock.get_inheritable()
        sock = socket.socket(fileno=sock.detach())
        sock.set_inheritable(inheritable)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


class NoDelayConfig(uvicorn.Config):
    """uvicorn's configuration, binding its socket through :func:`tcp_socket`."""

    def bind_socket(self) -> socket.socket:
        return tcp_socket(super().bind_socket())


def run(app: str, *, workers: int = 1, **options: Any) -> None:
    """``uvicorn.run(app, workers=workers, **options)``, with TCP_NODELAY on every worker's
    connections.

    One worker runs as ``uvicorn.run`` runs it (its connections have TCP_NODELAY); several
    run under uvicorn's own supervisor, on a socket bound by :class:`NoDelayConfig`.
    """
    if workers <= 1:
        uvicorn.run(app, **options)
        return
    config = NoDelayConfig(app, workers=workers, **options)
    sock = config.bind_socket()
    try:
        Multiprocess(config, sockets=[sock]).run()
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()
