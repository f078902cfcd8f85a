"""The project's Hypothesis profile: a failing property test must say how to replay it."""

from hypothesis import settings


def test_a_failing_property_test_prints_the_blob_that_reproduces_it():
    assert settings.default.print_blob is True


def test_no_example_fails_for_taking_long():
    assert settings.default.deadline is None
