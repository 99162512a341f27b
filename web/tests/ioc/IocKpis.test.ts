import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import IocApp from '../../src/ioc/IocApp.vue'
import IocKpis from '../../src/ioc/IocKpis.vue'
import type { Kpis } from '../../src/ioc/kpis'
import { stubNetwork } from '../auth/fixtures'
import { jsonResponse, meBody, metaBody, mountIn, settle, signInAs } from '../helpers'

const KPIS = '/api/v1/ioc/kpis'

function kpis(overrides: Partial<Kpis> = {}): Kpis {
  return {
    as_of: '2026-05-01T08:00:05Z',
    region: { code: '440303', level: 'district', name_zh: '罗湖区', name_en: 'Luohu District' },
    cases: {
      reported_today: 12,
      reported_today_by_channel: { hotline: 7, portal: 3, patrol: 2, iot: 0, referral: 0, open311: 0 },
      open: 31,
      overdue: 4,
      window_days: 30,
      closed: 40,
      closed_on_time: 35,
      on_time_closure_rate: 0.875,
      rated: 0,
      satisfied: 0,
      satisfaction_rate: null,
    },
    devices: { total: 120, online: 114, offline: 3, fault: 1, unknown: 2, online_rate: 0.95 },
    alarms: { open: 9, by_severity: { critical: 1, major: 3, minor: 0, warning: 5 }, acknowledged: 4, unacknowledged: 5 },
    ...overrides,
  }
}

/** A live stream the test writes events into. */
function liveStream() {
  let push: (text: string) => void = () => undefined
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      const encoder = new TextEncoder()
      push = (text) => controller.enqueue(encoder.encode(text))
    },
  })
  let next = 0
  return {
    response: (): Response => new Response(body, { headers: { 'content-type': 'text/event-stream' } }),
    event(type: string): void {
      next += 1
      const sent = { id: `e${next}`, type, key: `k${next}`, payload: {}, created_at: '2026-05-01T08:00:00Z' }
      push(`id: e${next}\nevent: ${type}\ndata: ${JSON.stringify(sent)}\n\n`)
    },
  }
}

const tile = (wrapper: ReturnType<typeof mountIn>['wrapper'], name: string) => wrapper.get(`[data-kpi="${name}"]`)
const figure = (wrapper: ReturnType<typeof mountIn>['wrapper'], name: string) => tile(wrapper, name).get('.ioc-kpi__figure').text()

describe('IOC KPI tiles', () => {
  beforeEach(async () => {
    await signInAs(meBody({ permissions: ['identity.profile.read', 'ioc.read'] }), 'ioc')
  })

  afterEach(() => {
    vi.useRealTimers()
  })

  it('shows the figures the API counted', async () => {
    const net = stubNetwork({ [KPIS]: () => jsonResponse(kpis()) })
    const { wrapper } = mountIn('zh-CN', IocKpis)
    await settle()

    expect(net.callsTo(KPIS)).toHaveLength(1)
    expect(wrapper.get('[data-testid="ioc-kpis-as-of"]').text()).toBe('罗湖区 · 统计于 16:00:05')
    expect(figure(wrapper, 'cases-today')).toBe('12')
    expect(tile(wrapper, 'cases-today').text()).toContain('12345热线 7 · i罗湖 3 · 网格巡查 2')
    expect(tile(wrapper, 'cases-today').text()).not.toContain('物联感知')
    expect(figure(wrapper, 'cases-open')).toBe('31')
    expect(figure(wrapper, 'cases-overdue')).toBe('4')
    expect(tile(wrapper, 'cases-overdue').attributes('data-alert')).toBe('true')
    expect(figure(wrapper, 'on-time')).toBe('87.5%')
    expect(tile(wrapper, 'on-time').text()).toContain('近 30 天 35/40')
    expect(figure(wrapper, 'devices')).toBe('114/ 120')
    expect(wrapper.get('[data-testid="ioc-kpi-online-rate"]').text()).toBe('在线率 95%')
    expect(figure(wrapper, 'alarms')).toBe('9')
    expect(tile(wrapper, 'alarms').findAll('[data-severity]').map((item) => item.text())).toEqual(['紧急 1', '重要 3', '次要 0', '提示 5'])
    expect(tile(wrapper, 'alarms').text()).toContain('未确认 5')
    // No plans group in the answer: no plans tile.
    expect(wrapper.find('[data-kpi="plans"]').exists()).toBe(false)
  })

  it('shows a dash for a rate with nothing to measure', async () => {
    stubNetwork({
      [KPIS]: () =>
        jsonResponse(
          kpis({
            cases: { ...kpis().cases, closed: 0, closed_on_time: 0, on_time_closure_rate: null },
            devices: { total: 0, online: 0, offline: 0, fault: 0, unknown: 0, online_rate: null },
          }),
        ),
    })
    const { wrapper } = mountIn('en', IocKpis)
    await settle()

    expect(figure(wrapper, 'on-time')).toBe('—')
    expect(figure(wrapper, 'satisfaction')).toBe('—')
    expect(tile(wrapper, 'satisfaction').text()).toContain('last 30 days, 0/0')
    expect(wrapper.get('[data-testid="ioc-kpi-online-rate"]').text()).toBe('— online')
    expect(tile(wrapper, 'on-time').text()).toContain('Closed on time')
  })

  it('shows the plans group when the API sends one', async () => {
    stubNetwork({ [KPIS]: () => jsonResponse(kpis({ plans: { running: 1, proposed: 2, drills: 1, highest_level: 'III' } })) })
    const { wrapper } = mountIn('zh-CN', IocKpis)
    await settle()

    expect(figure(wrapper, 'plans')).toBe('1')
    expect(tile(wrapper, 'plans').text()).toContain('待确认 2')
    expect(tile(wrapper, 'plans').text()).toContain('演练 1')
    expect(tile(wrapper, 'plans').text()).toContain('最高 Ⅲ级响应')
    expect(tile(wrapper, 'plans').attributes('data-alert')).toBe('true')
  })

  it('says so when the figures cannot be read', async () => {
    stubNetwork({
      [KPIS]: () => jsonResponse({ title: '您没有执行此操作的权限', status: 403, code: 'forbidden' }, { status: 403, type: 'application/problem+json' }),
    })
    const { wrapper } = mountIn('zh-CN', IocKpis)
    await settle()
    expect(wrapper.get('[data-testid="ioc-kpis-failed"]').text()).toBe('指标暂时无法获取')
    expect(wrapper.find('.ioc-kpi').exists()).toBe(false)
  })

  it('reads the figures again every 10 seconds', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] })
    let reported = 12
    const net = stubNetwork({ [KPIS]: () => jsonResponse(kpis({ cases: { ...kpis().cases, reported_today: reported } })) })
    const { wrapper } = mountIn('zh-CN', IocKpis)
    await settle()
    expect(net.callsTo(KPIS)).toHaveLength(1)

    reported = 13
    await vi.advanceTimersByTimeAsync(9_999)
    expect(net.callsTo(KPIS)).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(1)
    await settle()
    expect(net.callsTo(KPIS)).toHaveLength(2)
    expect(figure(wrapper, 'cases-today')).toBe('13')
  })

  it('reads them again shortly after case, alarm and plan events, once per burst', async () => {
    await signInAs(meBody({ permissions: ['identity.profile.read', 'ioc.read', 'live.read'] }), 'ioc')
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] })
    const live = liveStream()
    const net = stubNetwork({ [KPIS]: () => jsonResponse(kpis()), '/api/v1/live': () => live.response() })
    mountIn('zh-CN', IocKpis)
    await settle()
    expect(net.callsTo('/api/v1/live')[0]!.url.searchParams.getAll('types')).toEqual(['case.*', 'alarm.*', 'plan.*'])
    expect(net.callsTo(KPIS)).toHaveLength(1)

    live.event('case.created')
    live.event('alarm.raised')
    live.event('plan.started')
    await settle()
    expect(net.callsTo(KPIS)).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(1_000)
    await settle()
    expect(net.callsTo(KPIS)).toHaveLength(2)
  })
})

describe('IOC KPI tiles on the screen', () => {
  it('sit over the map for holders of ioc.read', async () => {
    await signInAs(meBody({ permissions: ['identity.profile.read', 'ioc.read'] }), 'ioc')
    stubNetwork({ '/api/v1/meta': () => jsonResponse(metaBody()), [KPIS]: () => jsonResponse(kpis()) })
    const { wrapper } = mountIn('zh-CN', IocApp)
    await settle()
    const centre = wrapper.get('.ioc-centre')
    expect(centre.findAll('.ioc-panel').map((panel) => panel.attributes('aria-label'))).toEqual(['城市运行指标', '罗湖区全域态势'])
    expect(figure(wrapper, 'cases-open')).toBe('31')
  })

  it('are not asked for without it', async () => {
    await signInAs(meBody({ permissions: ['identity.profile.read'] }), 'ioc')
    const net = stubNetwork({ '/api/v1/meta': () => jsonResponse(metaBody()), [KPIS]: () => jsonResponse(kpis()) })
    const { wrapper } = mountIn('zh-CN', IocApp)
    await settle()
    expect(wrapper.find('[data-testid="ioc-kpis"]').exists()).toBe(false)
    expect(net.callsTo(KPIS)).toHaveLength(0)
  })
})
