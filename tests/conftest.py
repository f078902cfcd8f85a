"""Shared test set-up: this file's presence puts `tests/` on the import path (pytest's default
`prepend` import mode), so every test can import the helpers in `tests/helpers/`.

It also loads the Hypothesis profile of this project: a failing property test prints the blob
that reproduces it (`@reproduce_failure(...)`), so a failure seen once in CI can be replayed; and
no example has a deadline, since a test asserts outcomes, never durations (on a shared machine a
first call that compiles a polars plan can take a second, which is no failure).
Run `pytest --hypothesis-seed=N` to repeat a whole run, `--hypothesis-show-statistics` to see
what the strategies generated.
"""

from hypothesis import settings

settings.register_profile("sigmd", print_blob=True, deadline=None)
settings.load_profile("sigmd")
