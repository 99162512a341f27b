/** The messages API (`/api/v1/notify`): the signed-in person's own messages (站内信). */
import { apiFetch } from '../shared/api'

export const NOTIFY_API = '/api/v1/notify/messages'

export interface MessageOut {
  id: string
  template: string
  /** Rendered in the language the page asks for. */
  title: string
  body: string
  subject_type: string | null
  subject_id: string | null
  /** Where the message leads in the portal (a hash route), if anywhere. */
  link: string | null
  /** UTC, ISO 8601. */
  created_at: string
  read_at: string | null
}

export interface MessagePage {
  items: MessageOut[]
  next_cursor: string | null
}

export function listMessages(options: { cursor?: string; limit?: number; unread?: boolean } = {}): Promise<MessagePage> {
  const query = new URLSearchParams()
  if (options.cursor) query.set('cursor', options.cursor)
  if (options.limit) query.set('limit', String(options.limit))
  if (options.unread) query.set('unread', 'true')
  const suffix = query.size ? `?${query.toString()}` : ''
  return apiFetch<MessagePage>(`${NOTIFY_API}${suffix}`)
}

export async function unreadCount(): Promise<number> {
  return (await apiFetch<{ unread: number }>(`${NOTIFY_API}/unread-count`)).unread
}

export function markRead(id: string): Promise<MessageOut> {
  return apiFetch<MessageOut>(`${NOTIFY_API}/${encodeURIComponent(id)}/read`, { method: 'POST' })
}

export async function markAllRead(): Promise<number> {
  return (await apiFetch<{ marked: number }>(`${NOTIFY_API}/read-all`, { method: 'POST' })).marked
}
