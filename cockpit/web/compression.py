"""Compress the web server's answers (scripts, pages, callback JSON) with flask-compress.

Dash's own `compress=True` calls flask-compress with its defaults (gzip level 6, zstd and
brotli first for browsers, every streamed answer too); this sets the cockpit's choices before
flask-compress reads them. Measured with `cockpit bench compress` on the 2-core machine.
"""

from __future__ import annotations

import flask
from flask_compress import Compress

# Browsers all speak gzip; brotli (a wheel flask-compress installs, no system library) at
# quality 4 makes a full refresh answer 13 % smaller than gzip 5 for the same CPU (0.55 ms).
ALGORITHMS = ["br", "gzip"]
GZIP_LEVEL = 5  # levels 6 and 9 save 1-2 % more bytes for 1.4x and 3x the CPU
BROTLI_LEVEL = 4
# Below a packet's worth the headers cost more than the bytes saved (health answers, 204s).
MIN_SIZE = 1400
# text/event-stream is left out on purpose: a compressor buffers, and push must not wait.
# The static map layers come gzipped from callbacks/map.py's own cache (an answer already encoded
# is left as it is); the device cells are compressed here.
MIMETYPES = [
    "application/geo+json",
    "text/html",
    "text/css",
    "text/plain",
    "text/javascript",
    "application/javascript",
    "application/json",
    "image/svg+xml",
]


def install_compression(server: flask.Flask) -> Compress:
    """Compress the server's text answers when the client asks; leave small ones alone."""
    server.config.update(
        COMPRESS_ALGORITHM=ALGORITHMS,
        # Dash's /assets/ files are streamed from disk (send_file); the same two for them.
        COMPRESS_ALGORITHM_STREAMING=ALGORITHMS,
        COMPRESS_LEVEL=GZIP_LEVEL,
        COMPRESS_BR_LEVEL=BROTLI_LEVEL,
        COMPRESS_MIN_SIZE=MIN_SIZE,
        COMPRESS_MIMETYPES=MIMETYPES,
    )
    return Compress(server)
