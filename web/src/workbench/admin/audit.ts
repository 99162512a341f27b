/** The audit trail API (`/api/v1/audit/...`): page through it, export it, verify its chain. */
import { apiFetch, apiFile, type ApiFile } from '../../shared/api'
import { cityDayEnd, cityDayStart } from '../../shared/time'

const BASE = '/api/v1/audit'

export type AuditOutcome = 'success' | 'failure' | 'denied'

export interface AuditRecord {
  id: string
  /** Null while the record waits to be sealed into the hash chain (seconds, normally). */
  seq: number | null
  /** UTC, ISO 8601. */
  occurred_at: string
  actor: string | null
  action: string
  target_type: string
  target_id: string | null
  outcome: AuditOutcome | string
  details: Record<string, unknown>
  ip: string | null
  request_id: string | null
  purpose: string | null
}

export interface AuditPage {
  items: AuditRecord[]
  next_cursor: string | null
}

export interface AuditFault {
  kind: string
  seq: number
  detail: string
}

export interface AuditVerification {
  ok: boolean
  count: number
  head_seq: number | null
  head_hash: string | null
  fault: AuditFault | null
  /** Records not yet sealed into the chain when it was walked. */
  pending: number
}

/** The action families the filter offers; an action ending in "." matches the whole family. */
export const ACTION_FAMILIES = ['auth', 'identity', 'pii', 'audit'] as const
export type ActionFamily = (typeof ACTION_FAMILIES)[number]

/** The filters as the page holds them: days are `YYYY-MM-DD` in Beijing time, both inclusive. */
export interface AuditFilters {
  actor: string
  family: ActionFamily | ''
  from: string
  to: string
}

export const emptyFilters = (): AuditFilters => ({ actor: '', family: '', from: '', to: '' })

/** The query the API understands (since inclusive, until exclusive, both with +08:00). */
export function filterParams(filters: AuditFilters): URLSearchParams {
  const params = new URLSearchParams()
  const actor = filters.actor.trim()
  if (actor) {
    params.set('actor', actor)
  }
  if (filters.family) {
    params.set('action', `${filters.family}.`)
  }
  if (filters.from) {
    params.set('since', cityDayStart(filters.from))
  }
  if (filters.to) {
    params.set('until', cityDayEnd(filters.to))
  }
  return params
}

const withQuery = (path: string, params: URLSearchParams): string => {
  const query = params.toString()
  return query ? `${path}?${query}` : path
}

export function listAuditRecords(filters: AuditFilters, cursor: string | null, limit = 50): Promise<AuditPage> {
  const params = filterParams(filters)
  if (cursor) {
    params.set('cursor', cursor)
  }
  params.set('limit', String(limit))
  return apiFetch<AuditPage>(withQuery(`${BASE}/records`, params))
}

export const exportAuditRecords = (filters: AuditFilters): Promise<ApiFile> =>
  apiFile(withQuery(`${BASE}/records.xlsx`, filterParams(filters)), {
    headers: {
      accept: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet, application/problem+json',
    },
    // A large trail takes a while to write out.
    timeoutMs: 120_000,
  })

export const verifyAuditChain = (): Promise<AuditVerification> =>
  apiFetch<AuditVerification>(`${BASE}/verify`, { method: 'POST', timeoutMs: 120_000 })

/** The family an action belongs to, if it is one the page names. */
export function familyOf(action: string): ActionFamily | null {
  const family = action.split('.', 1)[0] as ActionFamily
  return ACTION_FAMILIES.includes(family) ? family : null
}

/** Details as one compact line of JSON ('' for none). */
export function compactDetails(details: Record<string, unknown> | null | undefined): string {
  if (!details || Object.keys(details).length === 0) {
    return ''
  }
  return JSON.stringify(details)
}
