import type { Alarm } from '../../../src/workbench/alarms/alarms'

export function alarm(overrides: Partial<Alarm> = {}): Alarm {
  return {
    id: '01960000-0000-7000-8000-000000000001',
    rule_id: 'flood.waterlogging.deep',
    type: 'threshold',
    name_zh: '路面积水超过 15 厘米',
    name_en: 'Standing water over 15 cm',
    severity: 'major',
    status: 'active',
    device_id: 12,
    device_code: 'WL-0001',
    device_type: 'waterlogging-gauge',
    region_code: '440303001001',
    lon: 114.12,
    lat: 22.55,
    value: 18.5,
    count: 1,
    raised_at: '2026-05-01T08:00:00Z',
    last_raised_at: '2026-05-01T08:00:00Z',
    observed_at: '2026-05-01T07:59:58Z',
    acknowledged_at: null,
    acknowledged_by: null,
    cleared_at: null,
    cleared_by: null,
    escalated_at: null,
    case_id: null,
    ...overrides,
  }
}
