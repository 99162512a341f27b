import type { ExternalWarning, Plan, Run, RunDetail, RunEvent, RunTask } from '../../../src/workbench/plans/plans'

export const RUN_ID = '0196a000-0000-7000-8000-000000000001'

export function plan(overrides: Partial<Plan> = {}): Plan {
  return {
    code: 'rainstorm',
    name: { zh: '罗湖区暴雨内涝应急预案（演示）', en: 'Rainstorm and waterlogging plan (demo)' },
    kind: 'flood',
    region_code: '440303',
    pack: 'flood',
    synthetic: true,
    levels: ['IV', 'III', 'II', 'I'],
    definition: {},
    ...overrides,
  }
}

export function run(overrides: Partial<Run> = {}): Run {
  return {
    id: RUN_ID,
    plan: 'rainstorm',
    name: { zh: '罗湖区暴雨内涝应急预案（演示）', en: 'Rainstorm and waterlogging plan (demo)' },
    level: 'IV',
    status: 'active',
    drill: false,
    trigger: { kind: 'warning', warning: '暴雨黄色预警', warning_id: 'w-1' },
    region_code: '440303',
    area: null,
    summary: null,
    created_at: '2026-05-01T08:00:00Z',
    started_at: '2026-05-01T08:02:00Z',
    started_by: 'duty',
    closed_at: null,
    closed_by: null,
    version: 3,
    tasks_by_status: { open: 1, done: 1 },
    ...overrides,
  }
}

export function task(overrides: Partial<RunTask> = {}): RunTask {
  return {
    id: 't-1',
    level: 'IV',
    department: 'water-affairs',
    department_name: { zh: '区水务局', en: 'District Water Affairs Bureau' },
    title: { zh: '巡查易涝点并开启监测', en: 'Patrol flood-prone points and watch the gauges' },
    report: { zh: '已巡查点位数及积水情况', en: 'Points patrolled and the water found' },
    within: '30 minutes',
    due_at: '2026-05-01T08:32:00Z',
    overdue: true,
    state: 'handling',
    status: 'open',
    instance_id: 'i-1',
    added_by: null,
    created_at: '2026-05-01T08:02:00Z',
    finished_at: null,
    ...overrides,
  }
}

function event(id: number, kind: string, data: Record<string, unknown>, overrides: Partial<RunEvent> = {}): RunEvent {
  return { id, at: `2026-05-01T08:0${id}:00Z`, kind, actor: 'duty', task_id: null, data, ...overrides }
}

export function detail(overrides: Partial<RunDetail> = {}): RunDetail {
  return {
    ...run(),
    tasks: [
      task(),
      task({
        id: 't-2',
        department: 'urban-management',
        title: { zh: '清理雨水篦子和排水口', en: 'Clear drain grates and outlets' },
        report: null,
        within: '1 hour',
        due_at: '2026-05-01T09:02:00Z',
        overdue: false,
        state: 'done',
        status: 'done',
        finished_at: '2026-05-01T08:50:00Z',
      }),
    ],
    timeline: [
      event(1, 'proposed', { trigger: { kind: 'warning', warning: '暴雨黄色预警' }, level: 'IV' }, { actor: 'system' }),
      event(2, 'started', { level: 'IV' }),
      event(3, 'task_sent', { department: 'water-affairs', do: '巡查易涝点并开启监测', level: 'IV' }, { task_id: 't-1' }),
      event(4, 'notified', { roles: ['duty-officer'], people: 2 }),
      event(5, 'task_sign', { department: 'water-affairs', do: '巡查易涝点并开启监测', state: 'handling', comment: null }, { task_id: 't-1' }),
    ],
    ...overrides,
  }
}

export function warning(overrides: Partial<ExternalWarning> = {}): ExternalWarning {
  return {
    id: 'w-1',
    type: '暴雨黄色预警',
    source: '深圳市气象台',
    region_code: '440303',
    issued_at: '2026-05-01T07:55:00Z',
    received_at: '2026-05-01T07:56:00Z',
    posted_by: 'duty',
    text: '预计未来 3 小时罗湖区降雨量将达 50 毫米以上。',
    runs: [RUN_ID],
    ...overrides,
  }
}

/** A live stream (`/api/v1/live`) the test writes `plan.*` events into. */
export function liveStream() {
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
    /** A bus event of `type` about run `id`. */
    event(type: string, id: string, payload: Record<string, unknown> = {}): void {
      next += 1
      const sent = { id: `e${next}`, type, key: id, payload: { run_id: id, ...payload }, created_at: '2026-05-01T09:00:00Z' }
      push(`id: e${next}\nevent: ${type}\ndata: ${JSON.stringify(sent)}\n\n`)
    },
  }
}
