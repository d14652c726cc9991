"""syncengine: safe two-way sync between a partner platform and CRM+."""

__version__ = "0.1.0"
