"""gunicorn's error log without client addresses or signed-link tokens (``vecinos serve`` passes
``--logger-class vecinos.core.gunicorn_logger.PrivateLogger``; use it when running gunicorn by
hand too). Its access log stays off."""

from __future__ import annotations

from gunicorn.glogging import Logger

from vecinos.core.logs import RedactingFilter


class PrivateLogger(Logger):
    def setup(self, cfg) -> None:
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            if not any(isinstance(f, RedactingFilter) for f in log.filters):
                log.addFilter(RedactingFilter())
