import { beforeEach, describe, expect, it } from 'vitest'
import DevicesView from '../../../src/workbench/devices/DevicesView.vue'
import { stubNetwork } from '../../auth/fixtures'
import { jsonResponse, meBody, mountIn, settle, signInAs } from '../../helpers'

const MANAGER = meBody({ permissions: ['identity.profile.read', 'telemetry.devices.read', 'telemetry.devices.manage', 'telemetry.read'] })

const WL = {
  code: 'WL-0001',
  id: 5,
  name: '积水监测仪 WL-0001（人民南路）',
  name_en: 'Waterlogging gauge WL-0001 (Renmin South Road)',
  device_type: 'waterlogging-gauge',
  region_code: '440303001001',
  status: 'online',
  last_seen_at: '2026-05-01T08:00:00Z',
  error_count: 0,
  last_error: null,
  has_credentials: false,
  synthetic: true,
  attributes: {},
  lon: 114.118,
  lat: 22.541,
}
const DETAIL = {
  ...WL,
  datastreams: [
    { id: 51, property: 'water_depth', name: 'WL-0001 · 积水深度', observation_type: 'OM_Measurement', unit: { symbol: 'cm' }, last_time: '2026-05-01T08:00:00Z', last_result: 12 },
  ],
}

function network() {
  return stubNetwork({
    '/api/v1/devices': (url) =>
      jsonResponse(
        url.searchParams.get('cursor') === 'c2'
          ? { items: [{ ...WL, code: 'WL-0051' }], next_cursor: null }
          : { items: [WL], next_cursor: 'c2' },
      ),
    '/api/v1/devices/WL-0001': () => jsonResponse(DETAIL),
    '/api/v1/devices/WL-0001/credentials': () =>
      jsonResponse({ code: 'WL-0001', secret: 's3cr3t-once', authorization: 'Device WL-0001:s3cr3t-once', rotated: false }, { status: 201 }),
    '/api/v1/telemetry/series': (url) =>
      jsonResponse({ datastream: 51, bucket: url.searchParams.get('bucket'), truncated: false, points: [{ time: '2026-05-01T07:00:00Z', avg: 10, min: 8, max: 12, count: 60 }] }),
  })
}

beforeEach(async () => {
  await signInAs(MANAGER)
})

describe('设备管理', () => {
  it('filters and pages through devices with cursors', async () => {
    const net = network()
    const { wrapper } = mountIn('zh-CN', DevicesView)
    await settle()
    expect(wrapper.get('[data-testid="device-table"] tbody tr').text()).toContain('积水监测仪')
    expect(wrapper.get('tr[data-code="WL-0001"] a').attributes('href')).toBe('#/devices/WL-0001')

    await wrapper.get('select[name="status"]').setValue('fault')
    await wrapper.get('input[name="q"]').setValue(' WL ')
    await wrapper.get('form').trigger('submit')
    await settle()
    let query = net.callsTo('/api/v1/devices').at(-1)!.url.searchParams
    expect(query.get('status')).toBe('fault')
    expect(query.get('q')).toBe('WL')
    expect(query.has('cursor')).toBe(false)

    await wrapper.get('[data-testid="device-next"]').trigger('click')
    await settle()
    query = net.callsTo('/api/v1/devices').at(-1)!.url.searchParams
    expect(query.get('cursor')).toBe('c2')
    expect(query.get('status')).toBe('fault')
    expect(wrapper.get('[data-testid="device-page"]').text()).toBe('第 2 页')
    expect(wrapper.find('tr[data-code="WL-0051"]').exists()).toBe(true)

    await wrapper.get('[data-testid="device-previous"]').trigger('click')
    await settle()
    expect(net.callsTo('/api/v1/devices').at(-1)!.url.searchParams.has('cursor')).toBe(false)
  })

  it('charts each datastream over the chosen range from the matching rollup', async () => {
    window.location.hash = '#/devices/WL-0001'
    const net = network()
    const { wrapper } = mountIn('zh-CN', DevicesView)
    await settle()
    await settle()

    expect(wrapper.get('[data-testid="device-page"]').text()).toContain('积水监测仪 WL-0001（人民南路）')
    expect(wrapper.get('[data-testid="stream-last"]').text()).toBe('12 cm')
    const first = net.callsTo('/api/v1/telemetry/series')[0]!.url.searchParams
    expect(first.get('bucket')).toBe('1m')
    expect(first.get('datastream')).toBe('51')
    expect(wrapper.find('[data-testid="chart-line"]').exists()).toBe(true)

    for (const [range, bucket, days] of [['7d', '1h', 7], ['30d', '1d', 30]] as const) {
      await wrapper.get(`[data-range="${range}"]`).trigger('click')
      await settle()
      const query = net.callsTo('/api/v1/telemetry/series').at(-1)!.url.searchParams
      expect(query.get('bucket')).toBe(bucket)
      expect(Date.parse(query.get('to')!) - Date.parse(query.get('from')!)).toBe(days * 24 * 3_600_000)
    }
  })

  it('shows a newly issued secret once', async () => {
    window.location.hash = '#/devices/WL-0001'
    const net = network()
    const { wrapper } = mountIn('zh-CN', DevicesView)
    await settle()
    await settle()

    await wrapper.get('[data-testid="secret-issue"]').trigger('click')
    await settle()
    expect(net.callsTo('/api/v1/devices/WL-0001/credentials')[0]!.method).toBe('POST')
    expect(wrapper.get('[data-testid="secret-value"]').text()).toBe('s3cr3t-once')
    expect(wrapper.get('[data-testid="device-secret"]').text()).toContain('Device WL-0001:s3cr3t-once')

    await wrapper.get('[data-testid="secret-dismiss"]').trigger('click')
    expect(wrapper.text()).not.toContain('s3cr3t-once')
    // Issuing again replaces the secret: it asks first.
    await wrapper.get('[data-testid="secret-issue"]').trigger('click')
    expect(wrapper.get('[data-testid="secret-confirm"]').text()).toContain('旧密钥立即失效')
    expect(net.callsTo('/api/v1/devices/WL-0001/credentials')).toHaveLength(1)
    await wrapper.get('[data-testid="secret-confirm-yes"]').trigger('click')
    await settle()
    expect(net.callsTo('/api/v1/devices/WL-0001/credentials')).toHaveLength(2)
  })

  it('offers no secrets to those who only read', async () => {
    await signInAs(meBody({ permissions: ['telemetry.devices.read'] }))
    window.location.hash = '#/devices/WL-0001'
    network()
    const { wrapper } = mountIn('en', DevicesView)
    await settle()
    await settle()
    expect(wrapper.get('[data-testid="device-page"]').text()).toContain('Waterlogging gauge WL-0001 (Renmin South Road)')
    expect(wrapper.find('[data-testid="device-credentials"]').exists()).toBe(false)
  })
})
