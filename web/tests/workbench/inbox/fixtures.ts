import type { Task, TaskAction, TaskDetail } from '../../../src/workbench/inbox/inbox'
import { meBody } from '../../helpers'

export const INBOX = '/api/v1/workflow/inbox'
export const BULK = '/api/v1/workflow/inbox/actions'
export const instance = (id: string): string => `/api/v1/workflow/instances/${id}`
export const action = (id: string, name: string): string => `${instance(id)}/actions/${name}`

export const DISPATCHER = meBody({
  username: 'dispatcher',
  display_name: '调度员（演示）',
  permissions: ['identity.profile.read', 'workflow.inbox.read', 'workflow.instances.act'],
})

const spec = { requires: [], attachments: [], comment_required: false }
export const REGISTER: TaskAction = { ...spec, id: 'register', name_zh: '立案', name_en: 'Register' }
export const REJECT: TaskAction = { ...spec, id: 'reject', name_zh: '不予立案', name_en: 'Do not register', comment_required: true }
export const DISPATCH: TaskAction = { ...spec, id: 'dispatch', name_zh: '派遣', name_en: 'Dispatch', requires: ['department'] }

export function task(overrides: Partial<Task> = {}): Task {
  return {
    id: 'c-1',
    workflow_id: 'case',
    workflow_name_zh: '城市事件处置',
    workflow_name_en: 'City case handling',
    subject_type: 'case',
    subject_id: 'LH-2026-0001',
    title: '东门步行街井盖缺失',
    state: 'accepted',
    state_name_zh: '待立案',
    state_name_en: 'Awaiting registration',
    state_entered_at: '2026-12-01T01:00:00Z',
    warn_at: '2026-12-01T02:20:00Z',
    // 03:00 UTC is 11:00 in Shenzhen.
    due_at: '2026-12-01T03:00:00Z',
    colour: 'red',
    region_code: '440303003001',
    assignee_role: 'dispatcher',
    assigned_to_me: false,
    version: 1,
    actions: [REGISTER, REJECT],
    ...overrides,
  }
}

export function detail(overrides: Partial<TaskDetail> = {}): TaskDetail {
  return {
    ...task(),
    closed_at: null,
    history: [
      {
        seq: 0,
        action: 'start',
        from_state: null,
        to_state: 'accepted',
        actor: 'operator',
        comment: null,
        data: {},
        attachments: [],
        occurred_at: '2026-12-01T01:00:00Z',
      },
    ],
    ...overrides,
  }
}
