"""Starting and stopping: one stack at a time, and nothing left behind (no moto mock, no handler environment),
so the handler tests' own mocks that run after a stack module start from a clean slate."""

from __future__ import annotations

import os

import pytest
from moto.core.models import botocore_stubber

from devstack.server import LocalStack

from . import echo_handlers


def test_stopping_leaves_no_mock_and_no_environment_behind() -> None:
    assert LocalStack.current() is None  # other modules' stacks are stopped with their module
    before = dict(os.environ)

    with LocalStack(port=0, routes=echo_handlers.routes(), env={"MAX_CAPACITY": "50"}) as stack:
        assert os.environ["MAX_CAPACITY"] == "50"
        assert os.environ["MANAGEMENT_API_ENDPOINT"] == stack.management_url
        assert os.environ["TABLE_NAME"] == "parley-local"
        assert botocore_stubber.enabled
        assert LocalStack.current() is stack
        with pytest.raises(RuntimeError, match="already running"):
            LocalStack(port=0).start()

    assert LocalStack.current() is None
    assert not botocore_stubber.enabled
    assert "process_request" not in vars(botocore_stubber)
    assert dict(os.environ) == before
