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

/** A live stream (`/api/v1/live`) the test writes server-sent events into. */
export function liveStream() {
  let push: (text: string) => void = () => undefined
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      const encoder = new TextEncoder()
      push = (text) => controller.enqueue(encoder.encode(text))
    },
  })
  let next = 0
  return {
    body,
    response: (): Response => new Response(body, { headers: { 'content-type': 'text/event-stream' } }),
    /** An `alarm.*` event about alarm `id`. */
    alarmEvent(type: string, id: string): void {
      next += 1
      const event = { id: `e${next}`, type, key: id, payload: { alarm_id: id }, created_at: '2026-05-01T09:00:00Z' }
      push(`id: e${next}\nevent: ${type}\ndata: ${JSON.stringify(event)}\n\n`)
    },
    lagged(): void {
      push('event: lagged\ndata: {}\n\n')
    },
  }
}
