"""uvicorn's command line, with its listening socket made as an IPPROTO_TCP socket.

With ``--workers N`` uvicorn binds the socket itself with ``proto`` 0; accepted sockets
inherit it, and asyncio sets TCP_NODELAY only on sockets whose ``proto`` is IPPROTO_TCP.
Nagle's algorithm then holds each response's body until the client's delayed ACK of its
headers, about 40 ms on Linux, on every keep-alive request
(https://github.com/Kludex/uvicorn/issues/3149). ``registry serve --workers N`` binds
through ``registry.server.tcp_socket``; this module does the same for any app run from
uvicorn's command line (the trivial baseline, and the registry with the benchmarks'
options), so the benchmarks can run the workers both ways.
"""

from __future__ import annotations

import socket

import uvicorn
from uvicorn.config import Config

from registry.server import tcp_socket

_bind_socket = Config.bind_socket


def _bind_tcp_socket(config: Config) -> socket.socket:
    return tcp_socket(_bind_socket(config))


Config.bind_socket = _bind_tcp_socket  # type: ignore[method-assign]

if __name__ == "__main__":
    uvicorn.main()
