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
command line. `--log-level` still applies to gunicorn's error log.
"""

import logging
import os
import sys
from pathlib import Path

# The filter and formatter are imported by name: make this checkout
# importable whatever directory `--chdir` moves gunicorn to.
_ROOT = str(Path(__file__).resolve().parent)
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

# Python's warnings (Django's "No directory at: …/staticfiles/" before
# collectstatic) go to stderr as two plain lines: route them to logging.
logging.captureWarnings(True)

logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"mask_secrets": {"()": "lcm.logs.MaskSecretsFilter"}},
    "formatters": {"json": {"()": "lcm.logs.JsonFormatter"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stderr",
            "formatter": "json",
            "filters": ["mask_secrets"],
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    # Replacing gunicorn's own handlers (listed, so dictConfig removes the
    # plain-text ones gunicorn set up); no level, so --log-level holds.
    # A logging config turns gunicorn's access log on: lcm.request already
    # logs each API request, so it stays below its level (INFO) here.
    "loggers": {
        "gunicorn.error": {"handlers": ["console"], "propagate": False},
        "gunicorn.access": {"handlers": ["console"], "propagate": False, "level": "WARNING"},
    },
}
