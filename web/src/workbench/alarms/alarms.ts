import { apiFetch } from '../../shared/api'
import type { Page } from '../devices/devices'

/** Alarms (`/api/v1/alarms`): the list, one alarm with its notes, and the steps on it. */
export const ALARMS_API = '/api/v1/alarms'
export const ALARMS_READ = 'alarms.read'
export const ALARMS_ACT = 'alarms.act'

export type Severity = 'critical' | 'major' | 'minor' | 'warning'
export const SEVERITIES: readonly Severity[] = ['critical', 'major', 'minor', 'warning']
export type AlarmStatus = 'active' | 'acknowledged' | 'cleared'
export const ALARM_STATUSES: readonly AlarmStatus[] = ['active', 'acknowledged', 'cleared']

export const SEVERITY_COLOURS: Record<Severity, string> = {
  critical: '#ef4444',
  major: '#f97316',
  minor: '#eab308',
  warning: '#38bdf8',
}

export function severityColour(severity: string): string {
  return SEVERITY_COLOURS[severity as Severity] ?? SEVERITY_COLOURS.warning
}

/** Most severe first. */
export function severityRank(severity: string): number {
  const rank = SEVERITIES.indexOf(severity as Severity)
  return rank === -1 ? SEVERITIES.length : rank
}

export interface AlarmNote {
  id: string
  author: string
  kind: string
  text: string
  created_at: string
}

export interface Alarm {
  id: string
  rule_id: string
  type: string
  name_zh: string
  name_en: string
  severity: Severity
  status: AlarmStatus
  device_id: number
  device_code: string | null
  device_type: string | null
  region_code: string | null
  lon: number | null
  lat: number | null
  value: number | null
  count: number
  raised_at: string
  last_raised_at: string
  observed_at: string | null
  acknowledged_at: string | null
  acknowledged_by: string | null
  cleared_at: string | null
  cleared_by: string | null
  escalated_at: string | null
  case_id: string | null
  notes?: AlarmNote[] | null
}

export interface AlarmFilters {
  status: string
  severity: string
  region: string
  device_type: string
  /** The id of the rule that raised them. */
  rule: string
  /** Active or acknowledged. */
  open: boolean
}

export const emptyAlarmFilters = (): AlarmFilters => ({ status: '', severity: '', region: '', device_type: '', rule: '', open: false })

/** Whether the list asked for with `filters` would hold `alarm`, as the server filters. */
export function matchesFilters(alarm: Alarm, filters: AlarmFilters): boolean {
  return (
    (!filters.status || alarm.status === filters.status) &&
    (!filters.open || alarm.status !== 'cleared') &&
    (!filters.severity || alarm.severity === filters.severity) &&
    (!filters.region || (alarm.region_code ?? '').startsWith(filters.region)) &&
    (!filters.device_type || alarm.device_type === filters.device_type) &&
    (!filters.rule || alarm.rule_id === filters.rule)
  )
}

/**
 * The list (in the server's order, newest id first) with `alarm` updated in place, or put in
 * where it belongs; not put in when it belongs past the pages loaded so far (`complete`
 * false), as the next page will bring it.
 */
export function placeAlarm(alarms: readonly Alarm[], alarm: Alarm, complete: boolean): Alarm[] {
  if (alarms.some((item) => item.id === alarm.id)) {
    return alarms.map((item) => (item.id === alarm.id ? alarm : item))
  }
  const at = alarms.findIndex((item) => item.id < alarm.id)
  if (at === -1) return complete ? [...alarms, alarm] : [...alarms]
  return [...alarms.slice(0, at), alarm, ...alarms.slice(at)]
}

function query(filters: Partial<AlarmFilters>, cursor: string | null, limit: number): string {
  const search = new URLSearchParams()
  for (const [key, value] of Object.entries(filters)) {
    if (value === true) search.set(key, 'true')
    else if (typeof value === 'string' && value) search.set(key, value)
  }
  if (cursor) search.set('cursor', cursor)
  search.set('limit', String(limit))
  return `?${search.toString()}`
}

const path = (id: string, step = ''): string => `${ALARMS_API}/${encodeURIComponent(id)}${step}`
const post = (body: unknown) => ({
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
})

export function listAlarms(filters: Partial<AlarmFilters>, cursor: string | null, limit = 50): Promise<Page<Alarm>> {
  return apiFetch<Page<Alarm>>(`${ALARMS_API}${query(filters, cursor, limit)}`)
}

export function getAlarm(id: string): Promise<Alarm> {
  return apiFetch<Alarm>(path(id))
}

export function acknowledgeAlarm(id: string, note?: string): Promise<Alarm> {
  return apiFetch<Alarm>(path(id, '/acknowledge'), post(note ? { note } : {}))
}

export function clearAlarm(id: string, note: string): Promise<Alarm> {
  return apiFetch<Alarm>(path(id, '/clear'), post({ note }))
}

export function addAlarmNote(id: string, note: string): Promise<Alarm> {
  return apiFetch<Alarm>(path(id, '/notes'), post({ note }))
}

/** The alarm's rule name in the page's language. */
export function alarmName(alarm: Pick<Alarm, 'name_zh' | 'name_en'>, locale: string): string {
  return locale.startsWith('zh') ? alarm.name_zh : alarm.name_en || alarm.name_zh
}

/** Newest first, by the time it was (last) raised. */
export function newestFirst(a: Alarm, b: Alarm): number {
  return Date.parse(b.last_raised_at) - Date.parse(a.last_raised_at) || b.id.localeCompare(a.id)
}
