/** The unified inbox API (`/api/v1/workflow/...`): tasks waiting for me, one task with its history, actions. */
import { apiFetch } from '../../shared/api'
import type { StepAttachment } from '../../shared/cases'
import type { ActionSubmission } from '../acting/needs'

const BASE = '/api/v1/workflow'

export type Colour = 'green' | 'yellow' | 'red' | 'none'
export const COLOURS: readonly Colour[] = ['red', 'yellow', 'green', 'none']

export interface TaskAction {
  id: string
  name_zh: string
  name_en: string
  /** Data fields the action needs. */
  requires: string[]
  /** Attachment kinds the action needs. */
  attachments: string[]
  comment_required: boolean
}

export interface Task {
  id: string
  workflow_id: string
  workflow_name_zh: string
  workflow_name_en: string
  subject_type: string
  subject_id: string
  title: string
  state: string
  state_name_zh: string
  state_name_en: string
  /** UTC, ISO 8601. */
  state_entered_at: string
  warn_at: string | null
  due_at: string | null
  colour: Colour
  region_code: string | null
  assignee_role: string | null
  assigned_to_me: boolean
  version: number
  actions: TaskAction[]
}

export interface InboxPage {
  items: Task[]
  total: number
}

export interface HistoryStep {
  seq: number
  action: string
  from_state: string | null
  to_state: string
  actor: string
  comment: string | null
  data: Record<string, unknown>
  attachments: StepAttachment[]
  occurred_at: string
}

export interface TaskDetail extends Task {
  closed_at: string | null
  history: HistoryStep[]
}

export interface ActionBody extends ActionSubmission {
  expected_version?: number
}

export interface BulkResult {
  instance_id: string
  ok: boolean
  status: number
  code: string | null
  detail: string | null
}

export interface InboxFilters {
  workflow: string
  colour: Colour | ''
  q: string
}

export const emptyFilters = (): InboxFilters => ({ workflow: '', colour: '', q: '' })

/** The query the API understands for a page of the inbox. */
export function inboxParams(filters: InboxFilters, offset: number, limit: number): URLSearchParams {
  const params = new URLSearchParams()
  if (filters.workflow) {
    params.set('workflow', filters.workflow)
  }
  if (filters.colour) {
    params.set('colour', filters.colour)
  }
  const q = filters.q.trim()
  if (q) {
    params.set('q', q)
  }
  params.set('offset', String(offset))
  params.set('limit', String(limit))
  return params
}

export async function listInbox(filters: InboxFilters, offset: number, limit: number): Promise<InboxPage> {
  const page = await apiFetch<Partial<InboxPage>>(`${BASE}/inbox?${inboxParams(filters, offset, limit).toString()}`)
  return { items: Array.isArray(page.items) ? page.items : [], total: typeof page.total === 'number' ? page.total : 0 }
}

export function getTask(id: string): Promise<TaskDetail> {
  return apiFetch<TaskDetail>(`${BASE}/instances/${encodeURIComponent(id)}`)
}

export function takeAction(id: string, action: string, body: ActionBody): Promise<TaskDetail> {
  return apiFetch<TaskDetail>(`${BASE}/instances/${encodeURIComponent(id)}/actions/${encodeURIComponent(action)}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
}

export function bulkAction(instanceIds: string[], action: string, comment: string): Promise<BulkResult[]> {
  const body: Record<string, unknown> = { instance_ids: instanceIds, action }
  if (comment.trim()) {
    body.comment = comment.trim()
  }
  return apiFetch<BulkResult[]>(`${BASE}/inbox/actions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
}

/** The actions every one of `tasks` offers, in the first task's order. */
export function commonActions(tasks: readonly Task[]): TaskAction[] {
  const [first, ...rest] = tasks
  if (!first) {
    return []
  }
  return first.actions.filter((action) => rest.every((task) => task.actions.some((other) => other.id === action.id)))
}

/** A name in the page's language from a `*_zh`/`*_en` pair. */
export function inLocale(zh: string, en: string, locale: string): string {
  return locale.startsWith('zh') ? zh || en : en || zh
}
