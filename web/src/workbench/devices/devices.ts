import { apiFetch } from '../../shared/api'

/** The device registry and telemetry series (`/api/v1/devices`, `/api/v1/telemetry/series`). */
export const DEVICES_API = '/api/v1/devices'
export const SERIES_API = '/api/v1/telemetry/series'
export const DEVICES_READ = 'telemetry.devices.read'
export const DEVICES_MANAGE = 'telemetry.devices.manage'

export type DeviceStatus = 'online' | 'offline' | 'fault' | 'unknown'
export const DEVICE_STATUSES: readonly DeviceStatus[] = ['online', 'offline', 'fault', 'unknown']

/** Marker and badge colours by status; anything else is shown as unknown. */
export const STATUS_COLOURS: Record<DeviceStatus, string> = {
  online: '#22c55e',
  offline: '#94a3b8',
  fault: '#ef4444',
  unknown: '#64748b',
}

export function statusColour(status: string): string {
  return STATUS_COLOURS[status as DeviceStatus] ?? STATUS_COLOURS.unknown
}

/** The device types of the Luohu profile, for the type filter (names are in the locales). */
export const DEVICE_TYPES = [
  'rain-gauge',
  'river-level-gauge',
  'waterlogging-gauge',
  'manhole-cover-sensor',
  'construction-site-monitor',
  'air-quality-station',
  'smoke-detector',
  'hydrant-pressure-sensor',
  'traffic-flow-detector',
  'parking-occupancy-sensor',
] as const

export interface Datastream {
  id: number
  property: string | null
  name: string
  observation_type: string
  unit: { name?: string | null; symbol?: string | null; definition?: string | null }
  last_time: string | null
  last_result: unknown
}

export interface Device {
  code: string
  id: number
  name: string
  name_en: string
  device_type: string | null
  region_code: string | null
  status: string
  last_seen_at: string | null
  error_count: number
  last_error: string | null
  has_credentials: boolean
  synthetic: boolean
  attributes: Record<string, unknown>
  lon: number | null
  lat: number | null
  datastreams?: Datastream[] | null
}

export interface Page<T> {
  items: T[]
  next_cursor: string | null
}

export interface DeviceFilters {
  type: string
  status: string
  region: string
  q: string
}

export const emptyDeviceFilters = (): DeviceFilters => ({ type: '', status: '', region: '', q: '' })

export interface Credentials {
  code: string
  secret: string
  authorization: string
  rotated: boolean
}

export type Bucket = 'raw' | '1m' | '1h' | '1d'

export interface SeriesPoint {
  time: string
  value?: unknown
  avg?: number | null
  min?: number | null
  max?: number | null
  count?: number | null
}

export interface Series {
  datastream: number
  bucket: Bucket
  points: SeriesPoint[]
  truncated: boolean
}

/** The chart ranges of the device page, each read from the rollup that suits it. */
export const RANGES = {
  '24h': { hours: 24, bucket: '1m' },
  '7d': { hours: 24 * 7, bucket: '1h' },
  '30d': { hours: 24 * 30, bucket: '1d' },
} as const satisfies Record<string, { hours: number; bucket: Bucket }>
export type RangeKey = keyof typeof RANGES

function query(params: Record<string, string | number | null | undefined>): string {
  const search = new URLSearchParams()
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== '') {
      search.set(key, String(value))
    }
  }
  const text = search.toString()
  return text ? `?${text}` : ''
}

export function listDevices(filters: Partial<DeviceFilters>, cursor: string | null, limit: number): Promise<Page<Device>> {
  return apiFetch<Page<Device>>(`${DEVICES_API}${query({ ...filters, cursor, limit })}`)
}

/** Every device within reach, page by page (the IOC map shows them all). */
export async function listAllDevices(filters: Partial<DeviceFilters> = {}, maxPages = 100): Promise<Device[]> {
  const devices: Device[] = []
  let cursor: string | null = null
  for (let page = 0; page < maxPages; page += 1) {
    const found: Page<Device> = await listDevices(filters, cursor, 200)
    devices.push(...found.items)
    cursor = found.next_cursor
    if (!cursor) break
  }
  return devices
}

export function getDevice(code: string): Promise<Device> {
  return apiFetch<Device>(`${DEVICES_API}/${encodeURIComponent(code)}`)
}

export function issueCredentials(code: string): Promise<Credentials> {
  return apiFetch<Credentials>(`${DEVICES_API}/${encodeURIComponent(code)}/credentials`, { method: 'POST' })
}

export function fetchSeries(options: { datastream: number; from: Date; to: Date; bucket: Bucket }): Promise<Series> {
  return apiFetch<Series>(
    `${SERIES_API}${query({
      datastream: options.datastream,
      from: options.from.toISOString(),
      to: options.to.toISOString(),
      bucket: options.bucket,
    })}`,
  )
}

/** The series of the last `range`, ending now. */
export function fetchRange(datastream: number, range: RangeKey, now = new Date()): Promise<Series> {
  const { hours, bucket } = RANGES[range]
  return fetchSeries({ datastream, from: new Date(now.getTime() - hours * 3_600_000), to: now, bucket })
}

/** A point's value for a chart: the raw number (true/false as 1/0), or a bucket's mean. */
export function pointValue(point: SeriesPoint): number | null {
  const value = point.avg ?? point.value
  if (typeof value === 'number' && Number.isFinite(value)) return value
  if (typeof value === 'boolean') return value ? 1 : 0
  return null
}

/** A last value as shown: number in the locale with its unit, true/false worded by the caller. */
export function formatValue(value: unknown, unit: Datastream['unit'], locale: string): string {
  if (value === null || value === undefined) return '—'
  if (typeof value === 'number') {
    const text = new Intl.NumberFormat(locale, { maximumFractionDigits: 2 }).format(value)
    return unit.symbol ? `${text} ${unit.symbol}` : text
  }
  return typeof value === 'string' ? value : JSON.stringify(value)
}

/** The device's name in the page's language. */
export function deviceName(device: Pick<Device, 'name' | 'name_en'>, locale: string): string {
  return locale.startsWith('zh') ? device.name : device.name_en || device.name
}
