"""A board's uplink that a drill can cut: a TCP relay between one agent and
the broker.

``cut()`` behaves like a 4G modem losing its carrier: bytes on the open
connection go nowhere (nothing is forwarded, nothing is answered, the agent
only notices through its MQTT keepalive) and new connections are refused at
once. ``restore()`` resets the dead connections (the NAT mapping is gone
after an outage) and forwards new ones again.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import struct
import threading

from tests.support.ports import free_port


def _reset(sock: socket.socket) -> None:
    """Close with RST (SO_LINGER 0), as a dead path's next packet would get."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        sock.close()


class Link:
    def __init__(self, broker_port: int) -> None:
        self.broker_port = broker_port
        self.port = free_port()
        self.up = True
        self.cuts = 0
        self._lock = threading.Lock()
        self._peer: dict[socket.socket, socket.socket] = {}
        self._dead: set[socket.socket] = set()
        self._sel = selectors.DefaultSelector()
        self._listener = socket.create_server(("127.0.0.1", self.port))
        self._listener.setblocking(False)
        self._sel.register(self._listener, selectors.EVENT_READ)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"link-{self.port}", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def cut(self) -> None:
        with self._lock:
            self.up = False
            self.cuts += 1
            self._dead.update(self._peer)

    def restore(self) -> None:
        with self._lock:
            for sock in list(self._dead):
                self._forget(sock)
            self.up = True

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        with self._lock:
            for sock in list(self._peer):
                self._drop(sock)
        self._listener.close()
        self._sel.close()

    # -- the relay thread ---------------------------------------------------------------
    def _drop(self, sock: socket.socket) -> None:
        other = self._peer.pop(sock, None)
        for s in (sock, other):
            if s is None:
                continue
            self._peer.pop(s, None)
            self._dead.discard(s)
            with contextlib.suppress(KeyError, ValueError):
                self._sel.unregister(s)
            _reset(s)

    def _accept(self) -> None:
        try:
            board, _ = self._listener.accept()
        except OSError:
            return
        if not self.up:
            _reset(board)  # no carrier: the connection attempt fails at once
            return
        try:
            broker = socket.create_connection(("127.0.0.1", self.broker_port), timeout=5)
        except OSError:
            _reset(board)  # broker down: refused, as a direct connection would be
            return
        for s in (board, broker):
            s.setblocking(True)
            s.settimeout(5)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._sel.register(s, selectors.EVENT_READ)
        self._peer[board] = broker
        self._peer[broker] = board

    def _forget(self, sock: socket.socket) -> None:
        """Close one end only: across a dead path the other end hears nothing."""
        self._peer.pop(sock, None)
        self._dead.discard(sock)
        with contextlib.suppress(KeyError, ValueError):
            self._sel.unregister(sock)
        _reset(sock)

    def _forward(self, sock: socket.socket) -> None:
        try:
            data = sock.recv(65536)
        except OSError:
            data = b""
        if sock in self._dead:
            if not data:
                self._forget(sock)
            return  # swallowed by the dead path
        if not data:
            self._drop(sock)
            return
        try:
            self._peer[sock].sendall(data)
        except (OSError, KeyError):
            self._drop(sock)

    def _run(self) -> None:
        while not self._stop.is_set():
            for key, _ in self._sel.select(timeout=0.2):
                with self._lock:
                    sock = key.fileobj
                    assert isinstance(sock, socket.socket)
                    if sock is self._listener:
                        self._accept()
                    elif sock in self._peer:
                        self._forward(sock)
