"""Shared test set-up: this file's presence puts `tests/` on the import path (pytest's default
`prepend` import mode), so every test can import the helpers in `tests/helpers/`."""
