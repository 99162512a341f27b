import { beforeEach, describe, expect, it } from 'vitest'
import PlansView from '../../../src/workbench/plans/PlansView.vue'
import WorkbenchApp from '../../../src/workbench/WorkbenchApp.vue'
import { stubNetwork, type Handler } from '../../auth/fixtures'
import { jsonResponse, meBody, metaBody, mountIn, settle, signInAs } from '../../helpers'
import { RUN_ID, detail, plan, run, warning } from './fixtures'

const API = '/api/v1/plans'
const RUNS = `${API}/runs`
const WARNINGS = `${API}/warnings`
const PROPOSED = run({
  id: 'r-proposed',
  status: 'proposed',
  started_at: null,
  started_by: null,
  trigger: { kind: 'alarm', alarm: 'flood.waterlogging', count: 3, severity: 'major' },
  created_at: '2026-05-01T08:30:00Z',
  tasks_by_status: {},
})
const DRILL = run({ id: 'r-drill', drill: true, level: 'III', trigger: { kind: 'manual', by: 'duty' } })
const CLOSED = run({ id: 'r-closed', status: 'closed', level: 'II', closed_at: '2026-04-20T12:00:00Z', closed_by: 'duty', tasks_by_status: { done: 5, cancelled: 1 } })
const DUTY = meBody({ username: 'duty', permissions: ['identity.profile.read', 'plans.read', 'plans.run', 'plans.warnings.post'] })
const READER = meBody({ username: 'reader', permissions: ['identity.profile.read', 'plans.read'] })

function network(routes: Record<string, Handler> = {}) {
  return stubNetwork({
    [API]: () => jsonResponse([plan(), plan({ code: 'typhoon', name: { zh: '台风应急预案', en: 'Typhoon plan' }, levels: ['III', 'II'], synthetic: false })]),
    [RUNS]: (url, init) => {
      if (init?.method === 'POST') return jsonResponse(detail({ id: 'r-new' }), { status: 201 })
      if (url.searchParams.get('status') === 'open') return jsonResponse({ items: [DRILL, run(), PROPOSED], next_cursor: null })
      return jsonResponse({ items: [DRILL, run(), PROPOSED, CLOSED], next_cursor: 'c2' })
    },
    [WARNINGS]: (_url, init) =>
      init?.method === 'POST'
        ? jsonResponse(warning({ id: 'w-2', type: '暴雨红色预警', runs: ['r-1', 'r-2'] }), { status: 201 })
        : jsonResponse({ items: [warning()], next_cursor: null }),
    ...routes,
  })
}

describe('应急预案 list', () => {
  beforeEach(async () => {
    await signInAs(DUTY)
  })

  it('shows the open runs, proposals first and marked, then past runs', async () => {
    const net = network()
    const { wrapper } = mountIn('zh-CN', PlansView)
    await settle()

    expect(net.callsTo(RUNS)[0]!.url.searchParams.get('status')).toBe('open')
    const open = wrapper.findAll('[data-testid="plans-open"] tbody tr')
    expect(open.map((row) => row.attributes('data-id'))).toEqual(['r-proposed', 'r-drill', RUN_ID])
    expect(open[0]!.classes()).toContain('pln-row')
    expect(open[0]!.attributes('data-status')).toBe('proposed')
    expect(open[0]!.text()).toContain('待值班员确认')
    expect(open[0]!.text()).toContain('告警触发：flood.waterlogging × 3')
    expect(open[1]!.text()).toContain('演练')
    expect(open[1]!.text()).toContain('Ⅲ级响应')
    expect(open[1]!.text()).toContain('duty 人工启动')
    expect(open[2]!.text()).toContain('外部预警：暴雨黄色预警')
    expect(open[2]!.text()).toContain('进行中 1 · 已完成 1 · 已撤销 0')
    expect(open[2]!.find('a').attributes('href')).toBe(`#/plans/${RUN_ID}`)

    const past = wrapper.findAll('[data-testid="plans-past"] tbody tr')
    expect(past.map((row) => row.attributes('data-id'))).toEqual(['r-closed'])
    expect(past[0]!.text()).toContain('已结束')
    expect(past[0]!.text()).toContain('Ⅱ级响应')
    // Beijing time.
    expect(past[0]!.text()).toContain('2026-04-20 20:00:00')
    expect(wrapper.find('[data-testid="plans-more"]').exists()).toBe(true)
  })

  it('starts a plan and opens its command view', async () => {
    const net = network()
    const { wrapper } = mountIn('zh-CN', PlansView)
    await settle()

    const form = wrapper.get('[data-testid="plan-launch"]')
    expect(form.findAll('select[name="plan"] option').map((option) => option.text())).toEqual([
      '罗湖区暴雨内涝应急预案（演示）（演示数据）',
      '台风应急预案',
    ])
    await form.get('select[name="plan"]').setValue('typhoon')
    // Only the levels the plan has.
    expect(form.findAll('select[name="level"] option').map((option) => option.text())).toEqual(['Ⅲ级响应', 'Ⅱ级响应'])
    await form.get('select[name="level"]').setValue('II')
    await form.get('input[name="drill"]').setValue(true)
    await form.get('textarea[name="comment"]').setValue('  台风“海葵”逼近  ')
    await form.trigger('submit')
    await settle()

    const call = net.callsTo(RUNS).find((item) => item.method === 'POST')!
    expect(JSON.parse(call.body)).toEqual({ plan: 'typhoon', level: 'II', drill: true, comment: '台风“海葵”逼近' })
    expect(window.location.hash).toBe('#/plans/r-new')
  })

  it('says why a plan cannot start, in the server’s words', async () => {
    network({
      [RUNS]: (_url, init) =>
        init?.method === 'POST'
          ? jsonResponse(
              { title: '该预案已在启动中，请在现有记录上操作', status: 409, code: 'plan_run_open', detail: "plan 'rainstorm' already has an open run" },
              { status: 409, type: 'application/problem+json' },
            )
          : jsonResponse({ items: [], next_cursor: null }),
    })
    const { wrapper } = mountIn('zh-CN', PlansView)
    await settle()
    await wrapper.get('[data-testid="plan-launch"]').trigger('submit')
    await settle()

    expect(wrapper.get('[data-testid="plan-launch-error"]').text()).toBe('该预案已在启动中，请在现有记录上操作')
    expect(window.location.hash).toBe('')
  })

  it('lists external warnings and posts one', async () => {
    const net = network()
    const { wrapper } = mountIn('zh-CN', PlansView)
    await settle()

    const panel = wrapper.get('[data-testid="plan-warnings"]')
    expect(panel.text()).toContain('暴雨黄色预警')
    expect(panel.text()).toContain('深圳市气象台')
    expect(panel.text()).toContain('2026-05-01 15:55:00')
    expect(panel.text()).toContain('关联预案 1 个')

    await panel.get('input[name="type"]').setValue('暴雨红色预警')
    await panel.get('input[name="source"]').setValue('深圳市气象台')
    await panel.get('[data-testid="warning-form"]').trigger('submit')
    await settle()

    const call = net.callsTo(WARNINGS).find((item) => item.method === 'POST')!
    expect(JSON.parse(call.body)).toEqual({ type: '暴雨红色预警', source: '深圳市气象台' })
    expect(wrapper.get('[data-testid="warning-posted"]').text()).toBe('已录入预警，关联预案 2 个。')
    // The runs it proposed or started show at once.
    expect(net.callsTo(RUNS).filter((item) => item.url.searchParams.get('status') === 'open')).toHaveLength(2)
  })

  it('shows no forms to those who may only read', async () => {
    await signInAs(READER)
    const net = network()
    const { wrapper } = mountIn('en', PlansView)
    await settle()

    expect(wrapper.findAll('[data-testid="plans-open"] tbody tr')).toHaveLength(3)
    expect(wrapper.get('[data-testid="plans-open"]').text()).toContain('Awaiting the duty officer')
    expect(wrapper.find('[data-testid="plan-launch"]').exists()).toBe(false)
    expect(wrapper.find('[data-testid="warning-form"]').exists()).toBe(false)
    expect(wrapper.get('[data-testid="plan-warnings"]').text()).toContain('External warnings')
    // The plans are read only to start one.
    expect(net.callsTo(API)).toHaveLength(0)
  })
})

describe('应急预案 in the side navigation', () => {
  it('is shown to holders of plans.read, under 应急指挥', async () => {
    await signInAs(READER)
    stubNetwork({
      '/api/v1/meta': () => jsonResponse(metaBody()),
      [RUNS]: () => jsonResponse({ items: [], next_cursor: null }),
      [WARNINGS]: () => jsonResponse({ items: [], next_cursor: null }),
    })
    const { wrapper } = mountIn('zh-CN', WorkbenchApp)
    await settle()
    expect(wrapper.get('[data-testid="nav-emergency"]').text()).toBe('应急指挥')
    expect(wrapper.get('[data-nav="plans"]').text()).toBe('应急预案')
    expect(wrapper.get('[data-nav="plans"]').attributes('href')).toBe('#/plans')
  })

  it('is hidden without it, and the page refuses', async () => {
    await signInAs(meBody({ permissions: ['identity.profile.read'] }))
    stubNetwork({ '/api/v1/meta': () => jsonResponse(metaBody()) })
    const { wrapper } = mountIn('en', WorkbenchApp)
    window.location.hash = '#/plans'
    window.dispatchEvent(new HashChangeEvent('hashchange'))
    await settle()
    expect(wrapper.find('[data-nav="plans"]').exists()).toBe(false)
    expect(wrapper.get('h1').text()).toBe('Contingency plans')
    expect(wrapper.find('[data-testid="forbidden"]').exists()).toBe(true)
  })
})
