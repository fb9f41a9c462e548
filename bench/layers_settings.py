"""The product's settings (config.settings), with bench/layers.py's two
views in front of the product's URLs: nothing else differs."""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "bench.layers"
