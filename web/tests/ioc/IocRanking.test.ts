import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import IocApp from '../../src/ioc/IocApp.vue'
import { lastMonth } from '../../src/ioc/ranking'
import type { Evaluation, EvaluationRow } from '../../src/workbench/evaluation/evaluation'
import { stubNetwork } from '../auth/fixtures'
import { jsonResponse, meBody, metaBody, mountIn, settle, signInAs } from '../helpers'
import { charts, fakeCharts, lastOption } from './fixtures'

vi.mock('../../src/ioc/charts', () => fakeCharts)

const EVALUATION = '/api/v1/cases/evaluation'

function row(key: string | null, name_zh: string, name_en: string, rank: number | null, composite: number | null): EvaluationRow {
  return { key, name_zh, name_en, rank, composite, counts: { reported: 10, synthetic: 0 }, rates: {} as EvaluationRow['rates'] }
}

function evaluation(rows: EvaluationRow[]): Evaluation {
  return {
    period: { text: '2026-05', first: '2026-05-01', last: '2026-05-31' },
    by: 'subdistrict',
    include_synthetic: true,
    weights: {},
    rows,
    total: row(null, '全区', 'District', null, 80),
    synthetic_cases: 0,
  }
}

// As the server sends them: ranked best first, the unranked (no score, no subdistrict) after.
const ROWS = [
  row('440303002', '南湖街道', 'Nanhu', 1, 91.256),
  row('440303001', '东门街道', 'Dongmen', 2, 84.5),
  row('440303003', '桂园街道', 'Guiyuan', 3, 77),
  row('440303004', '黄贝街道', 'Huangbei', null, null),
  row(null, '未定位街道', 'No subdistrict', null, 60),
]

async function mountedApp(permissions: string[], rows = ROWS) {
  await signInAs(meBody({ permissions: ['identity.profile.read', ...permissions] }), 'ioc')
  const net = stubNetwork({ '/api/v1/meta': () => jsonResponse(metaBody()), [EVALUATION]: () => jsonResponse(evaluation(rows)) })
  const { wrapper } = mountIn('zh-CN', IocApp)
  await settle()
  await vi.dynamicImportSettled()
  await settle()
  return { net, wrapper }
}

describe('IOC subdistrict ranking', () => {
  beforeEach(() => {
    charts.length = 0
    vi.useFakeTimers({ toFake: ['Date'] })
    // 1 June, 01:00 in Shenzhen: last month is May, though it is still May in UTC.
    vi.setSystemTime(new Date('2026-05-31T17:00:00Z'))
  })

  afterEach(() => {
    vi.useRealTimers()
  })

  it('ranks last month’s subdistricts by composite score, best on top', async () => {
    const { net, wrapper } = await mountedApp(['cases.evaluate'])

    const asked = net.callsTo(EVALUATION)[0]!.url.searchParams
    expect([asked.get('period'), asked.get('by')]).toEqual(['2026-05', 'subdistrict'])
    expect(wrapper.get('[data-testid="ioc-ranking-period"]').text()).toBe('2026-05 · 综合得分')
    const option = lastOption('[data-testid="ioc-ranking-chart"]')
    expect(option.yAxis.inverse).toBe(true)
    expect(option.yAxis.data).toEqual(['南湖街道', '东门街道', '桂园街道'])
    expect(option.series[0].data.map((item: { value: number }) => item.value)).toEqual([91.26, 84.5, 77])
    // It takes the service placeholder's place in the left column.
    expect(wrapper.find('[aria-label="政务服务"]').exists()).toBe(false)
  })

  it('orders by rank whatever order the rows come in', async () => {
    const { wrapper } = await mountedApp(['cases.evaluate'], [ROWS[2]!, ROWS[0]!, ROWS[1]!])
    expect(wrapper.find('[data-testid="ioc-ranking-chart"]').exists()).toBe(true)
    expect(lastOption('[data-testid="ioc-ranking-chart"]').yAxis.data).toEqual(['南湖街道', '东门街道', '桂园街道'])
  })

  it('says so when no subdistrict can be ranked', async () => {
    const { wrapper } = await mountedApp(['cases.evaluate'], [ROWS[3]!])
    expect(wrapper.get('[data-testid="ioc-ranking-none"]').text()).toBe('上月没有可排名的街道')
  })

  it('is absent, and asks for nothing, without cases.evaluate', async () => {
    const { net, wrapper } = await mountedApp(['ioc.read'])
    expect(wrapper.find('[data-testid="ioc-ranking"]').exists()).toBe(false)
    expect(net.callsTo(EVALUATION)).toHaveLength(0)
    expect(wrapper.find('[aria-label="政务服务"]').exists()).toBe(true)
  })
})

describe('lastMonth', () => {
  it('is the calendar month before today in Shenzhen', () => {
    expect(lastMonth(new Date('2026-01-10T04:00:00Z'))).toBe('2025-12')
    expect(lastMonth(new Date('2026-11-30T16:30:00Z'))).toBe('2026-11')
  })
})
