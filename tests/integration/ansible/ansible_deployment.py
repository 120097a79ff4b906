"""The Ansible roles applied for real to this machine, into a throwaway prefix (a session fixture).

One run per test session: the example plant's inventory (ansible/inventory/plant-ie) with
connection local, limited to the broker, the cloud host and one edge host (the sealer),
each writing under its own folder (`tracegate_root`) and leaving the host itself alone
(`tracegate_manage_host=false`: no packages, users, services, udev or reboots). The tasks
that can only act on the host itself (packages, groups, users: tag `host`) run in check mode
against this machine instead, changing nothing. ansible-lint and the syntax check run beside
the plays; everything runs at once to stay quick.

The cloud role migrates a fresh PostgreSQL database of its own (dropped afterwards).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
ANSIBLE_DIR = ROOT / "ansible"
BIN = Path(sys.executable).parent
EDGE_HOST = "l1-sealing.plant-ie.example"
BROKER_HOST = "broker.plant-ie.example"
CLOUD_HOST = "cloud.plant-ie.example"
PG_ADMIN = ("psql", "-h", "127.0.0.1", "-U", "postgres", "-X", "-q", "-v", "ON_ERROR_STOP=1")
RUN_TIMEOUT_S = 240
"""Generous: the runs take about a minute on an idle 2-core machine, more beside other work."""


@dataclass(frozen=True, slots=True)
class Run:
    """One finished ansible command."""

    args: tuple[str, ...]
    returncode: int
    output: str

    def describe(self) -> str:
        return f"{' '.join(self.args)} exited {self.returncode}:\n{self.output[-6000:]}"


@dataclass(frozen=True, slots=True)
class Deployment:
    """What the session's ansible runs produced."""

    work: Path
    """The session's folder: pki/, secrets/, roots/<host>/ and the extra vars."""
    broker_port: int
    database: str
    lint: Run
    syntax: Run
    check: Run
    """site.yml in check mode, host tasks only, against this machine itself."""
    plays: dict[str, Run]
    """broker, cloud and edge: their ansible-playbook runs."""

    def root(self, host: str) -> Path:
        """The prefix the roles wrote into for ``host``."""
        return self.work / "roots" / host

    def password(self, account: str) -> str:
        """The MQTT password the roles generated (or were given) for ``account``."""
        return (self.work / "secrets" / "mqtt" / account).read_text().split()[0]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _env(work: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        ANSIBLE_CONFIG=str(ANSIBLE_DIR / "ansible.cfg"),
        ANSIBLE_HOME=str(work / "ansible-home"),
        ANSIBLE_LOCAL_TEMP=str(work / "ansible-tmp"),
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_FORCE_COLOR="0",
        NO_COLOR="1",
    )
    return env


def _extra_vars(work: Path, *, broker_port: int, database: str, wheel: Path) -> Path:
    pki = work / "pki"
    text = f"""\
ansible_connection: local
ansible_python_interpreter: "{{{{ ansible_playbook_python }}}}"
tracegate_root: "{work}/roots/{{{{ inventory_hostname }}}}"
tracegate_manage_host: false
tracegate_secrets_dir: {work}/secrets
tracegate_pki_dir: {pki}
tracegate_broker_host: localhost
tracegate_broker_port: {broker_port}
broker_run_user: root
broker_tls_cert_src: {pki}/localhost.pem
broker_tls_key_src: {pki}/localhost.key
cloud_tls_cert_src: {pki}/localhost.pem
cloud_tls_key_src: {pki}/localhost.key
cloud_wheel_src: {wheel}
cloud_cli: {BIN / "tracegate"}
cloud_database_url: postgresql+asyncpg://postgres@127.0.0.1:5432/{database}
cloud_create_admin: false
edge_wheel_dir: {work}/build
# The venv install is exercised without fetching the dependencies from the index.
edge_pip_extra_args: --no-deps
cloud_pip_extra_args: --no-deps
"""
    path = work / "extra-vars.yml"
    path.write_text(text, encoding="utf-8")
    local = work / "check-vars.yml"
    local.write_text("\n".join(text.splitlines()[:2]) + "\n", encoding="utf-8")
    return path


def _start(
    args: list[str], *, cwd: Path, env: dict[str, str], log: Path
) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(args, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)


@pytest.fixture(scope="session")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    if not (BIN / "ansible-playbook").exists():
        pytest.fail(f"ansible-core is not installed in {BIN} (the dev extra pins it)")
    work = tmp_path_factory.mktemp("ansible")
    env = _env(work)
    subprocess.run(
        [str(ANSIBLE_DIR / "scripts" / "make-plant-pki"), str(work / "pki"), "localhost"],
        check=True,
    )
    # The broker play and the edge/cloud plays run at once and share these two accounts:
    # given beforehand, as an operator may. The broker generates the other devices'.
    (work / "secrets" / "mqtt").mkdir(parents=True)
    for account in ("edge-l1-sealing", "tracegate-ingest"):
        (work / "secrets" / "mqtt" / account).write_text(uuid.uuid4().hex + "\n")
    # The edge play builds the wheel from the checkout; the cloud play installs one built
    # here first (two builds at once in one source tree would collide).
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(work / "wheel"), ROOT],
        check=True,
        env={**env, "SOURCE_DATE_EPOCH": "315532800"},
        capture_output=True,
    )
    wheel = next((work / "wheel").glob("tracegate-*.whl"))
    database = f"tg_ansible_{uuid.uuid4().hex[:12]}"
    subprocess.run([*PG_ADMIN, "-c", f"CREATE DATABASE {database}"], check=True)
    broker_port = _free_port()
    extra = _extra_vars(work, broker_port=broker_port, database=database, wheel=wheel)
    playbook = [str(BIN / "ansible-playbook"), "-e", f"@{extra}"]
    commands = {
        "lint": [str(BIN / "ansible-lint"), "--nocolor"],
        "syntax": [str(BIN / "ansible-playbook"), "--syntax-check", "site.yml"],
        "check": [
            str(BIN / "ansible-playbook"),
            *("-e", f"@{work / 'check-vars.yml'}", "--check", "--diff", "--tags", "host"),
            *("site.yml", "--limit", ",".join((BROKER_HOST, CLOUD_HOST, EDGE_HOST))),
        ],
        "broker": [*playbook, "broker.yml", "--limit", BROKER_HOST],
        "cloud": [*playbook, "cloud.yml", "--limit", CLOUD_HOST],
        "edge": [*playbook, "edge.yml", "--limit", EDGE_HOST],
    }
    procs = {
        name: _start(args, cwd=ANSIBLE_DIR, env=env, log=work / f"{name}.log")
        for name, args in commands.items()
    }
    deadline = time.monotonic() + RUN_TIMEOUT_S
    runs: dict[str, Run] = {}
    try:
        for name, proc in procs.items():
            try:
                code = proc.wait(timeout=max(deadline - time.monotonic(), 1))
            except subprocess.TimeoutExpired:
                proc.kill()
                code = proc.wait()
            output = (work / f"{name}.log").read_text(errors="replace")
            runs[name] = Run(tuple(commands[name]), code, output)
        yield Deployment(
            work=work,
            broker_port=broker_port,
            database=database,
            lint=runs["lint"],
            syntax=runs["syntax"],
            check=runs["check"],
            plays={name: runs[name] for name in ("broker", "cloud", "edge")},
        )
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        subprocess.run([*PG_ADMIN, "-c", f"DROP DATABASE IF EXISTS {database} WITH (FORCE)"])
