"""lcm: SetNewModeNumber for an outbound dialer, as a reusable Django app.

The version follows Semantic Versioning; CHANGELOG.md says what changed and
what an upgrade needs (docs/install.md, "Upgrading").
"""

__version__ = "0.2.0"
