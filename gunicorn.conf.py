"""gunicorn's own settings for lcm: its logs are JSON lines, masked.

gunicorn reads this file from the directory it starts in (the README's
production command also names it: `gunicorn -c gunicorn.conf.py …`).
Without it, gunicorn writes its own messages — a worker's start or death,
and "Error handling request" with a plain multi-line traceback when a
streamed response (a CSV export) fails after Django has returned it —
outside the JSON log format and its masking of phone numbers and tokens.
Here its loggers use the same filter and formatter as Django's `LOGGING`
(`lcm/logs.py`): every line on stderr is one JSON object, numbers masked.

Only logging is set here; workers, bind address and the rest stay on the
command line, and `--log-level` and `--access-logfile` keep their meaning
(the access log, off by default, is JSON too when turned on).
"""

import logging
import sys
from pathlib import Path

from gunicorn.glogging import Logger

# lcm.logs is imported from this checkout whatever directory `--chdir`
# moves gunicorn to.
_ROOT = str(Path(__file__).resolve().parent)
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from lcm.logs import JsonFormatter, MaskSecretsFilter  # noqa: E402


class JsonLogger(Logger):
    """gunicorn's logger, writing through lcm's JSON formatter and mask.

    gunicorn gives its error log (and the access log, when asked for) plain
    text handlers in `setup`; each keeps its destination (stderr, or the
    file given) and gets the JSON formatter and the mask. Python warnings
    (Django's "No directory at: …/staticfiles/" before collectstatic) go to
    stderr the same way instead of two plain lines.
    """

    def setup(self, cfg):
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                handler.setFormatter(JsonFormatter())
                handler.addFilter(MaskSecretsFilter())
        warnings_handler = logging.StreamHandler(sys.stderr)
        warnings_handler.setFormatter(JsonFormatter())
        warnings_handler.addFilter(MaskSecretsFilter())
        warnings_log = logging.getLogger("py.warnings")
        warnings_log.handlers = [warnings_handler]
        warnings_log.propagate = False
        logging.captureWarnings(True)


logger_class = JsonLogger
