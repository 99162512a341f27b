import type { Feature, Geometry, Point } from 'geojson'
import L from 'leaflet'
import 'leaflet/dist/leaflet.css'
import {
  anySynthetic,
  fetchAllItems,
  fetchRegion,
  fetchRegions,
  fetchRegionShapes,
  featureName,
  localName,
  type LocalName,
  type RegionFeature,
} from '../shared/geo'
import { severityRank, type Alarm } from '../workbench/alarms/alarms'
import { statusColour, type Device } from '../workbench/devices/devices'
import type { Run } from '../workbench/plans/plans'
import { levelColour, resourceColour, RESOURCE_KINDS, type EmergencyLayer, type ResourceFeature } from './emergency'
import { caseColour, type OpenCaseFeature } from './openCases'

// The run card covers about this share of the map's width on its right (26rem and its margin of 58rem).
const RUN_CARD_SHARE = 0.5
// Room for the type chips above and the legend below, which sit over the map.
const FIT_PADDING: L.FitBoundsOptions = { paddingTopLeft: [24, 96], paddingBottomRight: [24, 64] }

const SUBDISTRICT_STYLE: L.PathOptions = { color: '#2b7bb9', weight: 1.2, fillColor: '#0e3563', fillOpacity: 0.35 }
const HOVERED_STYLE: L.PathOptions = { color: '#7dd3fc', weight: 2.5, fillColor: '#14507f', fillOpacity: 0.5 }
const DRILLED_STYLE: L.PathOptions = { color: '#38bdf8', weight: 3, fillColor: '#1d5f94', fillOpacity: 0.5 }
// Outlines only: the subdistricts' fill and the markers must show through.
const COMMUNITY_STYLE: L.PathOptions = { color: '#7dd3fc', weight: 1, opacity: 0.6, dashArray: '4 3', fill: false, className: 'ioc-community' }
const GRID_STYLE: L.PathOptions = { color: '#94a3b8', weight: 0.5, opacity: 0.45, fill: false, className: 'ioc-grid' }

/** The reference layers a viewer can switch on; off until asked for, read when first shown. */
export type IocOverlay = 'community' | 'grid' | 'landmarks'
export const IOC_OVERLAYS: readonly IocOverlay[] = ['community', 'grid', 'landmarks']

/** What an overlay shows now: how many features, and whether any of them is synthetic. */
export interface OverlayDrawn {
  count: number
  synthetic: boolean
}

/** A feature of the profile's `landmarks` layer. */
export interface LandmarkProperties {
  name: string
  name_en: string
  category: string
  approximate: boolean
  synthetic: boolean
}
export type LandmarkFeature = Feature<Point, LandmarkProperties>

interface OverlayDrawing {
  layer: L.Layer
  drawn: OverlayDrawn
}

export interface IocMapEvents {
  device: (code: string) => void
  run: (id: string) => void
  /** A subdistrict was clicked: drill down into it. */
  region: (code: string) => void
  /** An overlay was drawn for the region in view (null: it is being read again). */
  overlay: (name: IocOverlay, drawn: OverlayDrawn | null) => void
  error: (cause: unknown) => void
}

/** The district as drawn: its name, its subdistricts' names by code, and whether those boundaries are synthetic. */
export interface DistrictNames {
  district: LocalName
  subdistricts: ReadonlyMap<string, LocalName>
  synthetic: boolean
}

/**
 * The community or grid shapes of the district (`scope` null) or of one subdistrict. The geo
 * API filters by direct parent only, so a subdistrict's grids are read community by community;
 * the district's are read whole, as the profile holds one district.
 */
async function regionShapes(level: 'community' | 'grid', scope: string | null): Promise<RegionFeature[]> {
  if (scope === null) return (await fetchRegionShapes({ level })).features
  if (level === 'community') return (await fetchRegionShapes({ level, parent: scope })).features
  const communities = await fetchRegions({ level: 'community', parent: scope })
  const pages = await Promise.all(communities.map((community) => fetchRegionShapes({ level, parent: community.code })))
  return pages.flatMap((page) => page.features)
}

/**
 * The IOC's district map: boundaries from the geo API on a dark ground (no tiles, so it
 * works offline), a marker per device coloured by status, and a pulsing marker per open
 * alarm; the subdistricts light up under the pointer and a click drills into one; with plans,
 * the emergency resources (a layer group per kind, coloured by status)
 * and the open runs' affected areas (coloured by level); the open cases, a ring per case
 * coloured by state, red when overdue; on request, the community and grid outlines of the
 * region in view and the landmarks, each read from the geo API when first shown. Vue keeps
 * the data; this class only draws it.
 */
export class IocMap {
  readonly map: L.Map
  private readonly events: IocMapEvents
  private readonly devices = L.layerGroup()
  private readonly alarms = L.layerGroup()
  private readonly labels = L.layerGroup()
  private readonly areas = L.layerGroup()
  private readonly cases = L.layerGroup()
  private describeCase: (item: OpenCaseFeature) => string[] = () => []
  private readonly resourceKinds = new Map<string, L.LayerGroup>(RESOURCE_KINDS.map((kind) => [kind, L.layerGroup()]))
  private readonly resourceMarkers = new Map<string, { marker: L.Marker; feature: ResourceFeature; look: string }>()
  private describeResource: (resource: ResourceFeature) => string[] = () => []
  private readonly areaBounds = new Map<string, L.LatLngBounds>()
  private readonly markers = new Map<string, L.CircleMarker>()
  // One renderer per pane: a renderer without one draws in Leaflet's overlay pane, under the boundaries.
  private readonly deviceRenderer = L.svg({ padding: 0.5, pane: 'ioc-devices' })
  private readonly caseRenderer = L.svg({ padding: 0.5, pane: 'ioc-cases' })
  private readonly overlays = new Map<IocOverlay, L.LayerGroup>(IOC_OVERLAYS.map((name) => [name, L.layerGroup()]))
  private readonly wanted = new Set<IocOverlay>()
  // What each overlay's group holds now, and every drawing read so far, by overlay and scope.
  private readonly overlayShown = new Map<IocOverlay, string>()
  private readonly drawings = new Map<string, Promise<OverlayDrawing>>()
  private describeLandmark: (landmark: LandmarkFeature) => string[] = () => []
  private locale = 'zh-CN'
  private readonly labelNames: { element: HTMLElement; name: { zh: string; en: string } }[] = []
  private readonly subdistricts = new Map<string, L.Polygon>()
  private districtBounds: L.LatLngBounds | null = null
  private drilled: string | null = null
  private selected: string | null = null
  private destroyed = false

  constructor(element: HTMLElement, events: IocMapEvents) {
    this.events = events
    this.map = L.map(element, {
      attributionControl: false,
      zoomControl: false,
      minZoom: 11,
      maxZoom: 18,
      zoomSnap: 0.25,
    })
    const panes = [
      ['ioc-regions', 400],
      ['ioc-grids', 405],
      ['ioc-communities', 410],
      ['ioc-areas', 420],
      ['ioc-labels', 450],
      ['ioc-landmarks', 460],
      ['ioc-devices', 600],
      ['ioc-cases', 610],
      ['ioc-resources', 620],
      ['ioc-alarms', 650],
    ] as const
    for (const [name, z] of panes) {
      this.map.createPane(name).style.zIndex = String(z)
    }
    // A pane's SVG covers the whole map: only what is interactive in it may take the pointer.
    for (const name of ['ioc-grids', 'ioc-communities', 'ioc-areas', 'ioc-labels', 'ioc-devices', 'ioc-cases']) {
      this.map.getPane(name)!.style.pointerEvents = 'none'
    }
    this.map.setView([22.56, 114.13], 13)
    this.labels.addTo(this.map)
    this.devices.addTo(this.map)
    this.alarms.addTo(this.map)
  }

  /** Draw the district and its subdistricts, fit the view to them and return their names. */
  async load(districtCode: string, locale: string): Promise<DistrictNames> {
    this.locale = locale
    const [district, subdistricts] = await Promise.all([
      fetchRegion(districtCode),
      fetchRegionShapes({ level: 'subdistrict', parent: districtCode }),
    ])
    const names: DistrictNames = {
      district: featureName(district.properties),
      subdistricts: new Map(subdistricts.features.map((feature) => [feature.properties.code, featureName(feature.properties)])),
      synthetic: anySynthetic([district, ...subdistricts.features]),
    }
    if (this.destroyed) return names
    const outline = L.geoJSON(district, {
      pane: 'ioc-regions',
      interactive: false,
      style: { color: '#38bdf8', weight: 3, fillColor: '#0b2a4f', fillOpacity: 0.55, className: 'ioc-district' },
    }).addTo(this.map)
    L.geoJSON(subdistricts, {
      pane: 'ioc-regions',
      style: { ...SUBDISTRICT_STYLE, className: 'ioc-subdistrict' },
      onEachFeature: (feature: RegionFeature, layer) => this.addSubdistrict(feature.properties.code, layer as L.Polygon),
    }).addTo(this.map)
    this.addLabels(subdistricts.features, this.labels)
    const bounds = outline.getBounds()
    this.districtBounds = bounds
    this.map.setMaxBounds(bounds.pad(0.5))
    this.drill(this.drilled)
    return names
  }

  /** Zoom to the subdistrict `code` and mark it, or back out to the whole district (null). */
  drill(code: string | null): void {
    this.drilled = code
    for (const [other, shape] of this.subdistricts) {
      shape.setStyle(other === code ? DRILLED_STYLE : SUBDISTRICT_STYLE)
      shape.getElement()?.setAttribute('data-drilled', String(other === code))
    }
    const shape = code ? this.subdistricts.get(code) : undefined
    shape?.bringToFront()
    const bounds = shape ? shape.getBounds() : this.districtBounds
    if (bounds?.isValid()) this.map.fitBounds(bounds, FIT_PADDING)
    for (const name of ['community', 'grid'] as const) {
      if (this.wanted.has(name)) void this.fill(name)
    }
  }

  /** Show an overlay, reading it for the region in view if it has not been read yet, or hide it. */
  showOverlay(name: IocOverlay, visible: boolean): void {
    const group = this.overlays.get(name)!
    if (!visible) {
      this.wanted.delete(name)
      group.remove()
      return
    }
    if (this.wanted.has(name)) return
    this.wanted.add(name)
    group.addTo(this.map)
    void this.fill(name)
  }

  /** `describe` gives a landmark popup's lines, the first its title, when it opens. */
  describeLandmarks(describe: (landmark: LandmarkFeature) => string[]): void {
    this.describeLandmark = describe
  }

  /** Show `devices` (those with a place); markers are kept and restyled across refreshes. */
  setDevices(devices: readonly Device[], visibleTypes: ReadonlySet<string> | null): void {
    const seen = new Set<string>()
    for (const device of devices) {
      if (device.lon === null || device.lat === null) continue
      seen.add(device.code)
      let marker = this.markers.get(device.code)
      const style = this.deviceStyle(device)
      if (!marker) {
        marker = L.circleMarker([device.lat, device.lon], { pane: 'ioc-devices', renderer: this.deviceRenderer, radius: 4.5, ...style })
        marker.on('click', () => this.events.device(device.code))
        this.markers.set(device.code, marker)
      } else {
        marker.setStyle(style)
        marker.setLatLng([device.lat, device.lon])
      }
      const show = !visibleTypes || visibleTypes.has(device.device_type ?? '')
      if (show && !this.devices.hasLayer(marker)) this.devices.addLayer(marker)
      if (!show && this.devices.hasLayer(marker)) this.devices.removeLayer(marker)
      // Leaflet sets a path's class once: the status travels in data attributes instead.
      const element = marker.getElement()
      element?.setAttribute('data-code', device.code)
      element?.setAttribute('data-status', device.status)
    }
    for (const [code, marker] of this.markers) {
      if (!seen.has(code)) {
        marker.remove()
        this.markers.delete(code)
      }
    }
  }

  select(code: string | null): void {
    const before = this.selected ? this.markers.get(this.selected) : undefined
    before?.setStyle({ weight: 1, color: '#020a18' })
    this.selected = code
    const now = code ? this.markers.get(code) : undefined
    now?.setStyle({ weight: 3, color: '#ffffff' })
    now?.bringToFront()
  }

  /** One pulsing marker per alarm with a place, the most severe on top. */
  setAlarms(alarms: readonly Alarm[], placeOf: (alarm: Alarm) => [number, number] | null): void {
    this.alarms.clearLayers()
    for (const alarm of [...alarms].sort((a, b) => severityRank(b.severity) - severityRank(a.severity))) {
      const place = placeOf(alarm)
      if (!place) continue
      const [lon, lat] = place
      const state = alarm.status === 'active' ? 'active' : 'acknowledged'
      const marker = L.marker([lat, lon], {
        pane: 'ioc-alarms',
        keyboard: false,
        icon: L.divIcon({
          className: 'ioc-alarm-anchor',
          html: `<span class="ioc-alarm ioc-alarm--${alarm.severity} ioc-alarm--${state}" data-alarm="${alarm.id}"><i></i></span>`,
          iconSize: [0, 0],
        }),
      })
      if (alarm.device_code) {
        const code = alarm.device_code
        marker.on('click', () => this.events.device(code))
      }
      this.alarms.addLayer(marker)
    }
  }

  /**
   * One ring per open case in its state's colour, red when overdue and drawn over the rest.
   * Redrawn whole on each read: a case is a small thing, a refresh is every 30 s at most.
   * `describe` gives a popup's lines, the first its title.
   */
  setCases(cases: readonly OpenCaseFeature[], describe: (item: OpenCaseFeature) => string[]): void {
    this.describeCase = describe
    this.cases.clearLayers()
    const overdueLast = [...cases].sort((a, b) => Number(a.properties.overdue) - Number(b.properties.overdue))
    for (const item of overdueLast) {
      const [lon, lat] = item.geometry.coordinates as [number, number]
      const colour = caseColour(item.properties)
      const marker = L.circleMarker([lat, lon], {
        pane: 'ioc-cases',
        renderer: this.caseRenderer,
        radius: item.properties.overdue ? 5 : 4,
        color: colour,
        weight: 2,
        fillColor: item.properties.overdue ? colour : '#020a18',
        fillOpacity: item.properties.overdue ? 0.85 : 0.6,
        className: 'ioc-case',
      })
      marker.bindPopup(() => this.popup(this.describeCase(item), item.properties.number), {
        className: 'ioc-popup',
        closeButton: false,
      })
      // Leaflet sets a path's class once: the case travels in data attributes instead,
      // set whenever the path is drawn (the layer may be hidden now and shown later).
      marker.on('add', () => {
        const element = marker.getElement()
        element?.setAttribute('data-number', item.properties.number)
        element?.setAttribute('data-status', item.properties.status)
        element?.setAttribute('data-overdue', String(item.properties.overdue))
      })
      this.cases.addLayer(marker)
    }
  }

  /** Show the open cases' layer, or hide it. */
  showCases(visible: boolean): void {
    if (visible && !this.map.hasLayer(this.cases)) this.cases.addTo(this.map)
    if (!visible && this.map.hasLayer(this.cases)) this.cases.remove()
  }

  /**
   * Show `resources` in their kind's layer group, coloured by status; markers are kept
   * across refreshes (an open popup stays open). `describe` gives a popup's lines, the
   * first its title, in the page's language when it opens.
   */
  setResources(resources: readonly ResourceFeature[], describe: (resource: ResourceFeature) => string[]): void {
    this.describeResource = describe
    const seen = new Set<string>()
    for (const feature of resources) {
      const { code, kind, status } = feature.properties
      const group = this.resourceKinds.get(kind)
      if (!group) continue
      seen.add(code)
      const [lon, lat] = feature.geometry.coordinates as [number, number]
      const look = `${kind}:${status}`
      let entry = this.resourceMarkers.get(code)
      if (!entry) {
        const marker = L.marker([lat, lon], { pane: 'ioc-resources', keyboard: false, icon: this.resourceIcon(feature) })
        marker.bindPopup(() => this.resourcePopup(code), { className: 'ioc-popup', closeButton: false, offset: [0, -6] })
        entry = { marker, feature, look }
        this.resourceMarkers.set(code, entry)
      } else {
        entry.marker.setLatLng([lat, lon])
        if (entry.look !== look) entry.marker.setIcon(this.resourceIcon(feature))
        entry.feature = feature
        entry.look = look
      }
      for (const [other, layer] of this.resourceKinds) {
        if (other !== kind && layer.hasLayer(entry.marker)) layer.removeLayer(entry.marker)
      }
      if (!group.hasLayer(entry.marker)) group.addLayer(entry.marker)
    }
    for (const [code, entry] of this.resourceMarkers) {
      if (!seen.has(code)) {
        for (const layer of this.resourceKinds.values()) layer.removeLayer(entry.marker)
        this.resourceMarkers.delete(code)
      }
    }
  }

  /**
   * Each open run's affected area in its level's colour: a translucent polygon that lets
   * clicks through to the devices under it, or a pulsing point; a proposed run's is dashed.
   */
  setRunAreas(runs: readonly Run[], selected: string | null): void {
    this.areas.clearLayers()
    this.areaBounds.clear()
    for (const run of runs) {
      if (!run.area) continue
      const colour = levelColour(run.level)
      const chosen = run.id === selected
      const layer = L.geoJSON(run.area as unknown as Geometry, {
        pane: 'ioc-areas',
        interactive: false,
        style: {
          color: colour,
          weight: chosen ? 4 : 2,
          opacity: 0.95,
          fillColor: colour,
          fillOpacity: chosen ? 0.3 : 0.18,
          dashArray: run.status === 'proposed' ? '8 6' : undefined,
          className: 'ioc-run-area',
        },
        pointToLayer: (_, latlng) =>
          L.marker(latlng, {
            pane: 'ioc-areas',
            keyboard: false,
            icon: L.divIcon({
              className: 'ioc-alarm-anchor',
              html: `<span class="ioc-run-point" style="--level: ${colour}"><i></i></span>`,
              iconSize: [0, 0],
            }),
          }).on('click', () => this.events.run(run.id)),
      })
      this.areas.addLayer(layer)
      // Leaflet sets a path's class once: the run travels in data attributes instead.
      layer.eachLayer((drawn) => {
        const element = drawn instanceof L.Marker ? drawn.getElement()?.firstElementChild : (drawn as L.Path).getElement()
        element?.setAttribute('data-run', run.id)
        element?.setAttribute('data-level', run.level)
        element?.setAttribute('data-status', run.status)
      })
      const bounds = layer.getBounds()
      if (bounds.isValid()) this.areaBounds.set(run.id, bounds)
    }
  }

  /** Bring a run's affected area into view, if it has one, clear of the card on the right. */
  focusRun(id: string): void {
    const bounds = this.areaBounds.get(id)
    const card = Math.round(this.map.getSize().x * RUN_CARD_SHARE)
    if (bounds) this.map.fitBounds(bounds, { maxZoom: 16, paddingTopLeft: [24, 96], paddingBottomRight: [card, 64] })
  }

  /** Show only the emergency layers in `visible`. */
  showLayers(visible: ReadonlySet<EmergencyLayer>): void {
    const layers: [EmergencyLayer, L.LayerGroup][] = [...this.resourceKinds].map(([kind, group]) => [kind as EmergencyLayer, group])
    layers.push(['area', this.areas])
    for (const [name, group] of layers) {
      if (visible.has(name) && !this.map.hasLayer(group)) group.addTo(this.map)
      if (!visible.has(name) && this.map.hasLayer(group)) group.remove()
    }
  }

  setLocale(locale: string): void {
    this.locale = locale
    for (const label of this.labelNames) {
      label.element.textContent = localName(label.name, locale)
    }
  }

  focus(lon: number, lat: number): void {
    this.map.setView([lat, lon], Math.max(this.map.getZoom(), 15))
  }

  invalidate(): void {
    this.map.invalidateSize()
  }

  destroy(): void {
    this.destroyed = true
    this.map.remove()
  }

  private deviceStyle(device: Device): L.CircleMarkerOptions {
    const selected = device.code === this.selected
    return {
      color: selected ? '#ffffff' : '#020a18',
      weight: selected ? 3 : 1,
      fillColor: statusColour(device.status),
      fillOpacity: device.status === 'online' ? 0.9 : 0.75,
      className: 'ioc-device',
    }
  }

  private resourceIcon(feature: ResourceFeature): L.DivIcon {
    const { code, kind, status } = feature.properties
    const element = document.createElement('span')
    element.className = `ioc-resource ioc-resource--${kind}`
    element.dataset.code = code
    element.dataset.kind = kind
    element.dataset.status = status
    element.style.setProperty('--status', resourceColour(status))
    return L.divIcon({ html: element, className: 'ioc-resource-anchor', iconSize: [0, 0] })
  }

  private resourcePopup(code: string): HTMLElement {
    const entry = this.resourceMarkers.get(code)
    const element = this.popup(entry ? this.describeResource(entry.feature) : [], code)
    element.dataset.code = code
    return element
  }

  // Text goes in as text: names come from the profile, not from us.
  private popup([title, ...lines]: string[], fallback: string): HTMLElement {
    const element = document.createElement('div')
    const heading = document.createElement('strong')
    heading.textContent = title ?? fallback
    element.append(heading)
    for (const line of lines) {
      const paragraph = document.createElement('p')
      paragraph.textContent = line
      element.append(paragraph)
    }
    return element
  }

  // Leaflet sets a path's class once: the code travels in a data attribute instead.
  private addSubdistrict(code: string, shape: L.Polygon): void {
    this.subdistricts.set(code, shape)
    const hover = (on: boolean): void => {
      shape.setStyle(code === this.drilled ? DRILLED_STYLE : on ? HOVERED_STYLE : SUBDISTRICT_STYLE)
      shape.getElement()?.setAttribute('data-hovered', String(on))
      if (on) shape.bringToFront()
    }
    shape.on('mouseover', () => hover(true))
    shape.on('mouseout', () => hover(false))
    shape.on('click', () => this.events.region(code))
    shape.on('add', () => shape.getElement()?.setAttribute('data-region', code))
  }

  private addLabels(features: readonly RegionFeature[], into: L.LayerGroup): void {
    for (const feature of features) {
      const [lon, lat] = feature.properties.centroid
      const element = document.createElement('span')
      element.className = `ioc-map-label ioc-map-label--${feature.properties.level}`
      const name = featureName(feature.properties)
      element.textContent = localName(name, this.locale)
      this.labelNames.push({ element, name })
      L.marker([lat, lon], {
        pane: 'ioc-labels',
        interactive: false,
        keyboard: false,
        icon: L.divIcon({ html: element, className: 'ioc-map-label-anchor', iconSize: [0, 0] }),
      }).addTo(into)
    }
  }

  // Landmarks are the district's whatever the region in view; boundaries follow the drill-down.
  private scopeOf(name: IocOverlay): string | null {
    return name === 'landmarks' ? null : this.drilled
  }

  private async fill(name: IocOverlay): Promise<void> {
    const scope = this.scopeOf(name)
    const key = `${name}:${scope ?? ''}`
    if (this.overlayShown.get(name) === key) return
    const group = this.overlays.get(name)!
    group.clearLayers()
    this.overlayShown.delete(name)
    this.events.overlay(name, null)
    let drawing = this.drawings.get(key)
    if (!drawing) {
      drawing = name === 'landmarks' ? this.drawLandmarks() : this.drawRegions(name, scope)
      this.drawings.set(key, drawing)
    }
    try {
      const { layer, drawn } = await drawing
      if (this.destroyed || !this.wanted.has(name) || this.scopeOf(name) !== scope) return
      group.clearLayers()
      group.addLayer(layer)
      this.overlayShown.set(name, key)
      this.events.overlay(name, drawn)
    } catch (cause) {
      // Forget the failed read, so switching the overlay on again tries once more.
      if (this.drawings.get(key) === drawing) this.drawings.delete(key)
      if (!this.destroyed && this.wanted.has(name)) this.events.error(cause)
    }
  }

  // Thin outlines the pointer passes through to the subdistricts; a drilled subdistrict's communities are named.
  private async drawRegions(level: 'community' | 'grid', scope: string | null): Promise<OverlayDrawing> {
    const features = await regionShapes(level, scope)
    const layer = L.layerGroup()
    L.geoJSON(features, {
      pane: level === 'grid' ? 'ioc-grids' : 'ioc-communities',
      interactive: false,
      style: level === 'grid' ? GRID_STYLE : COMMUNITY_STYLE,
      // Leaflet sets a path's class once: the code travels in a data attribute instead.
      onEachFeature: (feature: RegionFeature, drawn) =>
        drawn.on('add', () => (drawn as L.Path).getElement()?.setAttribute('data-region', feature.properties.code)),
    }).addTo(layer)
    if (level === 'community' && scope !== null) this.addLabels(features, layer)
    return { layer, drawn: { count: features.length, synthetic: anySynthetic(features) } }
  }

  private async drawLandmarks(): Promise<OverlayDrawing> {
    const features = (await fetchAllItems('landmarks')).filter(
      (feature): feature is LandmarkFeature => feature.geometry?.type === 'Point',
    )
    const layer = L.layerGroup()
    for (const feature of features) {
      const [lon, lat] = feature.geometry.coordinates as [number, number]
      const name: LocalName = { zh: feature.properties.name, en: feature.properties.name_en }
      const element = document.createElement('span')
      element.className = 'ioc-landmark'
      element.dataset.category = feature.properties.category
      const label = document.createElement('span')
      label.className = 'ioc-landmark__name'
      label.textContent = localName(name, this.locale)
      element.append(label)
      this.labelNames.push({ element: label, name })
      const marker = L.marker([lat, lon], {
        pane: 'ioc-landmarks',
        keyboard: false,
        icon: L.divIcon({ html: element, className: 'ioc-landmark-anchor', iconSize: [0, 0] }),
      })
      marker.bindPopup(() => this.popup(this.describeLandmark(feature), localName(name, this.locale)), {
        className: 'ioc-popup',
        closeButton: false,
        offset: [0, -4],
      })
      layer.addLayer(marker)
    }
    return { layer, drawn: { count: features.length, synthetic: anySynthetic(features) } }
  }
}
