"""Plant device configs: the schema, and loading YAML with file:line problems.

>>> from protocols.config import load_plant_file, config_hash  # doctest: +SKIP
"""

from protocols.config.links import MqttConfig, OutboxConfig, TlsFiles
from protocols.config.loader import config_hash, load_plant_file, load_plant_text
from protocols.config.plc import (
    InterlockConfig,
    PlcConfig,
    PlcInput,
    PlcOutput,
    RegisterConfig,
    RegisterType,
)
from protocols.config.problems import ConfigError, ConfigProblem
from protocols.config.roles import ROLES, GoodsReceiptConfig, PackingConfig, Role
from protocols.config.rules import (
    ExpiryRule,
    ParameterLimitsRule,
    RoutePredecessorRule,
    Rule,
    RulesConfig,
    WorkOrderLotRule,
)
from protocols.config.schema import Checkpoint, LineConfig, PlantConfig, SiteConfig
from protocols.config.sources import (
    BarcodeFormat,
    CameraConfig,
    Framing,
    RegionOfInterest,
    ScannerConfig,
)

__all__ = [
    "ROLES",
    "BarcodeFormat",
    "CameraConfig",
    "Checkpoint",
    "ConfigError",
    "ConfigProblem",
    "ExpiryRule",
    "Framing",
    "GoodsReceiptConfig",
    "InterlockConfig",
    "LineConfig",
    "MqttConfig",
    "OutboxConfig",
    "PackingConfig",
    "ParameterLimitsRule",
    "PlantConfig",
    "PlcConfig",
    "PlcInput",
    "PlcOutput",
    "RegionOfInterest",
    "RegisterConfig",
    "RegisterType",
    "Role",
    "RoutePredecessorRule",
    "Rule",
    "RulesConfig",
    "ScannerConfig",
    "SiteConfig",
    "TlsFiles",
    "WorkOrderLotRule",
    "config_hash",
    "load_plant_file",
    "load_plant_text",
]
