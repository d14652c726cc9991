"""The review page: a small server-rendered web application where data managers see
open conflicts, a contact's three versions and history, and decide (``syncengine review``).

Like ``syncengine.web``, an adapter given what it needs by the composition root
(``ReviewServices``): it knows the domain's ports and the reports' HTML pieces, never the
engine, the stores or the configuration.
"""
