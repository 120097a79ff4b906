"""Deployment inputs generated from the plant's device configs: the broker's devices and
ACL, and each edge host's deployed config. Used by the Ansible roles under ``ansible/``
through ``tracegate deploy ...`` on the controller."""

from tracegate.deploy.acl import render_acl
from tracegate.deploy.devices import DeployError, DeviceAccess, collect_devices, plant_files
from tracegate.deploy.edge_config import BrokerSettings, render_edge_config

__all__ = [
    "BrokerSettings",
    "DeployError",
    "DeviceAccess",
    "collect_devices",
    "plant_files",
    "render_acl",
    "render_edge_config",
]
