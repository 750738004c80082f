from __future__ import annotations

from collections.abc import Callable

import pytest

from devstack.server import LocalStack


@pytest.fixture(scope="module")
def local_stack(start_local_stack: Callable[..., LocalStack]) -> LocalStack:
    """A one-second resume grace period, so that tests of $disconnect need not wait the default ten; every grace
    message is delivered twice (SQS delivers at least once), so every test also shows the release is idempotent."""
    return start_local_stack(env={"DISCONNECT_GRACE_SECONDS": "1"}, redeliver=1.0)
