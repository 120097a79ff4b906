"""`tracegate cloud create-user | device-credential | audit verify | audit export`.

They work on the database directly (like `cloud migrate`), as the operating system's user
`cli:<name>`, whose changes land in the audit trail. Cloud imports happen in the bodies.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from cloud.domain.audit.context import Actor
    from cloud.domain.audit.schemas import VerifyReport
    from cloud.settings import Settings

audit_app = typer.Typer(help="The audit trail: verify its hash chains, export it.")

_CONFIG = typer.Option(
    None,
    "--config",
    "-c",
    help="Settings file (.toml or .yaml); TRACEGATE_* environment variables override it.",
    exists=True,
    dir_okay=False,
)


def add_cloud_access_commands(cloud_app: typer.Typer) -> None:
    cloud_app.command("create-user")(create_user)
    cloud_app.command("device-credential")(device_credential)
    cloud_app.add_typer(audit_app, name="audit")


def _settings(config: Path | None) -> Settings:
    from tracegate.cli_cloud import _settings as load

    return load(config)


def _cli_actor(command: str) -> Actor:
    import getpass

    from cloud.domain.audit.context import Actor

    return Actor(
        name=f"cli:{getpass.getuser()}", kind="system", request=f"tracegate cloud {command}"
    )


def create_user(
    username: Annotated[
        str | None, typer.Argument(help="Login name: lower case, digits, . _ -")
    ] = None,
    username_option: Annotated[
        str | None, typer.Option("--username", help="The login name (instead of the argument).")
    ] = None,
    role: Annotated[
        list[str] | None,
        typer.Option("--role", help="operator, quality, auditor or admin (repeatable)."),
    ] = None,
    name: Annotated[
        str | None,
        typer.Option("--name", help="Printed name, shown with signatures (default: the login)."),
    ] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
    config: Path | None = _CONFIG,
) -> None:
    """Create a user (the first admin, typically). The password is asked for twice."""
    import asyncio

    login = username or username_option
    if login is None or (username and username_option and username != username_option):
        raise typer.BadParameter(
            "give the login name once, as USERNAME or --username", param_hint="USERNAME"
        )
    if not role:
        raise typer.BadParameter("give at least one --role", param_hint="'--role'")
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    settings = _settings(config)
    asyncio.run(_create_user(settings, login, role, name or login, password))


async def _create_user(
    settings: Settings, username: str, roles: list[str], name: str, password: str
) -> None:
    import msgspec

    from cloud.db.database import Database
    from cloud.domain.audit import capture
    from cloud.domain.audit.context import acting_as
    from cloud.domain.auth.schemas import UserIn
    from cloud.domain.auth.services import AuthService
    from cloud.domain.errors import DomainError

    try:
        data = msgspec.convert(
            {"username": username, "full_name": name, "roles": roles, "password": password},
            UserIn,
        )
    except msgspec.ValidationError as exc:
        typer.echo(f"invalid user: {exc}", err=True)
        raise typer.Exit(2) from None
    capture.install()
    db = Database.connect(settings.database_url)
    try:
        with acting_as(_cli_actor("create-user")):
            user = await AuthService(db).create_user(data)
    except DomainError as exc:
        typer.echo(exc.message, err=True)
        raise typer.Exit(1) from None
    finally:
        await db.close()
    typer.echo(
        f"created user {user.username} ({user.full_name}) with roles {', '.join(user.roles)}"
    )


def device_credential(
    device_id: Annotated[str, typer.Argument(help="A registered device.")],
    config: Path | None = _CONFIG,
) -> None:
    """Issue a credential a device posts events with; prints the token once."""
    import asyncio

    asyncio.run(_device_credential(_settings(config), device_id))


async def _device_credential(settings: Settings, device_id: str) -> None:
    from cloud.db.database import Database
    from cloud.domain.audit import capture
    from cloud.domain.audit.context import acting_as
    from cloud.domain.auth.services import AuthService
    from cloud.domain.errors import DomainError

    capture.install()
    db = Database.connect(settings.database_url)
    actor = _cli_actor("device-credential")
    try:
        with acting_as(actor):
            credential = await AuthService(db).issue_device_credential(
                device_id, created_by=actor.name
            )
    except DomainError as exc:
        typer.echo(exc.message, err=True)
        raise typer.Exit(1) from None
    finally:
        await db.close()
    typer.echo(credential.token)


@audit_app.command("verify")
def verify(
    config: Path | None = _CONFIG,
    device: Annotated[
        str | None, typer.Option("--device", help="Walk only this device's event chain.")
    ] = None,
    devices: Annotated[
        bool, typer.Option("--devices/--no-devices", help="Walk the device event chains too.")
    ] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Walk the audit chain and the device event chains; exit 1 naming what was altered,
    removed or reordered."""
    import asyncio

    import msgspec

    report = asyncio.run(_verify(_settings(config), device_id=device, devices=devices))
    if as_json:
        typer.echo(msgspec.json.encode(report).decode())
    else:
        typer.echo(
            f"audit chain: {report.audit_rows} rows (head {report.head_seq}); "
            f"device chains: {report.devices} devices, {report.events} events"
        )
        for note in report.notes:
            typer.echo(f"note: {note}")
        for problem in report.problems:
            typer.echo(f"{problem.kind}: {problem.message}")
        typer.echo("intact" if report.ok else f"{len(report.problems)} problem(s)")
    raise typer.Exit(0 if report.ok else 1)


async def _verify(settings: Settings, *, device_id: str | None, devices: bool) -> VerifyReport:
    from cloud.db.database import Database
    from cloud.domain.audit.services import AuditService

    db = Database.connect(settings.database_url)
    try:
        return await AuditService(db).verify(devices=devices, device_id=device_id)
    finally:
        await db.close()


@audit_app.command("export")
def export(
    config: Path | None = _CONFIG,
    fmt: Annotated[str, typer.Option("--format", help="csv or json.")] = "json",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File to write (default: stdout).")
    ] = None,
) -> None:
    """The whole audit trail with its hashes, for an inspector."""
    import asyncio

    if fmt not in ("csv", "json"):
        raise typer.BadParameter(f"expected csv or json, got {fmt!r}", param_hint="'--format'")
    text = asyncio.run(_export(_settings(config), fmt))
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {output}")


async def _export(settings: Settings, fmt: str) -> str:
    import msgspec

    from cloud.db.database import Database
    from cloud.domain.audit.services import AuditService

    db = Database.connect(settings.database_url)
    try:
        service = AuditService(db)
        if fmt == "csv":
            return await service.export_csv()
        return msgspec.json.encode(await service.export()).decode() + "\n"
    finally:
        await db.close()
