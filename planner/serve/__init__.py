"""``codecascade serve``: a cascade spec behind an OpenAI-compatible HTTP server.

``config`` (the one options object), ``problem`` (finding the function in a request),
``requests`` (checking a request body), ``continuation`` (a completion's answer),
``responses`` and ``streaming`` (OpenAI bodies and SSE chunks), ``errors`` (OpenAI error
answers), ``auth`` (bearer tokens), ``limits`` (admission and 429), ``fallback`` (requests
without a function), ``recorder`` (the records file), ``metrics`` (Prometheus), ``drift``
(live acceptance rates against the plan's), ``execution`` (the sandbox door), ``service``
(one request through the cascade), ``app`` (routes) and ``server`` (uvicorn, signals).
"""

from .app import Prepared, create_app, prepare
from .config import ServeError, ServeOptions
from .server import BackgroundServer, bind, run

__all__ = ["BackgroundServer", "Prepared", "ServeError", "ServeOptions", "bind", "create_app",
           "prepare", "run"]
