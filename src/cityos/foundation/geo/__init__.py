"""The spatio-temporal foundation (时空信息平台): regions, standard addresses, layers,
coordinate systems and spatial lookups. What other modules may import is listed here.

Regions, addresses and layers come from the profile's ``geo/`` folder; the module keeps
them in its tables (``models``) and answers from a per-process region index and the
database's spatial index (``index``).
"""

from __future__ import annotations

from pathlib import Path

from cityos.foundation.geo import crs
from cityos.foundation.geo.api import router, staff_router
from cityos.foundation.geo.blocks import Aggregation, Block, BlockLevel, aggregate
from cityos.foundation.geo.cli import cli
from cityos.foundation.geo.index import (
    Bbox,
    Near,
    RegionChain,
    RegionIndex,
    RegionRef,
    Reverse,
    features_within,
    locate,
    locate_many,
    nearest_addresses,
    nearest_features,
    region_index,
    reverse,
)
from cityos.foundation.geo.models import LEVELS, Feature, Layer, Level, Region, StandardAddress
from cityos.foundation.geo.profile import addresses_section, layers_section, regions_section
from cityos.foundation.geo.service import MESSAGES as _SERVICE_MESSAGES
from cityos.foundation.geo.service import (
    LayerNotFound,
    LayerSummary,
    RegionNotFound,
    address_search_text,
    address_text,
    feature_geojson,
    feature_page,
    get_layer,
    get_region,
    list_layers,
    list_regions,
    region_feature,
)
from cityos.foundation.geo.topology import (
    RegionInput,
    TopologyFault,
    TopologyReport,
    check_feature_collections,
    check_regions,
)
from cityos.kernel.registry import Module

module = Module(
    name="geo",
    models=("cityos.foundation.geo.models",),
    migrations=Path(__file__).parent / "migrations",
    routers=(router, staff_router),
    permissions={
        "geo.geocode.batch": {"zh": "批量地址匹配", "en": "Batch geocoding of files"},
    },
    cli=cli,
    cli_name="geo",
    profile_sections=(regions_section, addresses_section, layers_section),
    messages={code: dict(titles) for code, titles in {**crs.MESSAGES, **_SERVICE_MESSAGES}.items()},
)

__all__ = [
    "LEVELS",
    "Aggregation",
    "Bbox",
    "Block",
    "BlockLevel",
    "Feature",
    "Layer",
    "LayerNotFound",
    "LayerSummary",
    "Level",
    "Near",
    "Region",
    "RegionChain",
    "RegionIndex",
    "RegionInput",
    "RegionNotFound",
    "RegionRef",
    "Reverse",
    "StandardAddress",
    "TopologyFault",
    "TopologyReport",
    "address_search_text",
    "address_text",
    "aggregate",
    "check_feature_collections",
    "check_regions",
    "crs",
    "feature_geojson",
    "feature_page",
    "features_within",
    "get_layer",
    "get_region",
    "list_layers",
    "list_regions",
    "locate",
    "locate_many",
    "module",
    "nearest_addresses",
    "nearest_features",
    "region_feature",
    "region_index",
    "reverse",
]
