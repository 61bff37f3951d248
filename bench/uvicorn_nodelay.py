"""uvicorn's command line, with its listening socket made as an IPPROTO_TCP socket.

With ``--workers N`` uvicorn binds the socket itself with ``proto`` 0; accepted sockets
inherit it, and asyncio sets TCP_NODELAY only on sockets whose ``proto`` is IPPROTO_TCP.
Nagle's algorithm then holds each response's body until the client's delayed ACK of its
headers, about 40 ms on Linux, on every keep-alive request
(https://github.com/Kludex/uvicorn/issues/3149). The benchmarks run the workers both ways:
as ``uvicorn`` is run, and through this module, to show the registry's own figures.
"""

from __future__ import annotations

import socket

import uvicorn
from uvicorn.config import Config

_bind_socket = Config.bind_socket


def _bind_tcp_socket(config: Config) -> socket.socket:
    sock = _bind_socket(config)
    if sock.family in (socket.AF_INET, socket.AF_INET6) and sock.proto == 0:
        # The same descriptor; Python reads the protocol back from it.
        sock = socket.socket(fileno=sock.detach())
        sock.set_inheritable(True)
    return sock


Config.bind_socket = _bind_tcp_socket  # type: ignore[method-assign]

if __name__ == "__main__":
    uvicorn.main()
