"""Conflict and failure reports for data managers: HTML, CSV and JSON.

``model`` gathers what a report says (pure: no I/O); each renderer turns a ``Report``
into text. The command line and the review page build the ``Report`` from the stores.
"""
