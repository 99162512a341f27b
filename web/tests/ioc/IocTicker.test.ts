import { describe, expect, it, vi } from 'vitest'
import IocApp from '../../src/ioc/IocApp.vue'
import { stubNetwork } from '../auth/fixtures'
import { jsonResponse, meBody, metaBody, mountIn, settle, signInAs } from '../helpers'
import { fakeCharts, liveStream } from './fixtures'

vi.mock('../../src/ioc/charts', () => fakeCharts)

const ALARM = {
  alarm_id: 'a-1',
  type: 'threshold',
  severity: 'major',
  status: 'active',
  count: 1,
  region_code: '440303001001',
  location: null,
  device: { id: 7, code: 'WL-0031', type: 'water-level' },
  rule: { id: 'flood.waterlogging', name: { zh: '易涝点积水预警', en: 'Waterlogging warning' } },
  value: 16,
  observed_at: '2026-05-01T06:01:50Z',
}
const CASE = { case_id: 'c-1', number: 'LH20260501000123', status: 'accepted', category_code: '0101', region_code: '440303001001', channel: 'hotline' }
const PLAN = {
  run_id: 'r-1',
  plan: 'rainstorm-waterlogging',
  name: { zh: '罗湖区暴雨内涝应急预案', en: 'Luohu rainstorm waterlogging plan' },
  level: 'III',
  status: 'active',
  drill: false,
  region_code: '440303',
}

const ALL = ['identity.profile.read', 'live.read', 'alarms.read', 'ioc.read', 'plans.read']

async function mounted(permissions: string[], locale: 'zh-CN' | 'en' = 'zh-CN') {
  await signInAs(meBody({ permissions }), 'ioc')
  const live = liveStream()
  const net = stubNetwork({ '/api/v1/meta': () => jsonResponse(metaBody()), '/api/v1/live': () => live.response() })
  const { wrapper } = mountIn(locale, IocApp)
  await settle()
  return { live, net, wrapper }
}

const items = (wrapper: ReturnType<typeof mountIn>['wrapper']) =>
  wrapper.get('[data-testid="ioc-ticker"]').findAll('.ioc-ticker__track:not([aria-hidden]) .ioc-ticker__item')
const text = (item: { text: () => string }) => item.text().replace(/\s+/g, ' ')

describe('IOC live ticker', () => {
  it('shows the events the feed delivers, newest first, in Beijing time', async () => {
    const { live, wrapper } = await mounted(ALL)
    expect(wrapper.get('[data-testid="ioc-ticker-none"]').text()).toBe('暂无实时事件')

    live.event('alarm.raised', ALARM, '2026-05-01T06:02:00Z')
    live.event('case.created', CASE, '2026-05-01T06:03:00Z')
    live.event('plan.started', PLAN, '2026-05-01T06:05:00Z')
    live.event('case.dispatch', { ...CASE, status: 'dispatched' }, '2026-05-01T06:06:00Z')
    live.event('alarm.cleared', { ...ALARM, status: 'cleared' }, '2026-05-01T06:07:00Z')
    await settle()

    expect(items(wrapper).map(text)).toEqual([
      '14:07 告警消除 易涝点积水预警 WL-0031',
      '14:06 案件 LH20260501000123 派遣',
      '14:05 预案 罗湖区暴雨内涝应急预案 Ⅲ级响应',
      '14:03 新案件 LH20260501000123',
      '14:02 告警 易涝点积水预警 WL-0031',
    ])
    expect(items(wrapper).map((item) => item.attributes('data-kind'))).toEqual(['alarm', 'case', 'plan', 'case', 'alarm'])
  })

  it('words the lines in English', async () => {
    const { live, wrapper } = await mounted(ALL, 'en')
    live.event('alarm.raised', ALARM, '2026-05-01T06:02:00Z')
    live.event('case.created', CASE, '2026-05-01T06:03:00Z')
    live.event('plan.proposed', { ...PLAN, status: 'proposed', drill: true }, '2026-05-01T06:04:00Z')
    await settle()

    expect(items(wrapper).map(text)).toEqual([
      '14:04 Plan proposed Luohu rainstorm waterlogging plan Level III (drill)',
      '14:03 New case LH20260501000123',
      '14:02 Alarm Waterlogging warning WL-0031',
    ])
  })

  it('keeps the newest 20', async () => {
    const { live, wrapper } = await mounted(ALL)
    for (let index = 1; index <= 25; index += 1) {
      live.event('case.created', { ...CASE, number: `LH2026050100${String(index).padStart(4, '0')}` })
    }
    await settle()
    const shown = items(wrapper)
    expect(shown).toHaveLength(20)
    expect(text(shown[0]!)).toContain('LH20260501000025')
    expect(text(shown.at(-1)!)).toContain('LH20260501000006')
  })

  it('listens only for the kinds of event the viewer may read, on one stream', async () => {
    const { net } = await mounted(['identity.profile.read', 'live.read', 'alarms.read'])
    const asked = net.callsTo('/api/v1/live').map((call) => call.url.searchParams.getAll('types'))
    expect(asked).toContainEqual(['alarm.*'])
    expect(asked.flat()).not.toContain('plan.*')
    expect(asked.flat()).not.toContain('case.*')
  })

  it('is absent without live.read', async () => {
    const { wrapper } = await mounted(['identity.profile.read', 'ioc.read'])
    expect(wrapper.find('[data-testid="ioc-ticker"]').exists()).toBe(false)
  })
})
