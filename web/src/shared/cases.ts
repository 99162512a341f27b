/** The cases API (`/api/v1/cases`): take in a case, list and read cases within reach, act on one. */
import { apiFetch } from './api'

export const CASES_API = '/api/v1/cases'

export const CHANNELS = ['hotline', 'portal', 'patrol'] as const
export type Channel = (typeof CHANNELS)[number]

export const REQUEST_TYPES = ['complaint', 'help', 'consult', 'report', 'suggestion'] as const
export type RequestType = (typeof REQUEST_TYPES)[number]

export type CaseColour = 'green' | 'yellow' | 'red' | 'none'

/** The steps of the case loop, in the order a case usually takes them. */
export const CASE_ACTIONS = [
  'start',
  'register',
  'reject',
  'dispatch',
  'sign',
  'return',
  'request_extension',
  'approve_extension',
  'refuse_extension',
  'suspend',
  'resume',
  'resolve',
  'verify_pass',
  'verify_fail',
  'call_back',
  'urge',
  'supervise',
  'auto_close',
] as const

export interface CaseStep {
  seq: number
  action: string
  from_state: string | null
  to_state: string
  actor: string
  comment: string | null
  /** UTC, ISO 8601. */
  occurred_at: string
  /** Evidence the step brought, as the store knows it (staff reads only). */
  attachments?: StepAttachment[]
}

/** Evidence as a step keeps it: the attachment, with what the store sniffed of the file. */
export interface StepAttachment extends Attachment {
  content_type?: string
  size?: number
  filename?: string
}

export interface CaseOut {
  id: string
  number: string
  channel: Channel
  request_type: RequestType
  category_code: string | null
  category_name_zh: string | null
  category_name_en: string | null
  suggested_category_code: string | null
  title: string
  description: string
  address: string | null
  lon: number | null
  lat: number | null
  region_code: string | null
  community_code: string | null
  subdistrict_code: string | null
  outside_reason: string | null
  status: string
  status_name_zh: string
  status_name_en: string
  colour: CaseColour
  due_at: string | null
  created_at: string
  registered_at: string | null
  dispatched_at: string | null
  closed_at: string | null
  lead_department_code: string | null
  satisfaction: number | null
  reporter_name: string | null
  reporter_phone: string | null
  synthetic: boolean
  version: number | null
  actions: string[]
  history?: CaseStep[] | null
}

export interface CasePage {
  items: CaseOut[]
  next_cursor: string | null
}

export interface CaseIntake {
  channel: Channel
  request_type: RequestType
  description: string
  title?: string
  category_code?: string
  address?: string
  lon?: number
  lat?: number
  reporter_name?: string
  reporter_phone?: string
  /** `[{kind: 'photo', sha256}]`, at most MAX_REPORT_PHOTOS. */
  attachments?: Attachment[]
}

/**
 * Evidence on a case: a file uploaded to `/api/v1/files`, named by its SHA-256. Photo kinds
 * (`photo`, `photo_before`, `photo_after`) must be images.
 */
export interface Attachment {
  kind: string
  sha256: string
}

/** Photos a report may carry from the start. */
export const MAX_REPORT_PHOTOS = 9

export interface CaseActionBody {
  expected_version?: number
  comment?: string
  data?: Record<string, unknown>
  attachments?: Attachment[]
}

export interface CaseFilters {
  status?: string
  category?: string
  region?: string
  channel?: Channel
  q?: string
  cursor?: string
  limit?: number
}

/** A point in WGS84, as the API takes it. */
export interface LonLat {
  lon: number
  lat: number
}

function json(body: unknown): RequestInit {
  return { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }
}

/** Drop empty text and unset values, so the API applies its own defaults. */
export function compact<T extends object>(body: T): Partial<T> {
  return Object.fromEntries(
    Object.entries(body).filter(([, value]) => value !== undefined && value !== null && value !== ''),
  ) as Partial<T>
}

export function createCase(intake: CaseIntake): Promise<CaseOut> {
  return apiFetch<CaseOut>(CASES_API, json(compact(intake)))
}

export async function listCases(filters: CaseFilters = {}): Promise<CasePage> {
  const params = new URLSearchParams()
  for (const [key, value] of Object.entries(filters)) {
    if (value !== undefined && value !== '') {
      params.set(key, String(value))
    }
  }
  const query = params.toString()
  const page = await apiFetch<Partial<CasePage>>(query ? `${CASES_API}?${query}` : CASES_API)
  return { items: Array.isArray(page.items) ? page.items : [], next_cursor: page.next_cursor ?? null }
}

/** Cases in any of `statuses`, newest first (one call per status: the API filters by one). */
export async function listCasesIn(statuses: readonly string[], limit = 50): Promise<CaseOut[]> {
  const pages = await Promise.all(statuses.map((status) => listCases({ status, limit })))
  return pages
    .flatMap((page) => page.items)
    .sort((a, b) => b.created_at.localeCompare(a.created_at) || b.id.localeCompare(a.id))
}

export function getCase(id: string): Promise<CaseOut> {
  return apiFetch<CaseOut>(`${CASES_API}/${encodeURIComponent(id)}`)
}

export function caseAction(id: string, action: string, body: CaseActionBody): Promise<CaseOut> {
  return apiFetch<CaseOut>(
    `${CASES_API}/${encodeURIComponent(id)}/actions/${encodeURIComponent(action)}`,
    json(compact(body)),
  )
}

/** An uploaded file as the case's evidence of `kind`. */
export function fileAttachment(kind: string, file: { sha256: string }): Attachment {
  return { kind, sha256: file.sha256 }
}

/** The category name in the page's language, with its code: `1505 内涝积水`. */
export function categoryLabel(item: CaseOut, locale: string): string {
  if (!item.category_code) {
    return ''
  }
  const name = locale.startsWith('zh')
    ? item.category_name_zh || item.category_name_en
    : item.category_name_en || item.category_name_zh
  return name ? `${item.category_code} ${name}` : item.category_code
}

export function statusName(item: Pick<CaseOut, 'status_name_zh' | 'status_name_en'>, locale: string): string {
  return locale.startsWith('zh') ? item.status_name_zh || item.status_name_en : item.status_name_en || item.status_name_zh
}

/** One active minor class of the catalogue (GB/T 30428 部件/事件), as `GET /cases/categories` lists it. */
export interface CaseCategory {
  code: string
  kind: string
  major_code: string
  major_name_zh: string
  major_name_en: string
  name_zh: string
  name_en: string
  department_code: string
}

let categories: Promise<CaseCategory[]> | null = null

/**
 * The catalogue, asked for once per page. A failure (no permission, an older server) gives an
 * empty list, and the forms fall back to a plain code field.
 */
export function loadCategories(): Promise<CaseCategory[]> {
  categories ??= apiFetch<CaseCategory[]>(`${CASES_API}/categories`)
    .then((items) => (Array.isArray(items) ? items : []))
    .catch(() => {
      categories = null
      return []
    })
  return categories
}

/** Forget the catalogue (tests, and a sign-in as someone else). */
export function forgetCategories(): void {
  categories = null
}

export function categoryName(category: CaseCategory, locale: string): string {
  return locale.startsWith('zh') ? category.name_zh || category.name_en : category.name_en || category.name_zh
}
