import L from 'leaflet'
import 'leaflet/dist/leaflet.css'
import type { Feature, FeatureCollection } from 'geojson'
import {
  anySynthetic,
  featureName,
  fetchAllItems,
  fetchRegion,
  fetchRegionShapes,
  localName,
  regionNames,
  type GeoCollection,
  type LocalName,
  type RegionCollection,
  type RegionFeature,
  type RegionLevel,
} from '../../shared/geo'

/** Communities are drawn from this zoom on, grids from GRID_MIN_ZOOM (or when asked for). */
export const COMMUNITY_MIN_ZOOM = 14
export const GRID_MIN_ZOOM = 16
const COMMUNITY_LABEL_ZOOM = 15

const SUBDISTRICT_FILLS = [
  '#dbeafe', '#dcfce7', '#fef3c7', '#fce7f3', '#e0e7ff',
  '#ccfbf1', '#ffedd5', '#ede9fe', '#ecfccb', '#e0f2fe',
]

/** Point colours of the optional layers; anything else is slate. */
export const LAYER_COLOURS: Record<string, string> = {
  landmarks: '#7c3aed',
  shelters: '#059669',
  schools: '#2563eb',
  hospitals: '#dc2626',
  flood_points: '#0891b2',
  hydrants: '#ea580c',
  roads: '#64748b',
}

export const PIN_COLOURS = { match: '#dc2626', candidate: '#d97706', click: '#1d4ed8' } as const

export interface GeoMapEvents {
  click: (lon: number, lat: number) => void
  /** Which regions are on the map changed; `synthetic` says whether any of them is. */
  drawn: (synthetic: boolean) => void
  error: (cause: unknown) => void
}

interface Label {
  element: HTMLElement
  name: LocalName
}

function shapes(layer: L.GeoJSON | undefined): RegionFeature[] {
  if (!layer) {
    return []
  }
  return layer.getLayers().map((item) => (item as L.Path & { feature: RegionFeature }).feature)
}

/**
 * The district map: boundaries from our own API on a plain background (no tiles, so it works
 * offline), labels, a highlight, pins and the optional point layers.
 */
export class GeoMap {
  readonly map: L.Map
  private locale: string
  private readonly events: GeoMapEvents
  private readonly labels: Label[] = []
  private readonly subdistrictLabels = L.layerGroup()
  private readonly communityLabels = L.layerGroup()
  private readonly pins = L.layerGroup()
  private readonly clicks = L.layerGroup()
  private readonly collections = new Map<string, L.GeoJSON>()
  private district?: L.GeoJSON
  private subdistricts?: L.GeoJSON
  private communities?: L.GeoJSON
  private grids?: L.GeoJSON
  private highlight?: L.GeoJSON
  private communityLoad?: Promise<void>
  private gridLoad?: Promise<void>
  private gridsWanted = false
  private destroyed = false

  constructor(element: HTMLElement, locale: string, events: GeoMapEvents) {
    this.locale = locale
    this.events = events
    this.map = L.map(element, {
      crs: L.CRS.EPSG3857,
      attributionControl: false,
      zoomControl: true,
      minZoom: 11,
      maxZoom: 19,
      zoomSnap: 0.25,
    })
    const panes: [string, number][] = [
      ['geo-regions', 400],
      ['geo-communities', 410],
      ['geo-grids', 420],
      ['geo-highlight', 430],
      ['geo-labels', 450],
      ['geo-points', 610],
      ['geo-pins', 620],
    ]
    for (const [name, z] of panes) {
      this.map.createPane(name).style.zIndex = String(z)
    }
    this.map.getPane('geo-labels')!.style.pointerEvents = 'none'
    L.control.scale({ imperial: false, position: 'bottomright' }).addTo(this.map)
    this.map.setView([22.56, 114.13], 13)
    this.pins.addTo(this.map)
    this.clicks.addTo(this.map)
    this.map.on('click', (event: L.LeafletMouseEvent) => this.events.click(event.latlng.lng, event.latlng.lat))
    this.map.on('zoomend', () => void this.update())
  }

  /** Draw the district and its subdistricts and fit the view to them. */
  async load(districtCode: string): Promise<void> {
    const [district, subdistricts] = await Promise.all([
      fetchRegion(districtCode),
      fetchRegionShapes({ level: 'subdistrict', parent: districtCode }),
    ])
    if (this.destroyed) {
      return
    }
    regionNames.rememberFeatures([district, ...subdistricts.features])
    this.district = L.geoJSON(district, {
      pane: 'geo-regions',
      interactive: false,
      style: { color: '#1e3a8a', weight: 3, fillColor: '#ffffff', fillOpacity: 0.6, className: 'geo-district' },
    }).addTo(this.map)
    this.subdistricts = L.geoJSON(subdistricts, {
      pane: 'geo-regions',
      interactive: false,
      style: (feature) => ({
        color: '#2563eb',
        weight: 1.5,
        fillColor: SUBDISTRICT_FILLS[Number(feature?.properties.code.slice(-3) ?? 0) % SUBDISTRICT_FILLS.length],
        fillOpacity: 0.75,
        className: 'geo-subdistrict',
      }),
    }).addTo(this.map)
    this.addLabels(subdistricts, this.subdistrictLabels, 'subdistrict')
    const bounds = this.district.getBounds()
    this.map.setMaxBounds(bounds.pad(0.6))
    // Leave room at the bottom for the legend that sits over the map.
    this.map.fitBounds(bounds, { paddingTopLeft: [24, 24], paddingBottomRight: [24, 120] })
    await this.update()
  }

  setLocale(locale: string): void {
    this.locale = locale
    for (const label of this.labels) {
      label.element.textContent = localName(label.name, locale)
    }
  }

  /** Show grid boundaries at every zoom (they always show from GRID_MIN_ZOOM on). */
  async setGrids(wanted: boolean): Promise<void> {
    this.gridsWanted = wanted
    await this.update()
  }

  /** Outline one region and zoom to it. */
  async focusRegion(code: string): Promise<void> {
    const feature = await fetchRegion(code)
    if (this.destroyed) {
      return
    }
    this.highlight?.remove()
    this.highlight = L.geoJSON(feature, {
      pane: 'geo-highlight',
      interactive: false,
      style: { color: '#f97316', weight: 3, fillColor: '#f97316', fillOpacity: 0.12, className: 'geo-highlight' },
    }).addTo(this.map)
    this.map.fitBounds(this.highlight.getBounds(), { padding: [40, 40], maxZoom: 17 })
    this.reportDrawn()
  }

  clearHighlight(): void {
    this.highlight?.remove()
    this.highlight = undefined
    this.reportDrawn()
  }

  /** A pin for a geocoded address (or a candidate), centred in view. */
  showPin(lon: number, lat: number, label: string, kind: 'match' | 'candidate'): void {
    this.pins.clearLayers()
    const marker = L.circleMarker([lat, lon], {
      pane: 'geo-pins',
      radius: 9,
      color: '#ffffff',
      weight: 3,
      fillColor: PIN_COLOURS[kind],
      fillOpacity: 1,
      className: `geo-pin geo-pin--${kind}`,
    })
      .bindTooltip(label, { direction: 'top', offset: [0, -10], className: 'geo-pin-tooltip' })
      .addTo(this.pins)
    this.map.setView([lat, lon], Math.max(this.map.getZoom(), 16))
    marker.openTooltip()
  }

  clearPins(): void {
    this.pins.clearLayers()
  }

  /** Mark where the map was clicked. */
  showClick(lon: number, lat: number): void {
    this.clicks.clearLayers()
    L.circleMarker([lat, lon], {
      pane: 'geo-pins',
      radius: 6,
      color: '#ffffff',
      weight: 2,
      fillColor: PIN_COLOURS.click,
      fillOpacity: 1,
      interactive: false,
      className: 'geo-click',
    }).addTo(this.clicks)
  }

  clearClick(): void {
    this.clicks.clearLayers()
  }

  /** Show or hide one of the `/collections` layers; its items are loaded the first time. */
  async setCollection(collection: GeoCollection, visible: boolean): Promise<void> {
    let layer = this.collections.get(collection.id)
    if (!visible) {
      layer?.remove()
      return
    }
    if (!layer) {
      const features = await fetchAllItems(collection.id)
      if (this.destroyed) {
        return
      }
      const colour = LAYER_COLOURS[collection.id] ?? '#475569'
      const small = collection.count > 500
      layer = L.geoJSON({ type: 'FeatureCollection', features } as FeatureCollection, {
        pane: 'geo-points',
        style: { color: colour, weight: 2, opacity: 0.8 },
        pointToLayer: (_feature, latlng) =>
          L.circleMarker(latlng, {
            pane: 'geo-points',
            radius: small ? 3 : 6,
            color: '#ffffff',
            weight: small ? 1 : 2,
            fillColor: colour,
            fillOpacity: 0.95,
            className: `geo-point geo-point--${collection.id}`,
          }),
        onEachFeature: (feature: Feature, item) => {
          item.bindTooltip(() => this.itemName(feature), { direction: 'top', className: 'geo-item-tooltip' })
        },
      })
      this.collections.set(collection.id, layer)
    }
    layer.addTo(this.map)
  }

  invalidate(): void {
    this.map.invalidateSize()
  }

  destroy(): void {
    this.destroyed = true
    this.map.remove()
  }

  private itemName(feature: Feature): string {
    const properties = (feature.properties ?? {}) as Record<string, unknown>
    const zh = typeof properties.name === 'string' ? properties.name : ''
    const en = typeof properties.name_en === 'string' ? properties.name_en : ''
    return localName({ zh, en }, this.locale) || String(feature.id ?? '')
  }

  private addLabels(collection: RegionCollection, group: L.LayerGroup, level: RegionLevel): void {
    for (const feature of collection.features) {
      const [lon, lat] = feature.properties.centroid
      const name = featureName(feature.properties)
      const element = document.createElement('span')
      element.className = `geo-label geo-label--${level}`
      element.textContent = localName(name, this.locale)
      element.dataset.code = feature.properties.code
      this.labels.push({ element, name })
      L.marker([lat, lon], {
        pane: 'geo-labels',
        interactive: false,
        keyboard: false,
        icon: L.divIcon({ html: element, className: 'geo-label-anchor', iconSize: [0, 0] }),
      }).addTo(group)
    }
  }

  private loadCommunities(): Promise<void> {
    this.communityLoad ??= fetchRegionShapes({ level: 'community' }).then((collection) => {
      regionNames.rememberFeatures(collection.features)
      this.communities = L.geoJSON(collection, {
        pane: 'geo-communities',
        interactive: false,
        style: { color: '#475569', weight: 1.2, dashArray: '5 4', fill: false, className: 'geo-community' },
      })
      this.addLabels(collection, this.communityLabels, 'community')
    })
    return this.communityLoad
  }

  private loadGrids(): Promise<void> {
    this.gridLoad ??= fetchRegionShapes({ level: 'grid' }).then((collection) => {
      regionNames.rememberFeatures(collection.features)
      this.grids = L.geoJSON(collection, {
        pane: 'geo-grids',
        interactive: false,
        style: { color: '#94a3b8', weight: 0.7, fill: false, className: 'geo-grid' },
      })
    })
    return this.gridLoad
  }

  private async update(): Promise<void> {
    if (!this.subdistricts) {
      return
    }
    const zoom = this.map.getZoom()
    const showCommunities = zoom >= COMMUNITY_MIN_ZOOM
    const showGrids = this.gridsWanted || zoom >= GRID_MIN_ZOOM
    const showCommunityLabels = zoom >= COMMUNITY_LABEL_ZOOM
    try {
      if (showCommunities) {
        await this.loadCommunities()
      }
      if (showGrids) {
        await this.loadGrids()
      }
    } catch (cause) {
      // A failed load is retried the next time the view changes.
      if (showCommunities && !this.communities) this.communityLoad = undefined
      if (showGrids && !this.grids) this.gridLoad = undefined
      this.events.error(cause)
    }
    if (this.destroyed) {
      return
    }
    this.toggle(this.communities, showCommunities)
    this.toggle(this.grids, showGrids)
    this.toggle(this.subdistrictLabels, !showCommunityLabels)
    this.toggle(this.communityLabels, showCommunityLabels && showCommunities)
    this.reportDrawn()
  }

  private toggle(layer: L.Layer | undefined, visible: boolean): void {
    if (!layer) {
      return
    }
    if (visible && !this.map.hasLayer(layer)) {
      layer.addTo(this.map)
    } else if (!visible && this.map.hasLayer(layer)) {
      layer.remove()
    }
  }

  private reportDrawn(): void {
    const drawn = [this.district, this.subdistricts, this.communities, this.grids, this.highlight]
      .filter((layer): layer is L.GeoJSON => layer !== undefined && this.map.hasLayer(layer))
      .flatMap((layer) => shapes(layer))
    this.events.drawn(anySynthetic(drawn))
  }
}
