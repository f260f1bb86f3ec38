"""Run the segment lookup API with uvicorn (`segwarehouse serve-api`, the docker-compose service)."""

from __future__ import annotations

import os

from segwarehouse.api.app import TOKEN_ENV, parse_tokens


def serve(host: str = "127.0.0.1", port: int = 8000, workers: int = 1) -> int:
    """Serve until stopped. Fails at once without a token. Each worker process holds its own index."""
    import uvicorn

    parse_tokens(os.environ.get(TOKEN_ENV))  # refuse to start before forking workers
    # no access log: request paths carry customer ids and anonymous ids, which do not belong in logs
    uvicorn.run("segwarehouse.api.app:app_from_env", factory=True, host=host, port=port, workers=workers,
                access_log=False, log_level="info", proxy_headers=False)
    return 0
