import { apiFetch } from '../../shared/api'
import type { LiveEvent } from '../../shared/live'
import type { Page } from '../devices/devices'

/** Contingency plans (`/api/v1/plans`): the plans, their runs (the command view) and external warnings. */
export const PLANS_API = '/api/v1/plans'
export const PLANS_READ = 'plans.read'
export const PLANS_RUN = 'plans.run'
export const PLANS_WARNINGS_POST = 'plans.warnings.post'

/** Response levels, lowest first (IV … I), as the plan definitions grade them. */
export type Level = 'IV' | 'III' | 'II' | 'I'
export const LEVELS: readonly Level[] = ['IV', 'III', 'II', 'I']

export type RunStatus = 'proposed' | 'active' | 'closed' | 'dismissed'
export type TaskState = 'assigned' | 'handling' | 'done' | 'cancelled'

/** Timeline entries the server writes; anything else is shown by its code. */
export const EVENT_KINDS = [
  'proposed',
  'started',
  'task_sent',
  'task_added',
  'notified',
  'task_sign',
  'task_report',
  'task_finish',
  'task_cancel',
  'level_raised',
  'level_lowered',
  'raise_proposed',
  'closed',
  'dismissed',
] as const

export interface Bilingual {
  zh: string
  en: string
}

export interface Plan {
  code: string
  name: Bilingual
  kind: string
  region_code: string
  pack: string
  synthetic: boolean
  levels: Level[]
  definition: Record<string, unknown>
}

export interface RunTrigger {
  kind: string
  [detail: string]: unknown
}

export interface Run {
  id: string
  plan: string
  name: Bilingual
  level: Level
  status: RunStatus
  drill: boolean
  trigger: RunTrigger
  region_code: string
  area: Record<string, unknown> | null
  summary: string | null
  created_at: string
  started_at: string | null
  started_by: string | null
  closed_at: string | null
  closed_by: string | null
  version: number
  tasks_by_status: Partial<Record<'open' | 'done' | 'cancelled', number>>
}

export interface RunTask {
  id: string
  level: Level
  department: string
  /** The unit's name; older servers sent none. */
  department_name?: Bilingual
  title: Bilingual
  report: Bilingual | null
  within: string
  due_at: string
  overdue: boolean
  state: TaskState
  status: 'open' | 'done' | 'cancelled'
  instance_id: string | null
  added_by: string | null
  created_at: string
  finished_at: string | null
}

export interface RunEvent {
  id: number
  at: string
  kind: string
  actor: string | null
  task_id: string | null
  data: Record<string, unknown>
}

export interface RunDetail extends Run {
  tasks: RunTask[]
  timeline: RunEvent[]
}

export interface ExternalWarning {
  id: string
  type: string
  source: string
  region_code: string
  issued_at: string
  received_at: string
  posted_by: string
  text: string | null
  runs: string[]
}

export interface LaunchBody {
  plan: string
  level: Level
  drill: boolean
  region?: string
  comment?: string
}

export interface TaskBody {
  department: string
  do: string
  do_en?: string
  within: string
}

export interface WarningBody {
  type: string
  source: string
  region?: string
  text?: string
}

export interface RunFilters {
  status?: RunStatus | 'open'
  drill?: boolean
}

const runPath = (id: string, step = ''): string => `${PLANS_API}/runs/${encodeURIComponent(id)}${step}`
const post = (body: unknown) => ({
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
})

export function listPlans(): Promise<Plan[]> {
  return apiFetch<Plan[]>(PLANS_API)
}

export function listRuns(filters: RunFilters, cursor: string | null, limit = 50): Promise<Page<Run>> {
  const search = new URLSearchParams()
  if (filters.status) search.set('status', filters.status)
  if (filters.drill !== undefined) search.set('drill', String(filters.drill))
  if (cursor) search.set('cursor', cursor)
  search.set('limit', String(limit))
  return apiFetch<Page<Run>>(`${PLANS_API}/runs?${search.toString()}`)
}

export function getRun(id: string): Promise<RunDetail> {
  return apiFetch<RunDetail>(runPath(id))
}

export function launchRun(body: LaunchBody): Promise<RunDetail> {
  return apiFetch<RunDetail>(`${PLANS_API}/runs`, post(body))
}

export function confirmRun(id: string, level?: Level): Promise<RunDetail> {
  return apiFetch<RunDetail>(runPath(id, '/confirm'), post(level ? { level } : {}))
}

export function dismissRun(id: string, reason: string): Promise<RunDetail> {
  return apiFetch<RunDetail>(runPath(id, '/dismiss'), post({ reason }))
}

export function changeLevel(id: string, level: Level, reason: string): Promise<RunDetail> {
  return apiFetch<RunDetail>(runPath(id, '/level'), post({ level, reason }))
}

export function addTask(id: string, body: TaskBody): Promise<RunDetail> {
  return apiFetch<RunDetail>(runPath(id, '/tasks'), post(body))
}

export function closeRun(id: string, summary: string): Promise<RunDetail> {
  return apiFetch<RunDetail>(runPath(id, '/close'), post({ summary }))
}

export function listWarnings(limit = 10): Promise<Page<ExternalWarning>> {
  return apiFetch<Page<ExternalWarning>>(`${PLANS_API}/warnings?limit=${limit}`)
}

export function postWarning(body: WarningBody): Promise<ExternalWarning> {
  return apiFetch<ExternalWarning>(`${PLANS_API}/warnings`, post(body))
}

/** A plan's or run's name in the page's language. */
export function inLocale(text: Bilingual, locale: string): string {
  return locale.startsWith('zh') ? text.zh : text.en || text.zh
}

/** 0 for IV … 3 for I. */
export function levelRank(level: string): number {
  return LEVELS.indexOf(level as Level)
}

export function isOpen(run: Pick<Run, 'status'>): boolean {
  return run.status === 'proposed' || run.status === 'active'
}

/** The run a `plan.*` event is about. */
export function runIdOf(event: LiveEvent): string | null {
  const id = event.payload.run_id ?? event.key
  return typeof id === 'string' && id ? id : null
}
