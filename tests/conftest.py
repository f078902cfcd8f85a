"""Shared test set-up: this file's presence puts `tests/` on the import path (pytest's default
`prepend` import mode), so every test can import the helpers in `tests/helpers/`.

It also loads the Hypothesis profile of this project: a failing property test prints the blob
that reproduces it (`@reproduce_failure(...)`), so a failure seen once in CI can be replayed.
Run `pytest --hypothesis-seed=N` to repeat a whole run, `--hypothesis-show-statistics` to see
what the strategies generated.
"""

from hypothesis import settings

settings.register_profile("sigmd", print_blob=True)
settings.load_profile("sigmd")
