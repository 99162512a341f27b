import L from 'leaflet'
import 'leaflet/dist/leaflet.css'
import { fetchRegion, fetchRegionShapes, featureName, localName, type RegionCollection } from '../shared/geo'
import { severityRank, type Alarm } from '../workbench/alarms/alarms'
import { statusColour, type Device } from '../workbench/devices/devices'

export interface IocMapEvents {
  device: (code: string) => void
  error: (cause: unknown) => void
}

/**
 * The IOC's district map: boundaries from the geo API on a dark ground (no tiles, so it
 * works offline), a marker per device coloured by status, and a pulsing marker per open
 * alarm. Vue keeps the data; this class only draws it.
 */
export class IocMap {
  readonly map: L.Map
  private readonly events: IocMapEvents
  private readonly devices = L.layerGroup()
  private readonly alarms = L.layerGroup()
  private readonly labels = L.layerGroup()
  private readonly markers = new Map<string, L.CircleMarker>()
  private readonly renderer = L.svg({ padding: 0.5 })
  private readonly labelNames: { element: HTMLElement; name: { zh: string; en: string } }[] = []
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
    for (const [name, z] of [['ioc-regions', 400], ['ioc-labels', 450], ['ioc-devices', 600], ['ioc-alarms', 650]] as const) {
      this.map.createPane(name).style.zIndex = String(z)
    }
    this.map.getPane('ioc-labels')!.style.pointerEvents = 'none'
    this.map.setView([22.56, 114.13], 13)
    this.labels.addTo(this.map)
    this.devices.addTo(this.map)
    this.alarms.addTo(this.map)
  }

  /** Draw the district and its subdistricts and fit the view to them. */
  async load(districtCode: string, locale: string): Promise<void> {
    const [district, subdistricts] = await Promise.all([
      fetchRegion(districtCode),
      fetchRegionShapes({ level: 'subdistrict', parent: districtCode }),
    ])
    if (this.destroyed) return
    const outline = L.geoJSON(district, {
      pane: 'ioc-regions',
      interactive: false,
      style: { color: '#38bdf8', weight: 3, fillColor: '#0b2a4f', fillOpacity: 0.55, className: 'ioc-district' },
    }).addTo(this.map)
    L.geoJSON(subdistricts, {
      pane: 'ioc-regions',
      interactive: false,
      style: { color: '#2b7bb9', weight: 1.2, fillColor: '#0e3563', fillOpacity: 0.35, className: 'ioc-subdistrict' },
    }).addTo(this.map)
    this.addLabels(subdistricts, locale)
    const bounds = outline.getBounds()
    this.map.setMaxBounds(bounds.pad(0.5))
    // Leave room for the type chips above and the legend below, which sit over the map.
    this.map.fitBounds(bounds, { paddingTopLeft: [24, 96], paddingBottomRight: [24, 64] })
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
        marker = L.circleMarker([device.lat, device.lon], { pane: 'ioc-devices', renderer: this.renderer, radius: 4.5, ...style })
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

  setLocale(locale: string): void {
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

  private addLabels(collection: RegionCollection, locale: string): void {
    for (const feature of collection.features) {
      const [lon, lat] = feature.properties.centroid
      const element = document.createElement('span')
      element.className = 'ioc-map-label'
      const name = featureName(feature.properties)
      element.textContent = localName(name, locale)
      this.labelNames.push({ element, name })
      L.marker([lat, lon], {
        pane: 'ioc-labels',
        interactive: false,
        keyboard: false,
        icon: L.divIcon({ html: element, className: 'ioc-map-label-anchor', iconSize: [0, 0] }),
      }).addTo(this.labels)
    }
  }
}
