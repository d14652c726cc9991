"""The contract tests: each sandbox route replayed with the request shapes documented in
crmplus-api.md, each answer held to its status, X-RateLimit-* headers and body schema.

- ``schemas``: the reference's wire types as JSON Schemas (records, envelopes, errors);
- ``checker``: one answer against its expectation, as a list of problems;
- ``case``: the ``Case`` row and its body builders (``fixed``, ``raw``, ``echo``);
- ``rows_*``: the rows, one module per route family; ``table.ROWS`` lists them all;
- ``test_contract``: replays every row (writes under both PUT semantics);
- ``test_coverage``: every route the app registers is reached by a 2xx row (and so by
  the 401 row ``table.with_a_wrong_token`` derives from it);
- ``test_checker``: the checker catches deliberately wrong answers.

To add a route: write its rows in a ``rows_<family>.py`` module (a success row and its
error rows: 400, 404, 409, 422 as they apply), reusing or adding schemas in ``schemas``,
and add ``*rows_<family>.ROWS`` to ``table.ROWS``.
"""
