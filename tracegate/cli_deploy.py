"""`tracegate deploy ...`: what the Ansible roles need from the plant's device configs.

Run on the Ansible controller: the broker's device list and ACL, and each edge host's
deployed config. Each prints to stdout; a problem goes to stderr with exit code 2.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

if TYPE_CHECKING:
    from tracegate.deploy import DeviceAccess

deploy_app = typer.Typer(
    help="Generate the broker ACL, the device list and edge configs from device configs.",
    no_args_is_help=True,
)

PathsArg = Annotated[
    list[Path],
    typer.Argument(metavar="PATH", help="Plant files, or directories of .yaml/.yml plant files."),
]


@deploy_app.command("devices")
def devices(paths: PathsArg) -> None:
    """Print every device as JSON: id, checkpoint, topics, outbox and state paths."""
    found = _collect(paths)
    typer.echo(json.dumps([device.as_json() for device in found], indent=2))


@deploy_app.command("acl")
def acl(
    paths: PathsArg,
    ingest_user: Annotated[
        str, typer.Option("--ingest-user", help="The cloud ingest's broker account.")
    ] = "tracegate-ingest",
    reader: Annotated[
        list[str] | None,
        typer.Option("--reader", help="An account that reads events and status; repeat."),
    ] = None,
) -> None:
    """Print the Mosquitto ACL: each device its own topics, the ingest every event."""
    from tracegate.deploy import DeployError, render_acl

    found = _collect(paths)
    try:
        text = render_acl(found, ingest_user=ingest_user, readers=reader or ())
    except DeployError as exc:
        _fail(str(exc))
    typer.echo(text, nl=False)


@deploy_app.command("edge-config")
def edge_config(
    path: Annotated[Path, typer.Argument(metavar="FILE", help="The line's plant file.")],
    broker_url: Annotated[
        str, typer.Option("--broker-url", help="The plant broker, e.g. mqtts://broker:8883.")
    ],
    ca_file: Annotated[
        Path | None, typer.Option("--ca-file", help="The plant CA on the device.")
    ] = None,
    credentials_file: Annotated[
        Path | None,
        typer.Option("--credentials-file", help="The device's MQTT credentials file."),
    ] = None,
    cert_file: Annotated[
        Path | None, typer.Option("--cert-file", help="A client certificate on the device.")
    ] = None,
    key_file: Annotated[
        Path | None, typer.Option("--key-file", help="The client certificate's key.")
    ] = None,
) -> None:
    """Print the plant file with the plant network's broker settings in place."""
    from protocols.config import ConfigError
    from tracegate.deploy import BrokerSettings, DeployError, render_edge_config

    broker = BrokerSettings(
        broker_url=broker_url,
        ca_file=ca_file,
        credentials_file=credentials_file,
        cert_file=cert_file,
        key_file=key_file,
    )
    try:
        text = render_edge_config(path, broker)
    except (ConfigError, DeployError) as exc:
        _fail(str(exc))
    typer.echo(text, nl=False)


def _collect(paths: list[Path]) -> list[DeviceAccess]:
    from protocols.config import ConfigError
    from tracegate.deploy import DeployError, collect_devices

    try:
        return collect_devices(paths)
    except (ConfigError, DeployError) as exc:
        _fail(str(exc))


def _fail(message: str) -> NoReturn:
    typer.echo(message, err=True)
    raise typer.Exit(2)
