"""Travel distances for dispatch: along the district's roads where the profile has a road
layer (``roads``), in a straight line otherwise, and always saying which.

The road graph is the roads layer noded at every crossing (shapely's ``unary_union``), its
edges weighted by their length in metres; a trip runs in a straight line from its start to
the nearest point of a road, along the roads (networkx's Dijkstra), and from the road to
its end. A start and an end on roads that never meet fall back to the straight line. The
graph is built once per process and roads layer version.

Written here rather than taken from a routing engine (OSRM, pgRouting, GraphHopper): those
want a road network in their own format and a server or an extension, and the demo profile's
roads are a few dozen centre lines; networkx does the graph work.
"""

from __future__ import annotations

import itertools
import math
import threading
from dataclasses import dataclass
from typing import Any, Literal

import networkx as nx
import shapely
from shapely import LineString, MultiLineString, Point
from shapely.geometry import shape
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cityos.foundation.geo.models import Feature

ROADS_LAYER = "roads"
Method = Literal["road", "straight_line"]
# Local metres around Luohu: an equirectangular projection is within centimetres per km.
_LAT0 = 22.56
_M_LAT = 110_574.0
_M_LON = 111_320.0 * math.cos(math.radians(_LAT0))


def _xy(lon: float, lat: float) -> tuple[float, float]:
    return lon * _M_LON, lat * _M_LAT


def straight_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Metres between two (lon, lat) points."""
    (ax, ay), (bx, by) = _xy(*a), _xy(*b)
    return math.hypot(ax - bx, ay - by)


@dataclass(frozen=True)
class Trip:
    metres: float
    method: Method


class RoadGraph:
    """The roads as a graph in local metres (see the module docstring)."""

    def __init__(self, lines: list[LineString]) -> None:
        noded = shapely.unary_union(MultiLineString(lines)) if lines else None
        self.graph: nx.Graph[tuple[float, float]] = nx.Graph()
        parts = list(noded.geoms) if isinstance(noded, MultiLineString) else []
        if isinstance(noded, LineString):
            parts = [noded]
        for part in parts:
            coords = list(part.coords)
            for start, end in itertools.pairwise(coords):
                self.graph.add_edge(start, end, weight=math.dist(start, end))
        self.network = MultiLineString(parts) if parts else None

    def _entry(self, point: Point) -> tuple[tuple[float, float], float]:
        """The graph node nearest the point's nearest road point, and the walk to it."""
        assert self.network is not None
        on_road = self.network.interpolate(self.network.project(point))
        nearest = min(self.graph.nodes, key=lambda n: math.dist(n, (on_road.x, on_road.y)))
        return nearest, point.distance(on_road) + math.dist(nearest, (on_road.x, on_road.y))

    def trip(self, a: tuple[float, float], b: tuple[float, float]) -> Trip:
        if self.network is None or self.graph.number_of_nodes() == 0:
            return Trip(straight_m(a, b), "straight_line")
        start, end = Point(*_xy(*a)), Point(*_xy(*b))
        node_a, walk_a = self._entry(start)
        node_b, walk_b = self._entry(end)
        try:
            along = nx.shortest_path_length(self.graph, node_a, node_b, weight="weight")
        except nx.NetworkXNoPath:
            return Trip(straight_m(a, b), "straight_line")
        return Trip(walk_a + float(along) + walk_b, "road")


_lock = threading.Lock()
_graphs: dict[tuple[Any, ...], RoadGraph] = {}


def road_graph(session: Session) -> RoadGraph:
    """The profile's road graph (empty when it has no roads layer), cached per version."""
    version = tuple(
        session.execute(
            select(func.count(), func.max(Feature.updated_at)).where(
                Feature.layer_id == ROADS_LAYER
            )
        ).one()
    )
    key = (str(session.get_bind().engine.url), *version)
    with _lock:
        if key in _graphs:
            return _graphs[key]
    lines: list[LineString] = []
    for (geometry,) in session.execute(
        select(Feature.geometry).where(Feature.layer_id == ROADS_LAYER)
    ):
        found = shape(geometry)
        for line in getattr(found, "geoms", [found]):
            if isinstance(line, LineString):
                lines.append(LineString([_xy(x, y) for x, y, *_ in line.coords]))
    graph = RoadGraph(lines)
    with _lock:
        if len(_graphs) > 8:
            _graphs.clear()
        _graphs[key] = graph
    return graph
