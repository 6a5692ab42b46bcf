"""gunicorn reads this file when started from the repository: the settings of src/mgd/gunicorn_conf.py."""

from mgd.gunicorn_conf import *  # noqa: F403
