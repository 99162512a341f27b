import { beforeEach, describe, expect, it, vi } from 'vitest'
import IocTrend from '../../src/ioc/IocTrend.vue'
import type { Trend } from '../../src/ioc/trend'
import { stubNetwork } from '../auth/fixtures'
import { jsonResponse, meBody, mountIn, settle, signInAs } from '../helpers'
import { charts, fakeCharts, lastOption } from './fixtures'

vi.mock('../../src/ioc/charts', () => fakeCharts)

const TREND = '/api/v1/ioc/trend'
const LUOHU = { code: '440303', level: 'district', name_zh: '罗湖区', name_en: 'Luohu District' }
const DONGMEN = { code: '440303001', level: 'subdistrict', name_zh: '东门街道', name_en: 'Dongmen Subdistrict' }

function trend(region = LUOHU, scale = 1): Trend {
  return {
    region,
    days: [
      { day: '2026-04-29', reported: 12 * scale, closed: 9 * scale, alarms: 3 * scale },
      { day: '2026-04-30', reported: 15 * scale, closed: 11 * scale, alarms: 0 },
      { day: '2026-05-01', reported: 4 * scale, closed: 2 * scale, alarms: 7 * scale },
    ],
  }
}

async function mounted(locale: 'zh-CN' | 'en' = 'zh-CN', region: string | null = null) {
  const { wrapper } = mountIn(locale, IocTrend, { props: { region } })
  await settle()
  await vi.dynamicImportSettled()
  await settle()
  return wrapper
}

const series = (option: Record<string, any>) =>
  option.series.map((item: Record<string, any>) => ({ name: item.name, type: item.type, data: item.data }))

describe('IOC trend chart', () => {
  beforeEach(async () => {
    charts.length = 0
    await signInAs(meBody({ permissions: ['identity.profile.read', 'ioc.read'] }), 'ioc')
  })

  it('draws cases reported and closed as lines and alarms as bars, day by day from the API', async () => {
    const net = stubNetwork({ [TREND]: () => jsonResponse(trend()) })
    const wrapper = await mounted()

    const asked = net.callsTo(TREND)[0]!.url.searchParams
    expect(asked.get('days')).toBe('30')
    expect(asked.has('region')).toBe(false)
    expect(wrapper.get('[data-testid="ioc-trend-scope"]').text()).toBe('罗湖区 · 近 3 天')
    const option = lastOption('[data-testid="ioc-trend-chart"]')
    expect(option.xAxis.data).toEqual(['04-29', '04-30', '05-01'])
    expect(series(option)).toEqual([
      { name: '告警', type: 'bar', data: [3, 0, 7] },
      { name: '受理事件', type: 'line', data: [12, 15, 4] },
      { name: '办结事件', type: 'line', data: [9, 11, 2] },
    ])
    expect(option.series[0].yAxisIndex).toBe(1)
    expect(option.yAxis.map((axis: Record<string, any>) => axis.name)).toEqual(['事件', '告警'])
  })

  it('names its series in English', async () => {
    stubNetwork({ [TREND]: () => jsonResponse(trend()) })
    const wrapper = await mounted('en')
    expect(wrapper.get('[data-testid="ioc-trend-scope"]').text()).toBe('Luohu District · last 3 days')
    expect(series(lastOption('[data-testid="ioc-trend-chart"]')).map((item: { name: string }) => item.name)).toEqual(['Alarms', 'Reported', 'Closed'])
  })

  it('follows the subdistrict drilled into', async () => {
    const net = stubNetwork({
      [TREND]: (url) => jsonResponse(url.searchParams.get('region') === DONGMEN.code ? trend(DONGMEN, 2) : trend()),
    })
    const wrapper = await mounted()
    await wrapper.setProps({ region: DONGMEN.code })
    await settle()
    await vi.dynamicImportSettled()
    await settle()

    expect(net.callsTo(TREND).at(-1)!.url.searchParams.get('region')).toBe(DONGMEN.code)
    expect(wrapper.get('[data-testid="ioc-trend-scope"]').text()).toBe('东门街道 · 近 3 天')
    expect(lastOption('[data-testid="ioc-trend-chart"]').series[1].data).toEqual([24, 30, 8])

    await wrapper.setProps({ region: null })
    await settle()
    expect(net.callsTo(TREND).at(-1)!.url.searchParams.has('region')).toBe(false)
  })

  it('says so when the days hold nothing, and when the trend cannot be read', async () => {
    const quiet = { region: LUOHU, days: [{ day: '2026-05-01', reported: 0, closed: 0, alarms: 0 }] }
    stubNetwork({ [TREND]: () => jsonResponse(quiet) })
    const wrapper = await mounted()
    expect(wrapper.get('[data-testid="ioc-trend-none"]').text()).toBe('近 1 天没有事件和告警')
    expect(wrapper.find('[data-testid="ioc-trend-chart"]').exists()).toBe(false)

    stubNetwork({ [TREND]: () => jsonResponse({ title: 'boom', status: 500, code: 'internal_error' }, { status: 500, type: 'application/problem+json' }) })
    const failed = await mounted()
    expect(failed.get('[data-testid="ioc-trend-failed"]').text()).toBe('趋势数据暂时无法获取')
  })
})
