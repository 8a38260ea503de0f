"""Sliding-window rate limits per client address (in memory, per server process).

``check`` returns the seconds to wait (for ``Retry-After``) or 0. Behind a reverse proxy run
uvicorn with ``--proxy-headers --forwarded-allow-ips <proxy>`` so the client address is the
citizen's, not the proxy's (docs/portal.md). With several worker processes each keeps its own
window: the limit then holds per worker.
"""
from __future__ import annotations

import math
import threading
import time
from collections import defaultdict, deque


class RateLimiter:
    def __init__(self, window_seconds: float = 60.0, clock=time.monotonic):
        self.window = window_seconds
        self.clock = clock
        self._hits: dict[tuple[str, str], deque] = defaultdict(deque)
        self._lock = threading.Lock()

    def check(self, bucket: str, client: str, limit: int) -> int:
        """Record a hit; return 0 if allowed, else whole seconds until one is allowed."""
        now = self.clock()
        with self._lock:
            q = self._hits[(bucket, client)]
            while q and q[0] <= now - self.window:
                q.popleft()
            if len(q) >= limit:
                return max(1, math.ceil(q[0] + self.window - now))
            q.append(now)
            if len(self._hits) > 100_000:  # forget idle clients
                for k in [k for k, v in self._hits.items() if not v]:
                    del self._hits[k]
            return 0
