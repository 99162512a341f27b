import { beforeEach, describe, expect, it } from 'vitest'
import AlarmsView from '../../../src/workbench/alarms/AlarmsView.vue'
import { stubNetwork } from '../../auth/fixtures'
import { jsonResponse, meBody, mountIn, settle, signInAs } from '../../helpers'
import { alarm } from './fixtures'

const LIST = '/api/v1/alarms'
const ONE = alarm()
const PATH = `${LIST}/${ONE.id}`
const DUTY = meBody({ username: 'duty', permissions: ['identity.profile.read', 'alarms.read', 'alarms.act'] })

function alarmNetwork(current = { value: { ...ONE, notes: [] } as typeof ONE }) {
  const answer = (): Response => jsonResponse(current.value)
  return stubNetwork({
    [LIST]: () => jsonResponse({ items: [ONE, alarm({ id: 'a-2', severity: 'critical', name_zh: '烟感报警', device_code: 'SD-0002' })], next_cursor: null }),
    [PATH]: answer,
    [`${PATH}/acknowledge`]: () => {
      current.value = { ...current.value, status: 'acknowledged', acknowledged_by: 'duty', acknowledged_at: '2026-05-01T08:05:00Z' }
      return answer()
    },
    [`${PATH}/clear`]: (_url, init) => {
      const note = JSON.parse(String(init?.body)).note as string
      current.value = {
        ...current.value,
        status: 'cleared',
        cleared_by: 'duty',
        cleared_at: '2026-05-01T08:10:00Z',
        notes: [{ id: 'n1', author: 'duty', kind: 'clear', text: note, created_at: '2026-05-01T08:10:00Z' }],
      }
      return answer()
    },
    [`${PATH}/notes`]: (_url, init) => {
      const note = JSON.parse(String(init?.body)).note as string
      current.value = { ...current.value, notes: [{ id: 'n2', author: 'duty', kind: 'note', text: note, created_at: '2026-05-01T08:06:00Z' }] }
      return jsonResponse(current.value, { status: 201 })
    },
  })
}

beforeEach(async () => {
  await signInAs(DUTY)
})

describe('告警中心', () => {
  it('lists open alarms with severity and links to their devices', async () => {
    const net = alarmNetwork()
    const { wrapper } = mountIn('zh-CN', AlarmsView)
    await settle()

    const query = net.callsTo(LIST)[0]!.url.searchParams
    expect(query.get('open')).toBe('true')
    expect(query.get('limit')).toBe('50')
    const rows = wrapper.findAll('[data-testid="alarm-table"] tbody tr')
    expect(rows).toHaveLength(2)
    expect(rows[0]!.text()).toContain('重要')
    expect(rows[0]!.text()).toContain('路面积水超过 15 厘米')
    expect(rows[0]!.find('a').attributes('href')).toBe('#/devices/WL-0001')
    expect(rows[1]!.find('[data-severity="critical"]').text()).toBe('紧急')
  })

  it('filters by severity and type', async () => {
    const net = alarmNetwork()
    const { wrapper } = mountIn('zh-CN', AlarmsView)
    await settle()
    await wrapper.get('select[name="severity"]').setValue('critical')
    await wrapper.get('select[name="device_type"]').setValue('smoke-detector')
    await wrapper.get('[data-testid="alarm-search"]').trigger('submit')
    await settle()
    const query = net.callsTo(LIST).at(-1)!.url.searchParams
    expect(query.get('severity')).toBe('critical')
    expect(query.get('device_type')).toBe('smoke-detector')
  })

  it('acknowledges an alarm with an optional note and shows it in the list', async () => {
    const net = alarmNetwork()
    const { wrapper } = mountIn('zh-CN', AlarmsView)
    await settle()
    await wrapper.get(`[data-testid="alarm-open-${ONE.id}"]`).trigger('click')
    await settle()

    await wrapper.get('[data-testid="alarm-acknowledge"]').trigger('click')
    await wrapper.get('[data-testid="alarm-form"]').trigger('submit')
    await settle()

    const call = net.callsTo(`${PATH}/acknowledge`)[0]!
    expect(call.method).toBe('POST')
    expect(JSON.parse(call.body)).toEqual({})
    expect(wrapper.get('[data-testid="alarm-done"]').text()).toBe('已确认告警。')
    expect(wrapper.find('[data-testid="alarm-acknowledge"]').exists()).toBe(false)
    expect(wrapper.get(`tr[data-id="${ONE.id}"]`).attributes('data-status')).toBe('acknowledged')
  })

  it('clears only with a note saying why, and shows the note', async () => {
    const net = alarmNetwork()
    const { wrapper } = mountIn('zh-CN', AlarmsView)
    await settle()
    await wrapper.get(`[data-testid="alarm-open-${ONE.id}"]`).trigger('click')
    await settle()

    await wrapper.get('[data-testid="alarm-clear"]').trigger('click')
    await wrapper.get('[data-testid="alarm-form"]').trigger('submit')
    await settle()
    expect(net.callsTo(`${PATH}/clear`)).toHaveLength(0)
    expect(wrapper.get('[data-testid="alarm-form"]').text()).toContain('请填写消除原因')

    await wrapper.get('textarea[name="note"]').setValue('  现场核实为传感器被遮挡  ')
    await wrapper.get('[data-testid="alarm-form"]').trigger('submit')
    await settle()

    expect(JSON.parse(net.callsTo(`${PATH}/clear`)[0]!.body)).toEqual({ note: '现场核实为传感器被遮挡' })
    expect(wrapper.get('[data-testid="alarm-notes"]').text()).toContain('现场核实为传感器被遮挡')
    expect(wrapper.get('[data-testid="alarm-detail"]').text()).toContain('已消除')
    // A cleared alarm takes no more steps.
    expect(wrapper.find('[data-testid="alarm-clear"]').exists()).toBe(false)
    expect(wrapper.get(`tr[data-id="${ONE.id}"]`).attributes('data-status')).toBe('cleared')
  })

  it('adds a note', async () => {
    const net = alarmNetwork()
    const { wrapper } = mountIn('en', AlarmsView)
    await settle()
    await wrapper.get(`[data-testid="alarm-open-${ONE.id}"]`).trigger('click')
    await settle()
    expect(wrapper.get('[data-testid="alarm-detail"]').text()).toContain('No notes yet')

    await wrapper.get('[data-testid="alarm-note"]').trigger('click')
    await wrapper.get('textarea[name="note"]').setValue('Crew on the way')
    await wrapper.get('[data-testid="alarm-form"]').trigger('submit')
    await settle()

    expect(JSON.parse(net.callsTo(`${PATH}/notes`)[0]!.body)).toEqual({ note: 'Crew on the way' })
    expect(wrapper.get('[data-testid="alarm-notes"]').text()).toContain('Crew on the way')
    expect(wrapper.get('[data-testid="alarm-done"]').text()).toBe('Note added.')
  })

  it('shows the steps only to those who may act', async () => {
    await signInAs(meBody({ permissions: ['identity.profile.read', 'alarms.read'] }))
    alarmNetwork()
    const { wrapper } = mountIn('zh-CN', AlarmsView)
    await settle()
    await wrapper.get(`[data-testid="alarm-open-${ONE.id}"]`).trigger('click')
    await settle()
    expect(wrapper.find('[data-testid="alarm-acknowledge"]').exists()).toBe(false)
    expect(wrapper.find('[data-testid="alarm-clear"]').exists()).toBe(false)
  })

  it('says why a step failed', async () => {
    const net = alarmNetwork()
    net.fetchMock.mockImplementationOnce(async () => jsonResponse({ items: [ONE], next_cursor: null }))
    const { wrapper } = mountIn('zh-CN', AlarmsView)
    await settle()
    await wrapper.get(`[data-testid="alarm-open-${ONE.id}"]`).trigger('click')
    await settle()
    net.fetchMock.mockImplementationOnce(async () =>
      jsonResponse({ title: '只有未确认的告警可以确认', status: 409, code: 'alarm_not_active' }, { status: 409, type: 'application/problem+json' }),
    )
    await wrapper.get('[data-testid="alarm-acknowledge"]').trigger('click')
    await wrapper.get('[data-testid="alarm-form"]').trigger('submit')
    await settle()
    expect(wrapper.get('[data-testid="alarm-error"]').text()).toBe('只有未确认的告警可以确认')
  })
})
