/** The service-item catalogue (`/api/v1/onestop`): what the district offers, open to everyone. */
import { apiFetch } from '../shared/api'
import type { LocalName } from '../shared/geo'

export const ONESTOP_API = '/api/v1/onestop'

export const APPLICANTS = ['citizen', 'enterprise'] as const
export type Applicant = (typeof APPLICANTS)[number]

/** A 一件事 and how many items it gathers. */
export interface LifeEvent {
  name: string
  items: number
}

export interface ItemSummary {
  code: string
  name: LocalName
  /** 行政许可, 公共服务, … (GB/T 39554). */
  type: string
  /** A department code. */
  department: string
  applicant: Applicant[]
  /** Working days; 0 means settled on the spot (即办). */
  legal_days: number
  promised_days: number
  /** In-person visits the applicant makes; 0 is 零跑动. */
  visits: number
  life_events: string[]
  demo: boolean
}

/** What the district already holds that stands in for a material (免提交). */
export interface Replacement {
  elicence?: string | null
  dataset?: string | null
}

export interface Material {
  code: string
  name: LocalName
  required: boolean
  /** The original must be shown (原件核验). */
  original: boolean
  copies: number
  replaced_by?: Replacement | null
}

export interface ItemDefinition {
  fee: LocalName
  legal_basis: string[]
  eligibility?: LocalName | null
  materials: Material[]
  form: Record<string, unknown>
}

export interface ItemOut extends ItemSummary {
  definition: ItemDefinition
}

export interface ItemFilter {
  q?: string
  lifeEvent?: string
  applicant?: Applicant
}

export function listLifeEvents(): Promise<LifeEvent[]> {
  return apiFetch<LifeEvent[]>(`${ONESTOP_API}/life-events`)
}

export function listItems(filter: ItemFilter = {}): Promise<ItemSummary[]> {
  const query = new URLSearchParams()
  const q = filter.q?.trim()
  if (q) query.set('q', q)
  if (filter.lifeEvent) query.set('life_event', filter.lifeEvent)
  if (filter.applicant) query.set('applicant', filter.applicant)
  const search = query.toString()
  return apiFetch<ItemSummary[]>(`${ONESTOP_API}/items${search ? `?${search}` : ''}`)
}

export function getItem(code: string): Promise<ItemOut> {
  return apiFetch<ItemOut>(`${ONESTOP_API}/items/${encodeURIComponent(code)}`)
}

/** Whether the applicant need not hand the material in (免提交). */
export function isReplaceable(material: Material): boolean {
  return Boolean(material.replaced_by?.elicence || material.replaced_by?.dataset)
}
