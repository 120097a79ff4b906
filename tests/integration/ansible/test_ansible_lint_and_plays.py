"""ansible-lint (production profile) and the syntax check pass, and each play applies
cleanly to this machine in a throwaway prefix."""

from __future__ import annotations

import re

import pytest
from ansible_deployment import Deployment

# The session fixture that runs ansible may start in any of these modules.
pytestmark = pytest.mark.timeout(300)

RECAP = re.compile(r"^(\S+)\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)


def test_ansible_lint_passes_the_production_profile(deployment: Deployment) -> None:
    assert deployment.lint.returncode == 0, deployment.lint.describe()
    assert "Profile 'production' was required, and it passed." in deployment.lint.output


def test_playbooks_pass_the_syntax_check(deployment: Deployment) -> None:
    assert deployment.syntax.returncode == 0, deployment.syntax.describe()
    assert deployment.syntax.output.strip().endswith("playbook: site.yml")


@pytest.mark.parametrize(
    ("play", "host"),
    [
        ("broker", "broker.plant-ie.example"),
        ("cloud", "cloud.plant-ie.example"),
        ("edge", "l1-sealing.plant-ie.example"),
    ],
)
def test_play_applies_without_failure(deployment: Deployment, play: str, host: str) -> None:
    run = deployment.plays[play]
    assert run.returncode == 0, run.describe()
    recap = {m[0]: (int(m[1]), int(m[2]), int(m[3]), int(m[4])) for m in RECAP.findall(run.output)}
    assert list(recap) == [host], run.describe()
    ok, changed, unreachable, failed = recap[host]
    assert (unreachable, failed) == (0, 0)
    assert changed > 0 and ok >= changed


def test_host_tasks_pass_in_check_mode_against_this_machine(deployment: Deployment) -> None:
    run = deployment.check
    assert run.returncode == 0, run.describe()
    recap = {m[0]: int(m[4]) for m in RECAP.findall(run.output)}
    assert recap == {
        "broker.plant-ie.example": 0,
        "cloud.plant-ie.example": 0,
        "l1-sealing.plant-ie.example": 0,
    }, run.describe()
    for task in (
        "TASK [broker : Install Mosquitto]",
        "TASK [cloud : Install PostgreSQL, nginx and Python's venv]",
        "TASK [cloud : Create the service's user (also its database role, by peer authentication)]",
        "TASK [edge : Install the packages the agent needs]",
        "TASK [edge : Create the agent's user]",
    ):
        assert task in run.output
