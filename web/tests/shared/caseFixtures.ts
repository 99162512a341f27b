import type { CaseOut } from '../../src/shared/cases'
import { meBody } from '../helpers'

export const CASES = '/api/v1/cases'
export const caseUrl = (id: string): string => `${CASES}/${id}`
export const actionUrl = (id: string, action: string): string => `${caseUrl(id)}/actions/${action}`

const role = (name: string, department: string | null, jurisdiction: string[] = ['440303']) => ({
  role: name,
  name_zh: name,
  name_en: name,
  department_code: department,
  jurisdiction,
})

export const CITIZEN = meBody({
  id: 'u-citizen',
  username: 'citizen',
  display_name: '市民张三（演示）',
  kind: 'citizen',
  department: null,
  roles: [role('citizen', null, [])],
  permissions: ['identity.profile.read', 'cases.create', 'cases.read'],
})

export const OPERATOR = meBody({
  id: 'u-operator',
  username: 'operator',
  display_name: '12345坐席（演示）',
  roles: [role('hotline-operator', 'hotline-12345'), role('dispatcher', 'hotline-12345')],
  permissions: ['identity.profile.read', 'workflow.inbox.read', 'cases.create', 'cases.read', 'cases.act'],
})

export const HANDLER = meBody({
  id: 'u-handler',
  username: 'handler',
  display_name: '水务处置员（演示）',
  roles: [role('handler', 'water-affairs')],
  permissions: ['identity.profile.read', 'workflow.inbox.read', 'cases.read', 'cases.act'],
})

/** A portal report of waterlogging in Dongmen, as the API answers it. */
export function caseBody(overrides: Partial<CaseOut> = {}): CaseOut {
  return {
    id: 'c-1',
    number: 'LH20261201000001',
    channel: 'portal',
    request_type: 'complaint',
    category_code: null,
    category_name_zh: null,
    category_name_en: null,
    suggested_category_code: '1505',
    title: '东门路口积水很深',
    description: '东门路口积水很深，车辆无法通行',
    address: null,
    lon: 114.1148,
    lat: 22.554,
    region_code: '440303003001001',
    community_code: '440303003001',
    subdistrict_code: '440303003',
    outside_reason: null,
    status: 'accepted',
    status_name_zh: '待立案',
    status_name_en: 'Awaiting registration',
    colour: 'green',
    // 03:00 UTC is 11:00 in Shenzhen.
    due_at: '2026-12-01T03:00:00Z',
    created_at: '2026-12-01T01:00:00Z',
    registered_at: null,
    dispatched_at: null,
    closed_at: null,
    lead_department_code: null,
    satisfaction: null,
    reporter_name: null,
    reporter_phone: null,
    synthetic: false,
    version: 1,
    actions: [],
    history: [
      {
        seq: 0,
        action: 'start',
        from_state: null,
        to_state: 'accepted',
        actor: 'citizen',
        comment: null,
        occurred_at: '2026-12-01T01:00:00Z',
      },
    ],
    ...overrides,
  }
}
