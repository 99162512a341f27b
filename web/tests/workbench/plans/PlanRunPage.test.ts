import { beforeEach, describe, expect, it } from 'vitest'
import PlansView from '../../../src/workbench/plans/PlansView.vue'
import { stubNetwork, type Handler } from '../../auth/fixtures'
import { jsonResponse, meBody, mountIn, settle, signInAs } from '../../helpers'
import { RUN_ID, detail, liveStream, task } from './fixtures'

const PATH = `/api/v1/plans/runs/${RUN_ID}`
const DUTY = meBody({ username: 'duty', permissions: ['identity.profile.read', 'plans.read', 'plans.run'] })
const READER = meBody({ username: 'reader', permissions: ['identity.profile.read', 'plans.read'] })

const conflict = (title: string, code: string): Response =>
  jsonResponse({ title, status: 409, code, detail: 'developer text' }, { status: 409, type: 'application/problem+json' })

function network(current = { value: detail() }, routes: Record<string, Handler> = {}) {
  const answer = (): Response => jsonResponse(current.value)
  return stubNetwork({
    [PATH]: answer,
    [`${PATH}/confirm`]: () => {
      current.value = { ...current.value, status: 'active', started_at: '2026-05-01T08:40:00Z', started_by: 'duty' }
      return answer()
    },
    [`${PATH}/dismiss`]: (_url, init) => {
      const reason = JSON.parse(String(init?.body)).reason as string
      current.value = { ...current.value, status: 'dismissed', summary: reason, closed_at: '2026-05-01T08:40:00Z', closed_by: 'duty' }
      return answer()
    },
    [`${PATH}/level`]: (_url, init) => {
      const body = JSON.parse(String(init?.body)) as { level: 'III'; reason: string }
      current.value = {
        ...current.value,
        level: body.level,
        timeline: [...current.value.timeline, { id: 9, at: '2026-05-01T08:45:00Z', kind: 'level_raised', actor: 'duty', task_id: null, data: { from: 'IV', to: body.level, reason: body.reason } }],
      }
      return answer()
    },
    [`${PATH}/tasks`]: () => {
      current.value = { ...current.value, tasks: [...current.value.tasks, task({ id: 't-3', department: 'traffic-police', title: { zh: '疏导交通', en: 'Direct traffic' }, within: '2 hours', overdue: false, state: 'assigned', added_by: 'duty', report: null })] }
      return answer()
    },
    [`${PATH}/close`]: (_url, init) => {
      const summary = JSON.parse(String(init?.body)).summary as string
      current.value = { ...current.value, status: 'closed', summary, closed_at: '2026-05-01T10:00:00Z', closed_by: 'duty' }
      return answer()
    },
    ...routes,
  })
}

async function open(locale: 'zh-CN' | 'en' = 'zh-CN') {
  window.location.hash = `#/plans/${RUN_ID}`
  const { wrapper } = mountIn(locale, PlansView)
  await settle()
  return wrapper
}

describe('应急预案 command view', () => {
  beforeEach(async () => {
    await signInAs(DUTY)
  })

  it('shows the run, its tasks with deadlines, and the timeline oldest first', async () => {
    network()
    const wrapper = await open()

    expect(wrapper.get('[data-testid="run-name"]').text()).toBe('罗湖区暴雨内涝应急预案（演示）')
    expect(wrapper.get('[data-testid="run-level"]').text()).toBe('Ⅳ级响应')
    expect(wrapper.get('[data-testid="run-status"]').text()).toBe('响应中')
    expect(wrapper.find('[data-testid="run-drill"]').exists()).toBe(false)
    // Beijing time, with who did it.
    expect(wrapper.get('[data-testid="run-started"]').text()).toBe('2026-05-01 16:02:00（duty）')
    expect(wrapper.get('[data-testid="run-closed"]').text()).toBe('—')
    expect(wrapper.text()).toContain('外部预警：暴雨黄色预警')

    const rows = wrapper.findAll('[data-testid="run-tasks"] tbody tr')
    expect(rows).toHaveLength(2)
    // The unit by its name; the code stays in the cell's title.
    expect(rows[0]!.text()).toContain('区水务局')
    expect(rows[0]!.find('td').attributes('title')).toBe('water-affairs')
    expect(rows[0]!.text()).toContain('巡查易涝点并开启监测')
    expect(rows[0]!.text()).toContain('反馈：已巡查点位数及积水情况')
    expect(rows[0]!.text()).toContain('2026-05-01 16:32:00')
    expect(rows[0]!.text()).toContain('30 分钟内完成')
    expect(rows[0]!.text()).toContain('处置中')
    expect(rows[0]!.get('.pln-overdue').text()).toContain('已超期')
    expect(rows[1]!.find('.pln-overdue').exists()).toBe(false)
    expect(rows[1]!.text()).toContain('已完成')

    const events = wrapper.findAll('[data-testid="run-timeline"] li')
    expect(events.map((item) => item.find('.pln-timeline__kind').text())).toEqual([
      '提出启动',
      '启动响应',
      '下发联动任务',
      '发送通知',
      '任务签收',
    ])
    expect(events[0]!.text()).toContain('系统')
    expect(events[0]!.text()).toContain('外部预警：暴雨黄色预警')
    expect(events[2]!.text()).toContain('water-affairs：巡查易涝点并开启监测')
    expect(events[3]!.text()).toContain('已通知 2 人（duty-officer）')
  })

  it('reads in English', async () => {
    network({ value: detail({ drill: true }) })
    const wrapper = await open('en')
    expect(wrapper.get('[data-testid="run-level"]').text()).toBe('Level IV response')
    expect(wrapper.get('[data-testid="run-drill"]').text()).toBe('Drill')
    expect(wrapper.get('[data-testid="run-name"]').text()).toBe('Rainstorm and waterlogging plan (demo)')
    expect(wrapper.findAll('[data-testid="run-timeline"] .pln-timeline__kind').map((item) => item.text())).toEqual([
      'Proposed',
      'Response started',
      'Task sent',
      'Notified',
      'Task signed for',
    ])
    expect(wrapper.get('[data-testid="run-tasks"]').text()).toContain('Being handled')
    expect(wrapper.get('[data-testid="run-tasks"]').text()).toContain('within 1 hour')
    // The timeline names a task in the page's language.
    expect(wrapper.findAll('[data-testid="run-timeline"] li')[2]!.text()).toContain('water-affairs: Patrol flood-prone points and watch the gauges')
  })

  it('confirms a proposal, at another level when chosen', async () => {
    const net = network({ value: detail({ status: 'proposed', started_at: null, started_by: null }) })
    const wrapper = await open()
    expect(wrapper.get('[data-testid="run-proposed"]').text()).toContain('等待值班员确认')
    expect(wrapper.find('[data-testid="run-close"]').exists()).toBe(false)

    await wrapper.get('[data-testid="run-confirm"]').trigger('click')
    await wrapper.get('select[name="level"]').setValue('III')
    await wrapper.get('[data-testid="run-form"]').trigger('submit')
    await settle()

    const call = net.callsTo(`${PATH}/confirm`)[0]!
    expect(call.method).toBe('POST')
    expect(JSON.parse(call.body)).toEqual({ level: 'III' })
    expect(wrapper.get('[data-testid="run-done"]').text()).toBe('已确认启动，联动任务已下发。')
    expect(wrapper.get('[data-testid="run-status"]').text()).toBe('响应中')
    expect(wrapper.find('[data-testid="run-proposed"]').exists()).toBe(false)
  })

  it('confirms at the proposed level with an empty body', async () => {
    const net = network({ value: detail({ status: 'proposed', started_at: null, started_by: null }) })
    const wrapper = await open()
    await wrapper.get('[data-testid="run-confirm"]').trigger('click')
    await wrapper.get('[data-testid="run-form"]').trigger('submit')
    await settle()
    expect(JSON.parse(net.callsTo(`${PATH}/confirm`)[0]!.body)).toEqual({})
  })

  it('dismisses a proposal only with a reason, and shows the reason after', async () => {
    const net = network({ value: detail({ status: 'proposed', started_at: null, started_by: null }) })
    const wrapper = await open()
    await wrapper.get('[data-testid="run-dismiss"]').trigger('click')
    await wrapper.get('[data-testid="run-form"]').trigger('submit')
    await settle()
    expect(net.callsTo(`${PATH}/dismiss`)).toHaveLength(0)
    expect(wrapper.get('[data-testid="run-form"]').text()).toContain('必填')

    await wrapper.get('textarea[name="reason"]').setValue(' 积水已自行退去 ')
    await wrapper.get('[data-testid="run-form"]').trigger('submit')
    await settle()
    expect(JSON.parse(net.callsTo(`${PATH}/dismiss`)[0]!.body)).toEqual({ reason: '积水已自行退去' })
    expect(wrapper.get('[data-testid="run-status"]').text()).toBe('已否决')
    expect(wrapper.get('[data-testid="run-summary"]').text()).toBe('积水已自行退去')
    // An ended run takes no more steps.
    expect(wrapper.find('[data-testid="run-actions"]').exists()).toBe(false)
  })

  it('raises the level with a reason', async () => {
    const net = network()
    const wrapper = await open()
    expect(wrapper.find('[data-testid="run-lower"]').exists()).toBe(false)
    await wrapper.get('[data-testid="run-raise"]').trigger('click')
    expect(wrapper.findAll('select[name="level"] option').map((option) => option.attributes('value'))).toEqual(['III', 'II', 'I'])
    await wrapper.get('textarea[name="reason"]').setValue('多处积水超过 30 厘米')
    await wrapper.get('[data-testid="run-form"]').trigger('submit')
    await settle()

    expect(JSON.parse(net.callsTo(`${PATH}/level`)[0]!.body)).toEqual({ level: 'III', reason: '多处积水超过 30 厘米' })
    expect(wrapper.get('[data-testid="run-level"]').text()).toBe('Ⅲ级响应')
    const last = wrapper.findAll('[data-testid="run-timeline"] li').at(-1)!
    expect(last.text()).toContain('响应升级')
    expect(last.text()).toContain('Ⅳ级响应 → Ⅲ级响应')
    expect(last.text()).toContain('原因：多处积水超过 30 厘米')
  })

  it('adds a task with its deadline', async () => {
    const net = network()
    const wrapper = await open()
    await wrapper.get('[data-testid="run-add-task"]').trigger('click')
    await wrapper.get('input[name="department"]').setValue('traffic-police')
    await wrapper.get('input[name="do"]').setValue('疏导交通')
    await wrapper.get('input[name="amount"]').setValue('2')
    await wrapper.get('select[name="unit"]').setValue('hours')
    await wrapper.get('[data-testid="run-form"]').trigger('submit')
    await settle()

    expect(JSON.parse(net.callsTo(`${PATH}/tasks`)[0]!.body)).toEqual({ department: 'traffic-police', do: '疏导交通', within: '2 hours' })
    expect(wrapper.findAll('[data-testid="run-tasks"] tbody tr')).toHaveLength(3)
    expect(wrapper.get('[data-testid="run-tasks"] tr[data-id="t-3"]').text()).toContain('duty 追加')
  })

  it('closes the run with its summary', async () => {
    const net = network()
    const wrapper = await open()
    await wrapper.get('[data-testid="run-close"]').trigger('click')
    await wrapper.get('textarea[name="summary"]').setValue('积水排除，道路恢复通行。')
    await wrapper.get('[data-testid="run-form"]').trigger('submit')
    await settle()

    expect(JSON.parse(net.callsTo(`${PATH}/close`)[0]!.body)).toEqual({ summary: '积水排除，道路恢复通行。' })
    expect(wrapper.get('[data-testid="run-status"]').text()).toBe('已结束')
    expect(wrapper.get('[data-testid="run-closed"]').text()).toBe('2026-05-01 18:00:00（duty）')
    expect(wrapper.get('[data-testid="run-summary"]').text()).toBe('积水排除，道路恢复通行。')
  })

  it('shows the server’s title when a step is refused', async () => {
    network(undefined, { [`${PATH}/level`]: () => conflict('该预案未处于响应状态，不能执行此操作', 'plan_run_not_active') })
    const wrapper = await open()
    await wrapper.get('[data-testid="run-raise"]').trigger('click')
    await wrapper.get('textarea[name="reason"]').setValue('升级')
    await wrapper.get('[data-testid="run-form"]').trigger('submit')
    await settle()

    expect(wrapper.get('[data-testid="run-error"]').text()).toBe('该预案未处于响应状态，不能执行此操作')
    // The form stays, to try again or cancel.
    expect(wrapper.find('[data-testid="run-form"]').exists()).toBe(true)
  })

  it('puts a refused field’s message next to it', async () => {
    network(undefined, {
      [`${PATH}/tasks`]: () =>
        jsonResponse(
          { title: '部门不存在', status: 422, code: 'department_unknown', errors: [{ field: 'department', message: 'unknown department' }] },
          { status: 422, type: 'application/problem+json' },
        ),
    })
    const wrapper = await open()
    await wrapper.get('[data-testid="run-add-task"]').trigger('click')
    await wrapper.get('input[name="department"]').setValue('nobody')
    await wrapper.get('input[name="do"]').setValue('某项任务')
    await wrapper.get('[data-testid="run-form"]').trigger('submit')
    await settle()
    expect(wrapper.get('[data-testid="run-error"]').text()).toBe('部门不存在')
    expect(wrapper.get('[data-testid="run-form"] .adm-field__error').text()).toBe('unknown department')
  })

  it('shows no steps to those who may only read', async () => {
    await signInAs(READER)
    network({ value: detail({ status: 'proposed' }) })
    const wrapper = await open()
    expect(wrapper.get('[data-testid="run-name"]').text()).toBe('罗湖区暴雨内涝应急预案（演示）')
    expect(wrapper.find('[data-testid="run-actions"]').exists()).toBe(false)
    expect(wrapper.findAll('button').map((button) => button.text())).toEqual([])
  })

  it('says when the run is out of reach', async () => {
    network(undefined, {
      [PATH]: () =>
        jsonResponse({ title: '预案启动记录不存在或不在您的管辖范围内', status: 404, code: 'plan_run_not_found' }, { status: 404, type: 'application/problem+json' }),
    })
    const wrapper = await open()
    expect(wrapper.get('[data-testid="run-load-error"]').text()).toBe('预案启动记录不存在或不在您的管辖范围内')
  })
})

describe('应急预案 command view, live', () => {
  it('reads the run again when an event about it arrives, and only then', async () => {
    await signInAs(meBody({ permissions: ['identity.profile.read', 'plans.read', 'live.read'] }))
    const live = liveStream()
    const current = { value: detail() }
    const net = network(current, { '/api/v1/live': () => live.response() })
    const wrapper = await open()
    expect(net.callsTo('/api/v1/live')[0]!.url.searchParams.getAll('types')).toEqual(['plan.*'])
    expect(wrapper.get('[data-testid="run-live"]').text()).toBe('实时更新')
    expect(net.callsTo(PATH)).toHaveLength(1)

    live.event('plan.task_updated', 'another-run')
    await settle()
    expect(net.callsTo(PATH)).toHaveLength(1)

    current.value = { ...current.value, tasks: current.value.tasks.map((item) => ({ ...item, state: 'done' as const, status: 'done' as const, overdue: false })) }
    live.event('plan.task_updated', RUN_ID)
    await settle()
    expect(net.callsTo(PATH)).toHaveLength(2)
    expect(wrapper.findAll('[data-testid="run-tasks"] tbody tr[data-state="done"]')).toHaveLength(2)
  })
})
