"""What the Python benchmarks of this folder share; each imports it from beside itself."""
import socket
import time


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago (the OS picked it)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def log(msg):
    """A progress line on stdout, with the time of day."""
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)
