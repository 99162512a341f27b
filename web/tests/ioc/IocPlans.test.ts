import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { ResourceFeature, ResourceProperties } from '../../src/ioc/emergency'
import IocApp from '../../src/ioc/IocApp.vue'
import type { Run } from '../../src/workbench/plans/plans'
import { stubNetwork } from '../auth/fixtures'
import { jsonResponse, meBody, metaBody, mountIn, settle, signInAs } from '../helpers'
import { detail, liveStream, run, RUN_ID } from '../workbench/plans/fixtures'

const RUNS = '/api/v1/plans/runs'
const RESOURCES = '/api/v1/plans/resources'
const DRILL_ID = '0196a000-0000-7000-8000-000000000002'
const PROPOSED_ID = '0196a000-0000-7000-8000-000000000003'
const AREA = { type: 'Polygon', coordinates: [[[114.11, 22.55], [114.13, 22.55], [114.13, 22.57], [114.11, 22.57], [114.11, 22.55]]] }

function resource(properties: Partial<ResourceProperties> = {}, at: [number, number] = [114.12, 22.56]): ResourceFeature {
  const props: ResourceProperties = {
    code: 'DT-01',
    type: 'drainage-team',
    kind: 'team',
    name: { zh: '罗湖区排水抢险一队（演示）', en: 'Drainage response team 1 (demo)' },
    department: 'water-affairs',
    capacity: null,
    quantity: null,
    unit: null,
    status: 'available',
    run_id: null,
    region_code: '440303001',
    synthetic: true,
    ...properties,
  }
  return { type: 'Feature', id: props.code, geometry: { type: 'Point', coordinates: at }, properties: props }
}

const RESOURCE_LIST = [
  resource({ status: 'dispatched', run_id: RUN_ID }),
  resource({ code: 'PT-01', type: 'pump-truck', kind: 'vehicle', name: { zh: '移动泵车 1 号（演示）', en: 'Pump truck 1 (demo)' } }, [114.14, 22.55]),
  resource({ code: 'SB-01', type: 'sandbags', kind: 'material', name: { zh: '沙袋储备点（演示）', en: 'Sandbag store (demo)' }, quantity: 2000, unit: '袋', status: 'unavailable' }, [114.1, 22.58]),
  resource({ code: 'SH-01', type: 'shelter', kind: 'shelter', name: { zh: '翠竹中学避难场所（演示）', en: 'Cuizhu School shelter (demo)' }, department: null, capacity: 800 }, [114.13, 22.57]),
]

/** Three open runs: a level II response with an area, a drill and a proposed one. */
function openRuns(): Run[] {
  return [
    run({ level: 'II', area: AREA, tasks_by_status: { open: 2, done: 1, cancelled: 1 } }),
    run({ id: DRILL_ID, level: 'III', drill: true, name: { zh: '地质灾害应急预案（演示）', en: 'Geological hazard plan (demo)' } }),
    run({
      id: PROPOSED_ID,
      level: 'IV',
      status: 'proposed',
      started_at: null,
      started_by: null,
      tasks_by_status: {},
      created_at: '2026-05-01T08:10:00Z',
      area: { type: 'Point', coordinates: [114.125, 22.565] },
    }),
  ]
}

const VIEWER = ['identity.profile.read', 'plans.read', 'live.read']

describe('IOC plans in response', () => {
  let runs: Run[] = []
  let plans: ReturnType<typeof liveStream>

  beforeEach(async () => {
    await signInAs(meBody({ permissions: VIEWER }), 'ioc')
    runs = openRuns()
    plans = liveStream()
  })

  afterEach(() => {
    vi.useRealTimers()
  })

  function network() {
    // Alarms keep their own stream; only the plans' stream is written to here.
    const idle = new ReadableStream<Uint8Array>()
    return stubNetwork({
      '/api/v1/meta': () => jsonResponse(metaBody()),
      '/api/v1/live': (url) =>
        url.searchParams.getAll('types').includes('plan.*')
          ? plans.response()
          : new Response(idle, { headers: { 'content-type': 'text/event-stream' } }),
      [RUNS]: () => jsonResponse({ items: runs, next_cursor: null }),
      [RESOURCES]: () => jsonResponse({ type: 'FeatureCollection', features: RESOURCE_LIST }),
      [`${RUNS}/${RUN_ID}`]: () =>
        jsonResponse({
          ...detail({ level: 'II', area: AREA }),
          resources: [RESOURCE_LIST[0]],
        }),
    })
  }

  async function mounted(locale: 'zh-CN' | 'en' = 'zh-CN') {
    const net = network()
    const { wrapper } = mountIn(locale, IocApp)
    await settle()
    await settle()
    return { net, wrapper }
  }

  it('lists the open runs the API sends, with level, progress and start time', async () => {
    const { net, wrapper } = await mounted()

    const asked = net.callsTo(RUNS)[0]!.url.searchParams
    expect(asked.get('status')).toBe('open')
    expect(asked.get('limit')).toBe('20')
    const panel = wrapper.get('[data-testid="ioc-plans"]')
    expect(panel.get('.ioc-panel__title').text()).toBe('预案响应')
    expect(wrapper.find('[aria-label="应急与三防"]').exists()).toBe(false)
    const items = panel.findAll('.ioc-plan')
    expect(items.map((item) => item.attributes('data-id'))).toEqual([RUN_ID, DRILL_ID, PROPOSED_ID])
    expect(items.map((item) => item.get('[data-testid="ioc-plan-level"]').text())).toEqual(['Ⅱ级', 'Ⅲ级', 'Ⅳ级'])
    expect(items[0]!.get('[data-testid="ioc-plan-level"]').attributes('data-level')).toBe('II')
    expect(items[0]!.text()).toContain('罗湖区暴雨内涝应急预案（演示）')
    // Cancelled tasks are out of the count: one done of three to do.
    expect(items[0]!.get('[data-testid="ioc-plan-progress"]').text()).toBe('任务 1/3')
    expect(items[0]!.text()).toContain('启动于 05-01 16:02:00')
    expect(panel.get('[data-testid="ioc-plans-count"]').text()).toBe('3 项')
  })

  it('marks a drill and a run awaiting confirmation', async () => {
    const { wrapper } = await mounted()

    const [active, drill, proposed] = wrapper.findAll('.ioc-plan')
    expect(active!.find('[data-testid="ioc-plan-drill"]').exists()).toBe(false)
    expect(active!.find('[data-testid="ioc-plan-proposed"]').exists()).toBe(false)
    expect(drill!.get('[data-testid="ioc-plan-drill"]').text()).toBe('演练')
    expect(proposed!.get('[data-testid="ioc-plan-proposed"]').text()).toBe('待确认')
    expect(proposed!.text()).toContain('提出于 05-01 16:10:00')
    expect(proposed!.get('[data-testid="ioc-plan-progress"]').text()).toBe('任务 0/0')
  })

  it('says so when no plan is in response', async () => {
    runs = []
    const { wrapper } = await mounted()
    expect(wrapper.get('[data-testid="ioc-plans-none"]').text()).toBe('当前无预案响应')
    expect(wrapper.findAll('.ioc-plan')).toHaveLength(0)
  })

  it('opens a card with the tasks, the overdue one flagged, and the latest steps', async () => {
    const { net, wrapper } = await mounted()
    await wrapper.get(`.ioc-plan[data-id="${RUN_ID}"] button`).trigger('click')
    await settle()

    expect(net.callsTo(`${RUNS}/${RUN_ID}`)).toHaveLength(1)
    const card = wrapper.get('[data-testid="ioc-run-card"]')
    expect(card.text()).toContain('罗湖区暴雨内涝应急预案（演示）')
    const tasks = card.findAll('.ioc-run-task')
    expect(tasks.map((item) => item.attributes('data-id'))).toEqual(['t-1', 't-2'])
    expect(tasks[0]!.attributes('data-overdue')).toBe('true')
    expect(tasks[0]!.get('[data-testid="ioc-task-overdue"]').text()).toBe('已超期')
    expect(tasks[0]!.text()).toContain('巡查易涝点并开启监测')
    expect(tasks[0]!.text()).toContain('处置中')
    expect(tasks[0]!.text()).toContain('时限 05-01 16:32:00')
    expect(tasks[1]!.find('[data-testid="ioc-task-overdue"]').exists()).toBe(false)
    expect(tasks[1]!.text()).toContain('已完成')
    // Newest first, as a wall screen reads them.
    const steps = card.findAll('[data-testid="ioc-run-timeline"] li')
    expect(steps.map((step) => step.attributes('data-kind'))).toEqual(['task_sign', 'notified', 'task_sent', 'started', 'proposed'])
    expect(card.get('[data-testid="ioc-run-resources"]').text()).toContain('罗湖区排水抢险一队（演示）')

    await card.get('.ioc-card__close').trigger('click')
    expect(wrapper.find('[data-testid="ioc-run-card"]').exists()).toBe(false)
  })

  it('reads the runs and resources again shortly after plan events, once per burst, and every 30 s', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] })
    const { net, wrapper } = await mounted()
    expect(net.callsTo('/api/v1/live').some((call) => call.url.searchParams.getAll('types').includes('plan.*'))).toBe(true)
    await wrapper.get(`.ioc-plan[data-id="${RUN_ID}"] button`).trigger('click')
    await settle()
    expect(net.callsTo(RUNS)).toHaveLength(1)
    expect(net.callsTo(`${RUNS}/${RUN_ID}`)).toHaveLength(1)

    runs = [run({ level: 'I', area: AREA, tasks_by_status: { open: 3, done: 1 } })]
    plans.event('plan.level_changed', RUN_ID, { level: 'I' })
    plans.event('plan.task_added', RUN_ID)
    await settle()
    expect(net.callsTo(RUNS)).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(1_000)
    await settle()

    expect(net.callsTo(RUNS)).toHaveLength(2)
    expect(net.callsTo(RESOURCES)).toHaveLength(2)
    expect(net.callsTo(`${RUNS}/${RUN_ID}`)).toHaveLength(2)
    expect(wrapper.findAll('.ioc-plan')).toHaveLength(1)
    expect(wrapper.get('[data-testid="ioc-plan-level"]').text()).toBe('Ⅰ级')

    await vi.advanceTimersByTimeAsync(30_000)
    await settle()
    expect(net.callsTo(RUNS)).toHaveLength(3)
  })

  it('draws resources by kind in their status colour, and the runs’ areas by level', async () => {
    const { wrapper } = await mounted()

    const marker = (code: string) => wrapper.get(`.ioc-resource[data-code="${code}"]`)
    expect(wrapper.findAll('.ioc-map .ioc-resource[data-code]')).toHaveLength(4)
    expect(marker('DT-01').attributes('data-status')).toBe('dispatched')
    expect(marker('DT-01').attributes('style')).toContain('--status: #f59e0b')
    expect(marker('PT-01').attributes('data-status')).toBe('available')
    expect(marker('PT-01').attributes('style')).toContain('--status: #22c55e')
    expect(marker('SB-01').attributes('style')).toContain('--status: #94a3b8')
    expect(marker('SH-01').classes()).toContain('ioc-resource--shelter')

    const chips = wrapper.findAll('[data-testid="ioc-layer-filter"] button')
    expect(chips.map((chip) => [chip.attributes('data-layer'), chip.get('.ioc-chip__count').text()])).toEqual([
      ['team', '1'],
      ['vehicle', '1'],
      ['material', '1'],
      ['shelter', '1'],
      ['area', '2'],
    ])
    const area = wrapper.get(`path[data-run="${RUN_ID}"]`)
    expect(area.attributes('data-level')).toBe('II')
    expect(area.attributes('stroke')).toBe('#f97316')
    // An area given as a point pulses; a proposed run's is marked as such.
    const point = wrapper.get(`.ioc-run-point[data-run="${PROPOSED_ID}"]`)
    expect(point.attributes('data-status')).toBe('proposed')
    expect(point.attributes('style')).toContain('--level: #3b82f6')

    await wrapper.get('[data-testid="ioc-layer-filter"] [data-layer="team"]').trigger('click')
    expect(wrapper.find('.ioc-resource[data-code="DT-01"]').exists()).toBe(false)
    expect(wrapper.find('.ioc-resource[data-code="PT-01"]').exists()).toBe(true)
    await wrapper.get('[data-testid="ioc-layer-filter"] [data-layer="area"]').trigger('click')
    expect(wrapper.find(`path[data-run="${RUN_ID}"]`).exists()).toBe(false)
    expect(wrapper.find('.ioc-run-point').exists()).toBe(false)
  })

  it('opens a run’s card from its point on the map', async () => {
    const { wrapper } = await mounted()
    wrapper.get(`.ioc-run-point[data-run="${PROPOSED_ID}"]`).element.dispatchEvent(new MouseEvent('click', { bubbles: true }))
    await settle()
    expect(wrapper.get('[data-testid="ioc-run-card"]').attributes('data-id')).toBe(PROPOSED_ID)
    expect(wrapper.get(`.ioc-plan[data-id="${PROPOSED_ID}"] button`).attributes('aria-pressed')).toBe('true')
  })

  it('speaks English on an English screen', async () => {
    const { wrapper } = await mounted('en')
    const panel = wrapper.get('[data-testid="ioc-plans"]')
    expect(panel.get('.ioc-panel__title').text()).toBe('Plans in response')
    const [active, drill, proposed] = panel.findAll('.ioc-plan')
    expect(active!.text()).toContain('Rainstorm and waterlogging plan (demo)')
    expect(active!.text()).toContain('Level II')
    expect(active!.text()).toContain('tasks 1/3')
    expect(drill!.get('[data-testid="ioc-plan-drill"]').text()).toBe('Drill')
    expect(proposed!.get('[data-testid="ioc-plan-proposed"]').text()).toBe('Awaiting confirmation')
    expect(wrapper.findAll('[data-testid="ioc-layer-filter"] button').map((chip) => chip.text().replace(/\s*\d+$/, ''))).toEqual([
      'Teams',
      'Vehicles',
      'Materials',
      'Shelters',
      'Affected areas',
    ])
  })

  it('gives a shelter’s capacity in its popup', async () => {
    const { wrapper } = await mounted()
    marker(wrapper, 'SH-01').dispatchEvent(new MouseEvent('click', { bubbles: true }))
    await settle()

    const popup = wrapper.get('.ioc-popup [data-code="SH-01"]')
    expect(popup.text()).toContain('翠竹中学避难场所（演示）')
    expect(popup.text()).toContain('避难场所 · 可调用')
    expect(popup.text()).toContain('可容纳 800 人')
  })

  it('shows nothing of plans without plans.read, and asks for nothing', async () => {
    await signInAs(meBody({ permissions: ['identity.profile.read', 'live.read'] }), 'ioc')
    const { net, wrapper } = await mounted()

    expect(wrapper.find('[data-testid="ioc-plans"]').exists()).toBe(false)
    expect(wrapper.find('[data-testid="ioc-layer-filter"]').exists()).toBe(false)
    expect(wrapper.find('.ioc-resource').exists()).toBe(false)
    expect(wrapper.find('path[data-run]').exists()).toBe(false)
    expect(net.calls.filter((call) => call.url.pathname.startsWith('/api/v1/plans'))).toHaveLength(0)
    expect(net.callsTo('/api/v1/live').some((call) => call.url.searchParams.getAll('types').includes('plan.*'))).toBe(false)
  })
})

function marker(wrapper: ReturnType<typeof mountIn>['wrapper'], code: string): Element {
  return wrapper.get(`.ioc-resource[data-code="${code}"]`).element
}
