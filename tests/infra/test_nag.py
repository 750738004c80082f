"""cdk-nag's AWS Solutions checks pass: every finding is fixed or acknowledged in infra/nag.py."""

from __future__ import annotations

from cdk_template import Synthesis


def test_default_stack_has_no_unacknowledged_cdk_nag_finding(default_synthesis: Synthesis) -> None:
    assert default_synthesis.nag_error is None, default_synthesis.nag_error


def test_fully_configured_stack_has_no_unacknowledged_cdk_nag_finding(configured_synthesis: Synthesis) -> None:
    assert configured_synthesis.nag_error is None, configured_synthesis.nag_error
