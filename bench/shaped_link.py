"""A 3G link for a browser on this machine: a TCP proxy (asyncio, in a thread of its own) between
the browser and the server that every connection's bytes go through, shaped at the TCP level
(DevTools throttling misses a service worker's fetches, ../shared/recipes/phone-and-3g.md).

One downlink queue and one uplink queue, shared by all connections, carry each chunk at the
link's rate after the chunks queued before it; each chunk then arrives a one-way delay later;
a new connection waits one round trip (the TCP handshake) before its first byte, and one more
with TLS (TLS 1.3's handshake). With ``tls``, the proxy ends TLS with a self-signed certificate
(the browser must ignore certificate errors): browsers send ``Accept-Encoding: br`` only over
HTTPS, as phones reach the service.

Bytes are counted as HTTP carries them (headers and bodies, without TCP, IP or TLS framing), per
request path: the proxy reads each request line going up and counts the bytes coming down the
same connection against it (HTTP/1.1 answers a connection's requests in order).
"""

from __future__ import annotations

import asyncio
import base64
import datetime
import hashlib
import re
import socket
import ssl
import tempfile
import threading
from collections import Counter
from collections.abc import Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

CHUNK = 16 * 1024
_REQUEST = re.compile(rb"^[A-Z]+ (\S+) HTTP/1\.[01]\r\n")
_ACCEPT_ENCODING = re.compile(rb"\r\naccept-encoding: *([^\r]*)\r\n", re.IGNORECASE)


@dataclass
class _Queue:
    """One direction of the link: when its last queued byte leaves."""

    bits_per_second: float
    free_at: float = 0.0

    def arrival(self, now: float, size: int, delay: float) -> float:
        """Queue ``size`` bytes at ``now``; return when they reach the other end."""
        self.free_at = max(now, self.free_at) + size * 8 / self.bits_per_second
        return self.free_at + delay


@dataclass(eq=False)
class _Connection:
    path: str = "(before a request)"
    writers: list[asyncio.StreamWriter] = field(default_factory=list)
    pending: int = 0  # chunks read but not delivered yet


class ShapedLink:
    """The proxy: ``url`` to point the browser at, forwarding to ``127.0.0.1:upstream``."""

    def __init__(
        self,
        upstream: int,
        *,
        tls: bool = True,
        down_bits: float = 1_600_000,
        up_bits: float = 750_000,
        rtt: float = 0.300,
    ) -> None:
        self.upstream, self.tls, self.rtt = upstream, tls, rtt
        self.down, self.up = _Queue(down_bits), _Queue(up_bits)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        self._lock = threading.Lock()
        self._by_path: Counter[str] = Counter()
        self._encodings: set[str] = set()
        self._last = 0.0
        self._cut = False
        self._live: set[_Connection] = set()
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._context: ssl.SSLContext | None = None
        self.spki = ""
        if tls:
            self._context, self.spki = _self_signed()

    # ---------- control, from the caller's thread ----------
    def start(self) -> None:
        """Start listening on ``url``."""
        self._thread.start()
        self._call(self._listen())

    def stop(self) -> None:
        """Close every connection and stop the proxy's thread."""
        self.cut()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)

    def cut(self) -> None:
        """Take the network away: open connections are reset and new ones refused."""
        self._call(self._refuse())

    def restore(self) -> None:
        """Give the network back after :meth:`cut`."""
        self._call(self._listen())

    def reset(self) -> None:
        """Start counting again from zero."""
        with self._lock:
            self._by_path.clear()

    @property
    def bytes_down(self) -> int:
        """Bytes that reached the browser since the last :meth:`reset`."""
        with self._lock:
            return sum(self._by_path.values())

    def by_path(self) -> dict[str, int]:
        """Bytes that reached the browser since the last :meth:`reset`, by request path."""
        with self._lock:
            return dict(self._by_path.most_common())

    @property
    def accept_encodings(self) -> set[str]:
        """The ``Accept-Encoding`` headers the browser sent, all runs together."""
        with self._lock:
            return set(self._encodings)

    def quiet_for(self) -> float:
        """Return for how many seconds nothing has moved (0 while bytes are on their way)."""
        with self._lock:
            if any(c.pending for c in self._live):
                return 0.0
            return max(0.0, self._loop.time() - self._last)

    def _call(self, work: Coroutine[Any, Any, None]) -> None:
        asyncio.run_coroutine_threadsafe(work, self._loop).result(timeout=10)

    # ---------- the link, in the proxy's thread ----------
    async def _listen(self) -> None:
        self._cut = False
        if self._server is None:
            self._server = await asyncio.start_server(
                self._accept, "127.0.0.1", self.port, ssl=self._context
            )

    async def _refuse(self) -> None:
        self._cut = True
        if self._server is not None:
            self._server.close()
            self._server = None
        with self._lock:
            live, self._live = self._live, set()
        for connection in live:
            for writer in connection.writers:
                writer.transport.abort()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connection = _Connection(writers=[writer])
        with self._lock:
            self._live.add(connection)
        try:
            await asyncio.sleep(self.rtt * (2 if self.tls else 1))
            if self._cut:
                return
            upstream_reader, upstream_writer = await asyncio.open_connection(
                "127.0.0.1", self.upstream
            )
            connection.writers.append(upstream_writer)
            await asyncio.gather(
                self._carry(reader, upstream_writer, self.up, connection, upward=True),
                self._carry(upstream_reader, writer, self.down, connection, upward=False),
            )
        except (OSError, asyncio.IncompleteReadError, ssl.SSLError):
            pass
        finally:
            with self._lock:
                self._live.discard(connection)
            for w in connection.writers:
                w.transport.abort()

    async def _carry(
        self,
        source: asyncio.StreamReader,
        sink: asyncio.StreamWriter,
        queue: _Queue,
        connection: _Connection,
        *,
        upward: bool,
    ) -> None:
        """Forward ``source`` to ``sink`` through ``queue``, chunk by chunk, in order."""
        chunks: asyncio.Queue[tuple[float, bytes, str] | None] = asyncio.Queue()
        delivery = asyncio.ensure_future(self._deliver(chunks, sink, connection, upward=upward))
        try:
            while data := await source.read(CHUNK):
                if upward:
                    self._sniff(data, connection)
                with self._lock:
                    connection.pending += 1
                arrival = queue.arrival(self._loop.time(), len(data), self.rtt / 2)
                chunks.put_nowait((arrival, data, connection.path))
        finally:
            chunks.put_nowait(None)
            await delivery

    async def _deliver(
        self,
        chunks: asyncio.Queue[tuple[float, bytes, str] | None],
        sink: asyncio.StreamWriter,
        connection: _Connection,
        *,
        upward: bool,
    ) -> None:
        while (item := await chunks.get()) is not None:
            arrival, data, path = item
            await asyncio.sleep(max(0.0, arrival - self._loop.time()))
            with self._lock:
                connection.pending -= 1
                self._last = self._loop.time()
                if not upward:
                    self._by_path[path] += len(data)
            sink.write(data)
            await sink.drain()
        # the other end closed (the server's keep-alive timeout, say): so does this one, or a
        # browser would send its next request down a connection nobody answers (a TLS stream
        # cannot be half-closed)
        if sink.can_write_eof():
            sink.write_eof()
        else:
            sink.close()

    def _sniff(self, data: bytes, connection: _Connection) -> None:
        request = _REQUEST.match(data)
        if request is None:
            return
        connection.path = request.group(1).decode("latin-1")
        encoding = _ACCEPT_ENCODING.search(data)
        if encoding is not None:
            with self._lock:
                self._encodings.add(encoding.group(1).decode("latin-1"))


def _self_signed() -> tuple[ssl.SSLContext, str]:
    """Return a server TLS context with a fresh self-signed certificate for 127.0.0.1, and the
    base64 SHA-256 of its public key (for Chromium's ``--ignore-certificate-errors-spki-list``,
    which makes the certificate valid: a service worker is refused on a certificate error)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    folder = Path(tempfile.mkdtemp(prefix="ocop-link-"))
    (folder / "cert.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(folder / "cert.pem", folder / "key.pem")
    spki = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return context, base64.b64encode(hashlib.sha256(spki).digest()).decode()
