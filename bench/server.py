"""The app as its own process on loopback, called the way users call it (load, memory, cold start).

A separate process, so the RSS measured is the server's alone and a crash shows as a dead process.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import psutil

from core.settings import REPO_ROOT

# The cheap /compare the load and memory benches send: 1 image per backend, 2 DPM++ steps.
CHEAP = {"n": 1, "steps": 2, "guidance": 2.5, "sampler": "dpm++", "variant": "full", "overlays": False}


def compare_args(prompt: str, seed: int, settings: dict | None = None) -> list:
    """Positional inputs of /compare, in the order `view_api` lists them."""
    s = settings or CHEAP
    return [prompt, seed, s["n"], s["steps"], s["guidance"], s["sampler"], s["variant"], s["overlays"]]


@dataclass
class App:
    url: str
    process: subprocess.Popen
    cold_start_s: float
    log_path: str

    def rss_mb(self) -> float:
        return psutil.Process(self.process.pid).memory_info().rss / 2**20

    def alive(self) -> bool:
        return self.process.poll() is None

    def log_tail(self, chars: int = 2000) -> str:
        with open(self.log_path, errors="replace") as f:
            return f.read()[-chars:]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def launched_app(env: dict[str, str] | None = None, timeout_s: float = 300) -> Iterator[App]:
    """`python app.py` on a free loopback port until the page answers; stopped on exit.

    Raises RuntimeError (with the tail of its log) if it dies or does not answer in `timeout_s`.
    """
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="hands-app-") as tmp:
        full_env = dict(os.environ, GRADIO_SERVER_PORT=str(port), GRADIO_SERVER_NAME="127.0.0.1",
                        GRADIO_ANALYTICS_ENABLED="False", GRADIO_TEMP_DIR=os.path.join(tmp, "gradio"), **(env or {}))
        log_path = os.path.join(tmp, "app.log")
        t0 = time.perf_counter()
        with open(log_path, "wb") as log:
            proc = subprocess.Popen([sys.executable, "app.py"], cwd=REPO_ROOT, env=full_env, stdout=log, stderr=log)
        url = f"http://127.0.0.1:{port}/"
        app = App(url, proc, 0.0, log_path)
        try:
            while True:
                if not app.alive():
                    raise RuntimeError(f"the app exited with code {proc.returncode}: {app.log_tail(500)}")
                if time.perf_counter() - t0 > timeout_s:
                    raise RuntimeError(f"the app did not answer within {timeout_s:.0f} s")
                try:
                    with urllib.request.urlopen(url, timeout=2) as r:
                        if r.status == 200:
                            break
                except OSError:
                    time.sleep(0.2)
            app.cold_start_s = time.perf_counter() - t0
            yield app
        finally:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
