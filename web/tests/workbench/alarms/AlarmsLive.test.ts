import { beforeEach, describe, expect, it } from 'vitest'
import AlarmsView from '../../../src/workbench/alarms/AlarmsView.vue'
import { matchesFilters, placeAlarm, emptyAlarmFilters } from '../../../src/workbench/alarms/alarms'
import { stubNetwork } from '../../auth/fixtures'
import { jsonResponse, meBody, mountIn, settle, signInAs } from '../../helpers'
import { alarm, liveStream } from './fixtures'

const LIST = '/api/v1/alarms'
const OLD = alarm({ id: '01960000-0000-7000-8000-000000000001' })
const NEW = alarm({ id: '01960000-0000-7000-8000-000000000009', severity: 'critical', name_zh: '严重积水', rule_id: 'waterlogging-severe' })
const OTHER_RULE = alarm({ id: '01960000-0000-7000-8000-000000000008', rule_id: 'smoke', device_type: 'smoke-detector' })
const WATCHER = meBody({ username: 'duty', permissions: ['identity.profile.read', 'alarms.read', 'live.read'] })

describe('告警中心, live', () => {
  let live: ReturnType<typeof liveStream>
  let listed: (typeof OLD)[]
  let current: Record<string, typeof OLD>

  beforeEach(async () => {
    await signInAs(WATCHER)
    live = liveStream()
    listed = [OLD]
    current = { [OLD.id]: OLD, [NEW.id]: NEW, [OTHER_RULE.id]: OTHER_RULE }
  })

  function network() {
    const routes: Parameters<typeof stubNetwork>[0] = {
      [LIST]: () => jsonResponse({ items: listed, next_cursor: null }),
      '/api/v1/live': () => live.response(),
    }
    for (const id of Object.keys(current)) {
      routes[`${LIST}/${id}`] = () => jsonResponse({ ...current[id], notes: [] })
    }
    return stubNetwork(routes)
  }

  it('shows the connection and puts in a new alarm the moment it is raised', async () => {
    const net = network()
    const { wrapper } = mountIn('zh-CN', AlarmsView)
    await settle()
    expect(wrapper.get('[data-testid="alarm-live"]').text()).toBe('实时更新')
    expect(net.callsTo('/api/v1/live')[0]!.url.searchParams.getAll('types')).toEqual(['alarm.*'])

    live.alarmEvent('alarm.raised', NEW.id)
    await settle()
    expect(net.callsTo(`${LIST}/${NEW.id}`)).toHaveLength(1)
    const rows = wrapper.findAll('[data-testid="alarm-table"] tbody tr')
    expect(rows.map((row) => row.attributes('data-id'))).toEqual([NEW.id, OLD.id])
    expect(rows[0]!.text()).toContain('严重积水')
    // Only the changed alarm was read, not the list again.
    expect(net.callsTo(LIST)).toHaveLength(1)
  })

  it('updates a listed alarm and drops it once cleared, as the open-only filter wants', async () => {
    network()
    const { wrapper } = mountIn('zh-CN', AlarmsView)
    await settle()

    current[OLD.id] = { ...OLD, status: 'acknowledged', acknowledged_by: 'someone' }
    live.alarmEvent('alarm.acknowledged', OLD.id)
    await settle()
    expect(wrapper.get(`tr[data-id="${OLD.id}"]`).attributes('data-status')).toBe('acknowledged')

    current[OLD.id] = { ...OLD, status: 'cleared' }
    live.alarmEvent('alarm.cleared', OLD.id)
    await settle()
    expect(wrapper.find(`tr[data-id="${OLD.id}"]`).exists()).toBe(false)
  })

  it('leaves out alarms the filters do not ask for', async () => {
    window.location.hash = '#/alarms?rule=flood.waterlogging.deep'
    const net = network()
    const { wrapper } = mountIn('zh-CN', AlarmsView)
    await settle()
    expect(net.callsTo(LIST)[0]!.url.searchParams.get('rule')).toBe('flood.waterlogging.deep')

    live.alarmEvent('alarm.raised', OTHER_RULE.id)
    await settle()
    expect(wrapper.findAll('[data-testid="alarm-table"] tbody tr').map((row) => row.attributes('data-id'))).toEqual([OLD.id])
  })

  it('reads the whole list again when events were lost', async () => {
    const net = network()
    const { wrapper } = mountIn('zh-CN', AlarmsView)
    await settle()
    listed = [NEW, OLD]
    live.lagged()
    await settle()
    expect(net.callsTo(LIST)).toHaveLength(2)
    expect(wrapper.findAll('[data-testid="alarm-table"] tbody tr')).toHaveLength(2)
  })

  it('does not connect for those who may not watch live events', async () => {
    await signInAs(meBody({ permissions: ['identity.profile.read', 'alarms.read'] }))
    const net = network()
    const { wrapper } = mountIn('en', AlarmsView)
    await settle()
    expect(wrapper.get('[data-testid="alarm-live"]').text()).toBe('Not live')
    expect(net.callsTo('/api/v1/live')).toHaveLength(0)
  })
})

describe('告警中心, filtered by rule', () => {
  beforeEach(async () => {
    await signInAs(WATCHER)
  })

  it('takes the rule from the address and lets it go', async () => {
    window.location.hash = '#/alarms?rule=flood.waterlogging.deep'
    const net = stubNetwork({
      [LIST]: () => jsonResponse({ items: [OLD], next_cursor: null }),
      '/api/v1/live': () => liveStream().response(),
    })
    const { wrapper } = mountIn('zh-CN', AlarmsView)
    await settle()
    expect(net.callsTo(LIST)[0]!.url.searchParams.get('open')).toBe('true')
    expect(wrapper.get('[data-testid="alarm-rule-filter"]').text()).toContain('规则：路面积水超过 15 厘米')

    await wrapper.get('.alm-rule-filter__clear').trigger('click')
    await settle()
    expect(net.callsTo(LIST).at(-1)!.url.searchParams.has('rule')).toBe(false)
    expect(window.location.hash).toBe('#/alarms')
    expect(wrapper.find('[data-testid="alarm-rule-filter"]').exists()).toBe(false)
  })
})

describe('matchesFilters and placeAlarm', () => {
  it('judge an alarm as the server filters the list', () => {
    const filters = { ...emptyAlarmFilters(), open: true, region: '440303001' }
    expect(matchesFilters(OLD, filters)).toBe(true)
    expect(matchesFilters({ ...OLD, status: 'cleared' }, filters)).toBe(false)
    expect(matchesFilters({ ...OLD, region_code: '440303007001' }, filters)).toBe(false)
    expect(matchesFilters(OLD, { ...filters, rule: 'other' })).toBe(false)
  })

  it('put a new alarm in by id, newest first, unless it belongs to a page not loaded yet', () => {
    const newest = alarm({ id: '01960000-0000-7000-8000-00000000000a' })
    const oldest = alarm({ id: '01960000-0000-7000-8000-000000000000' })
    expect(placeAlarm([NEW, OLD], newest, false).map((a) => a.id)).toEqual([newest.id, NEW.id, OLD.id])
    expect(placeAlarm([NEW, OLD], oldest, false).map((a) => a.id)).toEqual([NEW.id, OLD.id])
    expect(placeAlarm([NEW, OLD], oldest, true).map((a) => a.id)).toEqual([NEW.id, OLD.id, oldest.id])
    expect(placeAlarm([NEW, OLD], { ...OLD, count: 3 }, true)[1]!.count).toBe(3)
  })
})
