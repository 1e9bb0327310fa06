"""A stock web server for tests: Debian's nginx with its own MIME map and nothing else configured,
serving a folder as a static host would, its workers running as another, unprivileged user
(`nobody`) when the tests run as root. Tests that need it skip where nginx is not installed
(`.ci/run` installs it)."""

from __future__ import annotations

import contextlib
import grp
import os
import shutil
import socket
import stat
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
MIME_TYPES = Path("/etc/nginx/mime.types")

needs_nginx = pytest.mark.skipif(NGINX is None or not MIME_TYPES.exists(),
                                 reason="nginx is not installed (apt-get install nginx; .ci/run does)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def public_folder() -> Iterator[Path]:
    """An empty folder another user can reach, like /var/www/podcast (pytest's tmp_path is 0700)."""
    folder = Path(tempfile.mkdtemp(prefix="audiobook-www-"))
    folder.chmod(0o755)
    try:
        yield folder / "podcast"
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _worker_user() -> str:
    if os.geteuid() != 0:
        return ""  # nginx can only switch users as root: then the tests check the files' modes instead
    try:
        grp.getgrnam("nogroup")
        return "user nobody nogroup;"
    except KeyError:
        return "user nobody;"


@contextlib.contextmanager
def nginx_serving(folder: Path, location: str = "/podcast/") -> Iterator[str]:
    """Serve `folder` at http://127.0.0.1:PORT{location} with stock settings; yield that URL."""
    assert NGINX is not None
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="audiobook-nginx-") as prefix:
        conf = Path(prefix) / "nginx.conf"
        temps = "\n".join(f"    {name}_temp_path {prefix}/{name};"
                          for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        conf.write_text(f"""{_worker_user()}
worker_processes 1;
daemon off;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log;
events {{ worker_connections 64; }}
http {{
    include {MIME_TYPES};
    default_type application/octet-stream;
    access_log off;
{temps}
    server {{
        listen 127.0.0.1:{port};
        location {location} {{ alias {folder}/; }}
    }}
}}
""", encoding="utf-8")
        proc = subprocess.Popen([NGINX, "-c", str(conf), "-p", prefix], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        try:
            deadline = time.monotonic() + 10
            while True:
                with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"nginx did not start: {proc.stderr.read().decode() if proc.stderr else ''}")
                time.sleep(0.05)
            yield f"http://127.0.0.1:{port}{location}"
        finally:
            proc.terminate()
            proc.wait(timeout=10)
            for stream in (proc.stdout, proc.stderr):
                if stream:
                    stream.close()


def readable_by_others(path: Path) -> bool:
    mode = stat.S_IMODE(path.stat().st_mode)
    return bool(mode & stat.S_IROTH) and (not path.is_dir() or bool(mode & stat.S_IXOTH))
