import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import EvaluationView from '../../../src/workbench/evaluation/EvaluationView.vue'
import type { Evaluation, EvaluationRow, Rates } from '../../../src/workbench/evaluation/evaluation'
import { defaultPeriod, periodText, sortRows } from '../../../src/workbench/evaluation/evaluation'
import { stubNetwork } from '../../auth/fixtures'
import { jsonResponse, meBody, mountIn, settle, signInAs } from '../../helpers'

const API = '/api/v1/cases/evaluation'
const EXPORT = '/api/v1/cases/evaluation.xlsx'
const XLSX = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet'

const LEADER = meBody({
  username: 'leader',
  display_name: '区领导（演示）',
  permissions: ['identity.profile.read', 'cases.read', 'cases.evaluate'],
})

function rates(overrides: Partial<Rates> = {}): Rates {
  return {
    registration_rate: 0.9,
    dispatch_accuracy: 0.95,
    signed_on_time_rate: 1,
    handled_on_time_rate: 0.8,
    closure_rate: 0.75,
    closed_on_time_rate: 0.5,
    rework_rate: 0.1,
    extension_rate: 0.05,
    satisfaction_rate: 0.875,
    average_handling_hours: 26.25,
    ...overrides,
  }
}

function row(overrides: Partial<EvaluationRow> = {}): EvaluationRow {
  return {
    key: 'water',
    name_zh: '区水务局',
    name_en: 'Water Bureau',
    rank: 1,
    composite: 88.5,
    counts: { reported: 40, synthetic: 30 },
    rates: rates(),
    ...overrides,
  }
}

function evaluation(overrides: Partial<Evaluation> = {}): Evaluation {
  return {
    period: { text: '2026-12', first: '2026-12-01', last: '2026-12-31' },
    by: 'department',
    include_synthetic: true,
    weights: { handled_on_time_rate: 0.25, satisfaction_rate: 0.2 },
    rows: [
      row(),
      row({ key: 'urban', name_zh: '区城管局', name_en: 'Urban Management Bureau', rank: 2, composite: 72.25, rates: rates({ satisfaction_rate: 0.95 }) }),
      row({ key: null, name_zh: '（未派遣）', name_en: '(not dispatched)', rank: null, composite: null, rates: rates({ dispatch_accuracy: null, satisfaction_rate: null }) }),
    ],
    total: row({ key: null, name_zh: '合计', name_en: 'Total', rank: null, composite: 80.1 }),
    synthetic_cases: 75,
    ...overrides,
  }
}

const SUBDISTRICTS = evaluation({
  by: 'subdistrict',
  rows: [row({ key: '440303001', name_zh: '桂园街道', name_en: 'Guiyuan Subdistrict' })],
})

beforeEach(async () => {
  // 01:00 on 1 December in Shenzhen is still 30 November in UTC: the page opens on December.
  vi.useFakeTimers({ toFake: ['Date'] })
  vi.setSystemTime(new Date('2026-11-30T17:00:00Z'))
  await signInAs(LEADER)
})

afterEach(() => {
  vi.useRealTimers()
  vi.restoreAllMocks()
})

function network(extra: Parameters<typeof stubNetwork>[0] = {}) {
  return stubNetwork({
    [API]: (url) => jsonResponse(url.searchParams.get('by') === 'subdistrict' ? SUBDISTRICTS : evaluation()),
    ...extra,
  })
}

const texts = (cells: { text(): string }[]): string[] => cells.map((cell) => cell.text())

describe('考核评价', () => {
  it('ranks the current Beijing month by department, total last and unranked rows at the end', async () => {
    const net = network()
    const { wrapper } = mountIn('zh-CN', EvaluationView)
    await settle()

    const call = net.callsTo(API)[0]!
    expect(call.headers.get('authorization')).toBe('Bearer access-1')
    expect(call.url.searchParams.get('period')).toBe('2026-12')
    expect(call.url.searchParams.get('by')).toBe('department')
    expect(call.url.searchParams.get('include_synthetic')).toBe('true')
    expect((wrapper.get('[data-testid="period-month"]').element as HTMLInputElement).value).toBe('2026-12')

    const table = wrapper.get('[data-testid="evaluation-table"]')
    expect(texts(table.findAll('thead th')).map((text) => text.replace(/\s*[↕↑↓]?$/, ''))).toEqual([
      '名次', '名称', '综合得分', '立案率', '派遣准确率', '按期签收率', '按期处置率', '结案率', '按期结案率', '返工率', '延期率', '平均处置时长(小时)', '满意率',
    ])
    const body = table.findAll('tbody tr')
    expect(body.map((tr) => tr.find('.ev-name').text())).toEqual(['区水务局', '区城管局', '（未派遣）'])
    expect(texts(body[0]!.findAll('td'))).toEqual([
      '1', '区水务局', '88.50', '90.0%', '95.0%', '100.0%', '80.0%', '75.0%', '50.0%', '10.0%', '5.0%', '26.3', '87.5%',
    ])
    expect(body[0]!.get('.ev-bar__fill').attributes('style')).toContain('width: 88.5%')
    // No value: a dash, never 0%.
    expect(body[2]!.get('td').text()).toBe('—')
    expect(body[2]!.get('[data-column="dispatch_accuracy"]').text()).toBe('—')
    expect(body[2]!.get('.ev-score__value').text()).toBe('—')
    const total = table.get('[data-testid="evaluation-total"]')
    expect(total.get('.ev-name').text()).toBe('合计')
    expect(total.get('.ev-score__value').text()).toBe('80.10')

    expect(wrapper.get('[data-testid="evaluation-synthetic"]').text()).toBe('含演示数据 75 件（合成数据）')
    expect(wrapper.get('[data-testid="evaluation-period"]').text()).toContain('2026-12-01 至 2026-12-31')
    expect(wrapper.get('[data-testid="evaluation-period"]').text()).toContain('按期处置率 25%、满意率 20%')
  })

  it('switches the dimension and leaves the demo data out on request', async () => {
    const net = network()
    const { wrapper } = mountIn('zh-CN', EvaluationView)
    await settle()

    await wrapper.get('[data-by="subdistrict"]').trigger('click')
    await settle()
    expect(net.callsTo(API).at(-1)!.url.searchParams.get('by')).toBe('subdistrict')
    expect(wrapper.get('[data-by="subdistrict"]').attributes('aria-pressed')).toBe('true')
    expect(wrapper.get('[data-by="department"]').attributes('aria-pressed')).toBe('false')
    expect(texts(wrapper.findAll('tbody .ev-name'))).toEqual(['桂园街道'])

    await wrapper.get('[data-testid="include-synthetic"]').setValue(false)
    await settle()
    expect(net.callsTo(API).at(-1)!.url.searchParams.get('include_synthetic')).toBe('false')
  })

  it('asks for a quarter, a year or a range of days', async () => {
    const net = network()
    const { wrapper } = mountIn('zh-CN', EvaluationView)
    await settle()

    await wrapper.get('[data-testid="period-kind"]').setValue('quarter')
    await settle()
    expect(net.callsTo(API).at(-1)!.url.searchParams.get('period')).toBe('2026-Q4')
    await wrapper.get('[data-testid="period-quarter"]').setValue('2')
    await settle()
    expect(net.callsTo(API).at(-1)!.url.searchParams.get('period')).toBe('2026-Q2')
    await wrapper.get('[data-testid="period-kind"]').setValue('year')
    await settle()
    expect(net.callsTo(API).at(-1)!.url.searchParams.get('period')).toBe('2026')
    await wrapper.get('[data-testid="period-kind"]').setValue('range')
    await wrapper.get('[data-testid="period-from"]').setValue('2026-10-01')
    await wrapper.get('[data-testid="period-to"]').setValue('2026-11-30')
    await settle()
    expect(net.callsTo(API).at(-1)!.url.searchParams.get('period')).toBe('2026-10-01..2026-11-30')
  })

  it('shows why the server turned the period down', async () => {
    network({
      [API]: (url) =>
        url.searchParams.get('period')?.includes('..')
          ? jsonResponse(
              {
                title: '请求参数有误',
                status: 422,
                code: 'validation_failed',
                errors: [{ field: 'query.period', message: "'2026-11-30..2026-10-01' ends before it starts", type: 'value_error' }],
              },
              { status: 422, type: 'application/problem+json' },
            )
          : jsonResponse(evaluation()),
    })
    const { wrapper } = mountIn('zh-CN', EvaluationView)
    await settle()
    await wrapper.get('[data-testid="period-kind"]').setValue('range')
    await wrapper.get('[data-testid="period-from"]').setValue('2026-11-30')
    await wrapper.get('[data-testid="period-to"]').setValue('2026-10-01')
    await settle()

    expect(wrapper.get('[data-testid="evaluation-error"]').text()).toBe(
      "统计周期有误：'2026-11-30..2026-10-01' ends before it starts",
    )
    expect(wrapper.find('[data-testid="evaluation-table"]').exists()).toBe(false)
  })

  it('says so when the period has no cases, without the demo-data notice', async () => {
    network({ [API]: () => jsonResponse(evaluation({ rows: [], synthetic_cases: 0, total: row({ key: null, rank: null, composite: null, name_zh: '合计' }) })) })
    const { wrapper } = mountIn('zh-CN', EvaluationView)
    await settle()
    expect(wrapper.get('[data-testid="evaluation-empty"]').text()).toBe('该时段内没有案件。')
    expect(wrapper.find('[data-testid="evaluation-synthetic"]').exists()).toBe(false)
  })

  it('sorts by a column header, highest first, then the other way', async () => {
    network()
    const { wrapper } = mountIn('zh-CN', EvaluationView)
    await settle()

    await wrapper.get('[data-sort="satisfaction_rate"]').trigger('click')
    expect(texts(wrapper.findAll('tbody .ev-name'))).toEqual(['区城管局', '区水务局', '（未派遣）'])
    expect(wrapper.get('[data-sort="satisfaction_rate"]').element.closest('th')!.getAttribute('aria-sort')).toBe('descending')
    await wrapper.get('[data-sort="satisfaction_rate"]').trigger('click')
    expect(texts(wrapper.findAll('tbody .ev-name'))).toEqual(['区水务局', '区城管局', '（未派遣）'])
    // The total stays below, whatever the order.
    expect(wrapper.get('tfoot .ev-name').text()).toBe('合计')
  })

  it('exports the same query to Excel and saves the file', async () => {
    const createObjectURL = vi.spyOn(URL, 'createObjectURL').mockReturnValue('blob:evaluation')
    vi.spyOn(URL, 'revokeObjectURL').mockImplementation(() => undefined)
    const clicked: { href: string; download: string }[] = []
    vi.spyOn(HTMLAnchorElement.prototype, 'click').mockImplementation(function (this: HTMLAnchorElement) {
      clicked.push({ href: this.href, download: this.download })
    })
    const net = network({
      [EXPORT]: () =>
        new Response(new Blob(['PK-xlsx'], { type: XLSX }), {
          status: 200,
          headers: { 'content-type': XLSX, 'content-disposition': 'attachment; filename="cityos-evaluation-subdistrict-2026-12.xlsx"' },
        }),
    })
    const { wrapper } = mountIn('zh-CN', EvaluationView)
    await settle()
    await wrapper.get('[data-by="subdistrict"]').trigger('click')
    await settle()
    expect(wrapper.get('[data-testid="evaluation-export"]').text()).toBe('导出 Excel')
    await wrapper.get('[data-testid="evaluation-export"]').trigger('click')
    await settle()

    const call = net.callsTo(EXPORT)[0]!
    expect(call.headers.get('authorization')).toBe('Bearer access-1')
    expect(call.url.searchParams.get('period')).toBe('2026-12')
    expect(call.url.searchParams.get('by')).toBe('subdistrict')
    expect(call.url.searchParams.get('include_synthetic')).toBe('true')
    expect(createObjectURL).toHaveBeenCalledOnce()
    expect(clicked).toEqual([{ href: 'blob:evaluation', download: 'cityos-evaluation-subdistrict-2026-12.xlsx' }])
    expect(wrapper.find('[data-testid="evaluation-export-error"]').exists()).toBe(false)
  })

  it('reads in English', async () => {
    network()
    const { wrapper } = mountIn('en', EvaluationView)
    await settle()
    expect(texts(wrapper.findAll('tbody .ev-name'))).toEqual(['Water Bureau', 'Urban Management Bureau', '(not dispatched)'])
    expect(wrapper.get('[data-testid="evaluation-synthetic"]').text()).toBe('Includes 75 demo cases (synthetic data)')
    expect(wrapper.get('[data-testid="evaluation-export"]').text()).toBe('Export Excel')
    expect(wrapper.get('tfoot .ev-name').text()).toBe('Total')
  })
})

describe('evaluation helpers', () => {
  it('builds the period text from the picker', () => {
    const draft = defaultPeriod(new Date('2026-03-31T16:30:00Z'))
    expect(draft).toMatchObject({ kind: 'month', month: '2026-04', year: 2026, quarter: 2, from: '2026-04-01', to: '2026-04-01' })
    expect(periodText(draft)).toBe('2026-04')
    expect(periodText({ ...draft, kind: 'range', to: '' })).toBe('')
  })

  it('keeps rows without a value or rank last in either direction', () => {
    const rows = evaluation().rows
    const names = (descending: boolean) => sortRows(rows, { column: 'dispatch_accuracy', descending }, 'zh-CN').map((r) => r.name_zh)
    expect(names(true).at(-1)).toBe('（未派遣）')
    expect(names(false).at(-1)).toBe('（未派遣）')
  })
})
