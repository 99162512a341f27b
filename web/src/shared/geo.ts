import type { Feature, FeatureCollection, Geometry } from 'geojson'
import { apiFetch } from './api'

/** The geo API (`/api/v1/geo/*`): regions, locate, geocode and the point layers. */
export const GEO_API = '/api/v1/geo'

export type RegionLevel = 'district' | 'subdistrict' | 'community' | 'grid'
export const REGION_LEVELS: readonly RegionLevel[] = ['district', 'subdistrict', 'community', 'grid']

export interface LocalName {
  zh: string
  en: string
}

/** One region of the tree as `GET /regions` lists it (without geometry). */
export interface Region {
  code: string
  level: RegionLevel
  parent: string | null
  name: LocalName
  synthetic: boolean
  area_m2: number
  centroid: [number, number]
}

/** Properties of a region Feature (`geometry=true`). */
export interface RegionProperties {
  code: string
  level: RegionLevel
  parent: string | null
  name_zh: string
  name_en: string
  synthetic: boolean
  area_m2: number
  centroid: [number, number]
}

export type RegionFeature = Feature<Geometry, RegionProperties>
export type RegionCollection = FeatureCollection<Geometry, RegionProperties>

export interface ChainLink {
  code: string
  level: RegionLevel
  name: LocalName
}

/** `GET /locate`: the region chain a point falls in. */
export interface LocateResult {
  point?: [number, number]
  outside: boolean
  district: ChainLink | null
  subdistrict: ChainLink | null
  community: ChainLink | null
  grid: ChainLink | null
}

export type GeocodeStatus = 'matched' | 'unsure' | 'not_found'

export interface GeocodeCandidate {
  code: string
  address: string
  score: number
  matched: string[]
  conflicts: string[]
  lon: number
  lat: number
  subdistrict: string
  community: string
  grid: string
  reason: string
}

export interface RegionCodes {
  district: string
  subdistrict: string
  community: string
  grid: string
}

/** `GET /geocode`: where an address lands and how sure the engine is. */
export interface GeocodeResult {
  query: string
  status: GeocodeStatus
  reason: string
  /** The reason in Chinese, with the particulars. */
  detail: string
  confidence: number
  code: string | null
  address: string | null
  lon: number | null
  lat: number | null
  regions: RegionCodes | null
  precision: string | null
  candidates: GeocodeCandidate[]
  crs: string
}

export interface GeoCollection {
  id: string
  title: string
  title_en: string
  geometry_type: string
  synthetic: boolean
  count: number
}

export interface CollectionItems extends FeatureCollection {
  links?: { rel: string; href: string }[]
}

/** The name in the page's language (Chinese unless the locale is English). */
export function localName(name: LocalName | null | undefined, locale: string): string {
  if (!name) {
    return ''
  }
  return locale.startsWith('zh') ? name.zh || name.en : name.en || name.zh
}

export function featureName(properties: RegionProperties): LocalName {
  return { zh: properties.name_zh, en: properties.name_en }
}

/** True when any of the drawn regions carries `synthetic: true` (so the map must say so). */
export function anySynthetic(
  items: Iterable<{ synthetic?: unknown } | { properties?: { synthetic?: unknown } | null }>,
): boolean {
  for (const item of items) {
    const flag = 'properties' in item ? item.properties?.synthetic : (item as { synthetic?: unknown }).synthetic
    if (flag === true) {
      return true
    }
  }
  return false
}

/** The colour a geocode status is shown in: matched green, unsure amber, not found grey. */
export const STATUS_COLOURS: Record<GeocodeStatus, string> = {
  matched: '#16a34a',
  unsure: '#d97706',
  not_found: '#6b7280',
}

export function statusColour(status: string): string {
  return STATUS_COLOURS[status as GeocodeStatus] ?? STATUS_COLOURS.not_found
}

/** 0.99 → "99%" in the page's locale. */
export function formatConfidence(confidence: number, locale: string): string {
  const value = Number.isFinite(confidence) ? Math.min(Math.max(confidence, 0), 1) : 0
  return new Intl.NumberFormat(locale, { style: 'percent', maximumFractionDigits: 0 }).format(value)
}

function query(params: Record<string, string | number | boolean | undefined>): string {
  const search = new URLSearchParams()
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined) {
      search.set(key, String(value))
    }
  }
  const text = search.toString()
  return text ? `?${text}` : ''
}

export async function fetchRegions(params: { level?: RegionLevel; parent?: string }): Promise<Region[]> {
  const body = await apiFetch<{ regions: Region[] }>(`${GEO_API}/regions${query(params)}`)
  return body.regions
}

export async function fetchRegionShapes(params: {
  level?: RegionLevel
  parent?: string
}): Promise<RegionCollection> {
  return apiFetch<RegionCollection>(`${GEO_API}/regions${query({ ...params, geometry: true, crs: 'wgs84' })}`)
}

export async function fetchRegion(code: string): Promise<RegionFeature> {
  return apiFetch<RegionFeature>(`${GEO_API}/regions/${encodeURIComponent(code)}${query({ crs: 'wgs84' })}`)
}

export async function locatePoint(lon: number, lat: number): Promise<LocateResult> {
  return apiFetch<LocateResult>(`${GEO_API}/locate${query({ lon, lat, crs: 'wgs84' })}`)
}

export async function geocodeAddress(address: string, signal?: AbortSignal): Promise<GeocodeResult> {
  return apiFetch<GeocodeResult>(`${GEO_API}/geocode${query({ address })}`, { signal })
}

export async function fetchCollections(): Promise<GeoCollection[]> {
  const body = await apiFetch<{ collections: GeoCollection[] }>(`${GEO_API}/collections`)
  return body.collections
}

/** Same-origin path of a `rel=next` link (the server writes absolute URLs). */
function samePath(href: string): string {
  const url = new URL(href, window.location.origin)
  return `${url.pathname}${url.search}`
}

/** Every item of a layer, following `rel=next` links (at most `maxPages` pages). */
export async function fetchAllItems(id: string, maxPages = 50): Promise<Feature[]> {
  const features: Feature[] = []
  let path: string | null = `${GEO_API}/collections/${encodeURIComponent(id)}/items${query({ limit: 200 })}`
  for (let page = 0; path && page < maxPages; page += 1) {
    const body: CollectionItems = await apiFetch<CollectionItems>(path)
    features.push(...body.features)
    const next = body.links?.find((link) => link.rel === 'next')
    path = next ? samePath(next.href) : null
  }
  return features
}

/**
 * Names of regions by code, filled from every list the page loads; a code not seen yet is
 * looked up once with `GET /regions/{code}`.
 */
export class RegionNames {
  private readonly names = new Map<string, LocalName>()
  private readonly pending = new Map<string, Promise<LocalName | null>>()

  remember(regions: Iterable<Region | ChainLink>): void {
    for (const region of regions) {
      this.names.set(region.code, region.name)
    }
  }

  rememberFeatures(features: Iterable<RegionFeature>): void {
    for (const feature of features) {
      this.names.set(feature.properties.code, featureName(feature.properties))
    }
  }

  known(code: string): LocalName | undefined {
    return this.names.get(code)
  }

  async lookup(code: string): Promise<LocalName | null> {
    const known = this.names.get(code)
    if (known) {
      return known
    }
    let waiting = this.pending.get(code)
    if (!waiting) {
      waiting = fetchRegion(code)
        .then((feature) => {
          const name = featureName(feature.properties)
          this.names.set(code, name)
          return name
        })
        .catch(() => null)
        .finally(() => this.pending.delete(code))
      this.pending.set(code, waiting)
    }
    return waiting
  }

  clear(): void {
    this.names.clear()
    this.pending.clear()
  }
}

/** The one name cache of a page. */
export const regionNames = new RegionNames()
