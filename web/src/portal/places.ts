/** The places API (`/api/v1/notify/places`): where the signed-in person gets area notices for. */
import { apiFetch } from '../shared/api'

export const PLACES_API = '/api/v1/notify/places'
/** The server takes no more than this many places a person (`too_many_places`). */
export const MAX_PLACES = 5

export const PLACE_KINDS = ['home', 'follow'] as const
export type PlaceKind = (typeof PLACE_KINDS)[number]

export interface PlaceOut {
  id: string
  kind: PlaceKind
  /** What the person called it; the kind itself when they left it blank. */
  label: string
  lon: number
  lat: number
  /** The smallest region the point lies in (a grid's code, its parents' codes as prefixes). */
  region_code: string | null
  /** UTC, ISO 8601. */
  created_at: string
}

export interface PlaceIn {
  kind: PlaceKind
  label: string
  lon: number
  lat: number
}

export function listPlaces(): Promise<PlaceOut[]> {
  return apiFetch<PlaceOut[]>(PLACES_API)
}

export function addPlace(place: PlaceIn): Promise<PlaceOut> {
  return apiFetch<PlaceOut>(PLACES_API, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(place),
  })
}

export function removePlace(id: string): Promise<void> {
  return apiFetch<void>(`${PLACES_API}/${encodeURIComponent(id)}`, { method: 'DELETE' })
}
