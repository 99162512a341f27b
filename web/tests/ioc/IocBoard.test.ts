import { beforeEach, describe, expect, it } from 'vitest'
import IocApp from '../../src/ioc/IocApp.vue'
import type { Device } from '../../src/workbench/devices/devices'
import { stubNetwork } from '../auth/fixtures'
import { jsonResponse, meBody, metaBody, mountIn, settle, signInAs } from '../helpers'
import { alarm } from '../workbench/alarms/fixtures'

function device(overrides: Partial<Device> = {}): Device {
  return {
    code: 'RG-0001',
    id: 1,
    name: '雨量计 RG-0001（学校 S03）',
    name_en: 'Rain gauge RG-0001 (School S03)',
    device_type: 'rain-gauge',
    region_code: '440303001001',
    status: 'online',
    last_seen_at: '2026-05-01T08:00:00Z',
    error_count: 0,
    last_error: null,
    has_credentials: true,
    synthetic: true,
    attributes: {},
    lon: 114.12,
    lat: 22.57,
    ...overrides,
  }
}

const DEVICES = [
  device(),
  device({ code: 'RG-0002', id: 2, status: 'offline' }),
  device({ code: 'SD-0001', id: 3, device_type: 'smoke-detector', status: 'fault' }),
]
const SQUARE = { type: 'Polygon', coordinates: [[[114.1, 22.5], [114.2, 22.5], [114.2, 22.6], [114.1, 22.6], [114.1, 22.5]]] }
const DISTRICT = { type: 'Feature', geometry: SQUARE, properties: { code: '440303', level: 'district', name_zh: '罗湖区', name_en: 'Luohu', synthetic: false, area_m2: 1, centroid: [114.15, 22.55] } }

/** A live stream the test writes events into. */
function liveStream() {
  let push: (text: string) => void = () => undefined
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      const encoder = new TextEncoder()
      push = (text) => controller.enqueue(encoder.encode(text))
    },
  })
  return { body, push: (text: string) => push(text) }
}

describe('IOC board', () => {
  let live: ReturnType<typeof liveStream>
  let openAlarms = [alarm()]

  beforeEach(async () => {
    await signInAs(meBody({ permissions: ['identity.profile.read', 'telemetry.devices.read', 'alarms.read', 'live.read'] }), 'ioc')
    live = liveStream()
    openAlarms = [alarm()]
  })

  function network() {
    return stubNetwork({
      '/api/v1/meta': () => jsonResponse(metaBody()),
      '/api/v1/devices': () => jsonResponse({ items: DEVICES, next_cursor: null }),
      '/api/v1/alarms': () => jsonResponse({ items: openAlarms, next_cursor: null }),
      '/api/v1/alarms/a-new': () => jsonResponse(alarm({ id: 'a-new', severity: 'critical', name_zh: '烟感报警', last_raised_at: '2026-05-01T09:00:00Z' })),
      '/api/v1/geo/regions/440303': () => jsonResponse(DISTRICT),
      '/api/v1/geo/regions': () => jsonResponse({ type: 'FeatureCollection', features: [] }),
      '/api/v1/live': () => new Response(live.body, { headers: { 'content-type': 'text/event-stream' } }),
      '/api/v1/devices/RG-0001': () =>
        jsonResponse({
          ...DEVICES[0],
          datastreams: [{ id: 41, property: 'rainfall', name: '雨量计 RG-0001 · 降雨量', observation_type: 'OM_Measurement', unit: { symbol: 'mm' }, last_time: '2026-05-01T08:00:00Z', last_result: 2.5 }],
        }),
      '/api/v1/telemetry/series': () =>
        jsonResponse({ datastream: 41, bucket: '1h', truncated: false, points: [{ time: '2026-05-01T07:00:00Z', avg: 1, min: 0, max: 2, count: 12 }, { time: '2026-05-01T08:00:00Z', avg: 2, min: 1, max: 3, count: 12 }] }),
    })
  }

  it('counts devices by status and marks them on the map, all from the API', async () => {
    const net = network()
    const { wrapper } = mountIn('zh-CN', IocApp)
    await settle()
    await settle()

    expect(net.callsTo('/api/v1/devices')[0]!.url.searchParams.get('limit')).toBe('200')
    expect(wrapper.get('[data-testid="ioc-device-total"]').text()).toBe('3')
    expect(wrapper.get('[data-testid="ioc-status-online"]').text()).toBe('1')
    expect(wrapper.get('[data-testid="ioc-status-fault"]').text()).toBe('1')
    expect(wrapper.findAll('path.ioc-device')).toHaveLength(3)
    expect(wrapper.get('path.ioc-device[data-code="SD-0001"]').attributes('data-status')).toBe('fault')
    expect(wrapper.findAll('[data-testid="ioc-type-filter"] button').map((b) => b.attributes('data-type'))).toEqual(['rain-gauge', 'smoke-detector'])

    await wrapper.get('[data-testid="ioc-type-filter"] [data-type="rain-gauge"]').trigger('click')
    expect(wrapper.findAll('path.ioc-device')).toHaveLength(1)
  })

  it('lists open alarms and adds one the moment the live stream tells of it', async () => {
    const net = network()
    const { wrapper } = mountIn('zh-CN', IocApp)
    await settle()
    expect(net.callsTo('/api/v1/alarms')[0]!.url.searchParams.get('open')).toBe('true')
    expect(wrapper.findAll('.ioc-alarm-item')).toHaveLength(1)
    expect(wrapper.findAll('.ioc-alarm[data-alarm]')).toHaveLength(1)
    expect(wrapper.get('[data-testid="ioc-live"]').text()).toBe('实时')

    const payload = { alarm_id: 'a-new', severity: 'critical', status: 'active' }
    live.push(`id: e1\nevent: alarm.raised\ndata: ${JSON.stringify({ id: 'e1', type: 'alarm.raised', key: 'a-new', payload, created_at: '2026-05-01T09:00:00Z' })}\n\n`)
    await settle()
    await settle()

    const items = wrapper.findAll('.ioc-alarm-item')
    expect(items.map((item) => item.attributes('data-id'))).toEqual(['a-new', alarm().id])
    expect(items[0]!.attributes('data-severity')).toBe('critical')
    expect(items[0]!.text()).toContain('烟感报警')
  })

  it('opens a device card with its latest values and a 24-hour sparkline', async () => {
    const net = network()
    const { wrapper } = mountIn('zh-CN', IocApp)
    await settle()
    await settle()
    wrapper.get('path.ioc-device[data-code="RG-0001"]').element.dispatchEvent(new MouseEvent('click', { bubbles: true }))
    await settle()
    await settle()

    const card = wrapper.get('[data-testid="ioc-device-card"]')
    expect(card.text()).toContain('雨量计 RG-0001（学校 S03）')
    expect(card.text()).toContain('降雨量')
    expect(card.get('[data-testid="ioc-stream-value"]').text()).toBe('2.5 mm')
    const series = net.callsTo('/api/v1/telemetry/series')[0]!.url.searchParams
    expect(series.get('bucket')).toBe('1h')
    expect(series.get('datastream')).toBe('41')
    expect(Date.parse(series.get('to')!) - Date.parse(series.get('from')!)).toBe(24 * 3_600_000)
    expect(card.find('[data-testid="chart-line"]').exists()).toBe(true)
  })
})
