import { beforeEach, describe, expect, it } from 'vitest'
import AlarmRulesView from '../../../src/workbench/rules/AlarmRulesView.vue'
import { durationParts, groupRules, type AlarmRule } from '../../../src/workbench/rules/rules'
import { stubNetwork } from '../../auth/fixtures'
import { jsonResponse, meBody, mountIn, settle, signInAs } from '../../helpers'

const API = '/api/v1/alarm-rules'

function rule(overrides: Partial<AlarmRule> = {}): AlarmRule {
  return {
    id: 'waterlogging-warning',
    name: { zh: '易涝点积水预警', en: 'Waterlogging warning' },
    type: 'flood.waterlogging',
    device_type: 'waterlogging-gauge',
    device_type_name: { zh: '积水监测仪', en: 'Waterlogging gauge' },
    devices: [],
    condition: 'water_depth > 15 for 10 min',
    clear: 'water_depth < 10 for 10 min',
    duration_seconds: 600,
    during: null,
    timezone: 'Asia/Shanghai',
    severity: 'major',
    escalate_after: '15 min',
    auto_clear: true,
    open_case: { category: '1505', description: null },
    position: 1,
    active: true,
    open_alarms: 3,
    ...overrides,
  }
}

const RULES = [
  rule(),
  rule({ id: 'smoke-alarm', name: { zh: '烟感报警', en: 'Smoke alarm' }, device_type: 'smoke-detector', device_type_name: { zh: '烟感', en: 'Smoke detector' }, condition: 'smoke == 1', clear: null, duration_seconds: 0, severity: 'critical', escalate_after: null, open_case: null, position: 2, open_alarms: 0, auto_clear: false }),
  rule({ id: 'waterlogging-severe', name: { zh: '严重积水', en: 'Severe waterlogging' }, condition: 'water_depth > 30 for 5 min', severity: 'critical', position: 3, open_alarms: 1, devices: ['WL-0001'], during: '22:00-07:00' }),
  rule({ id: 'old-rule', name: { zh: '旧规则', en: 'Old rule' }, device_type: 'odd-type', device_type_name: null, severity: 'minor', position: 9, active: false, open_alarms: 0 }),
]

function network() {
  return stubNetwork({
    [API]: () => jsonResponse(RULES),
    [`${API}/waterlogging-severe`]: () => jsonResponse({ ...RULES[2], watched_devices: 1, raised_devices: 1 }),
  })
}

beforeEach(async () => {
  await signInAs(meBody({ permissions: ['identity.profile.read', 'alarms.read'] }))
})

describe('规则配置', () => {
  it('lists the rules by device type, read-only, with links to their open alarms', async () => {
    network()
    const { wrapper } = mountIn('zh-CN', AlarmRulesView)
    await settle()

    expect(wrapper.get('[data-testid="rules-readonly"]').text()).toContain('规则由区级配置包定义，修改请提交配置变更')
    expect(wrapper.find('input:not([type="search"]), textarea').exists()).toBe(false)
    const groups = wrapper.findAll('.rul-group')
    expect(groups.map((group) => group.attributes('data-type'))).toEqual(['waterlogging-gauge', 'smoke-detector', 'odd-type'])
    expect(groups[0]!.get('h2').text()).toContain('2 条规则 · 未消除告警 4 条')
    expect(groups[2]!.get('h2').text()).toContain('odd-type')

    const first = wrapper.get('tr[data-id="waterlogging-warning"]')
    expect(first.get('[data-severity="major"]').text()).toBe('重要')
    expect(first.get('[data-testid="rule-condition"]').element.tagName).toBe('CODE')
    expect(first.get('[data-testid="rule-condition"]').text()).toBe('water_depth > 15 for 10 min')
    expect(first.text()).toContain('15 min内未确认则升级')
    expect(first.text()).toContain('生成事件（分类 1505）')
    expect(first.get('[data-testid="rule-alarms-waterlogging-warning"]').attributes('href')).toBe('#/alarms?rule=waterlogging-warning')

    const smoke = wrapper.get('tr[data-id="smoke-alarm"]')
    expect(smoke.text()).toContain('触发条件不再满足时')
    expect(smoke.text()).toContain('需人工消除')
    expect(smoke.find('a').exists()).toBe(false)
    expect(wrapper.get('tr[data-id="waterlogging-severe"]').text()).toContain('限 1 台设备')
    expect(wrapper.get('tr[data-id="old-rule"]').attributes('data-active')).toBe('false')
    expect(wrapper.get('[data-testid="rules-summary"]').text()).toContain('启用规则 3 条')
    expect(wrapper.get('[data-testid="rules-summary"]').text()).toContain('已停用 1 条')
  })

  it('finds rules by text and severity', async () => {
    network()
    const { wrapper } = mountIn('zh-CN', AlarmRulesView)
    await settle()
    await wrapper.get('input[name="text"]').setValue('SMOKE')
    expect(wrapper.findAll('tbody tr').map((row) => row.attributes('data-id'))).toEqual(['smoke-alarm'])
    await wrapper.get('input[name="text"]').setValue('')
    await wrapper.get('select[name="severity"]').setValue('critical')
    expect(wrapper.findAll('tbody tr').map((row) => row.attributes('data-id'))).toEqual(['smoke-alarm', 'waterlogging-severe'])
    await wrapper.get('input[name="text"]').setValue('nothing like it')
    expect(wrapper.get('[data-testid="rules-empty"]').text()).toBe('没有符合条件的规则。')
  })

  it('shows one rule with how many devices it holds raised, in English', async () => {
    const net = network()
    const { wrapper } = mountIn('en', AlarmRulesView)
    await settle()
    await wrapper.get('[data-testid="rule-open-waterlogging-severe"]').trigger('click')
    await settle()
    expect(net.callsTo(`${API}/waterlogging-severe`)).toHaveLength(1)
    const detail = wrapper.get('[data-testid="rule-detail"]')
    expect(detail.get('h2').text()).toBe('Severe waterlogging')
    expect(detail.get('[data-testid="rule-duration"]').text()).toBe('10 min')
    expect(detail.get('[data-testid="rule-state"]').text()).toBe('1 devices watched, 1 in the raised state')
    expect(detail.get('[data-testid="rule-detail-alarms"]').attributes('href')).toBe('#/alarms?rule=waterlogging-severe')
    expect(detail.text()).toContain('22:00-07:00')
    expect(wrapper.get('[data-testid="rules-readonly"]').text()).toContain('submit a configuration change')
  })

  it('says when the rules cannot be read', async () => {
    stubNetwork({
      [API]: () => jsonResponse({ title: '您没有此操作的权限', status: 403, code: 'forbidden' }, { status: 403, type: 'application/problem+json' }),
    })
    const { wrapper } = mountIn('zh-CN', AlarmRulesView)
    await settle()
    expect(wrapper.find('[role="alert"]').exists()).toBe(true)
    expect(wrapper.find('.rul-group').exists()).toBe(false)
  })
})

describe('rule helpers', () => {
  it('keep retired rules last within their type', () => {
    const groups = groupRules([rule({ id: 'b', active: false, position: 1 }), rule({ id: 'a', position: 2 })])
    expect(groups[0]!.rules.map((r) => r.id)).toEqual(['a', 'b'])
  })

  it('say a duration in its largest whole unit', () => {
    expect(durationParts(3600)).toEqual({ unit: 'h', count: 1 })
    expect(durationParts(600)).toEqual({ unit: 'min', count: 10 })
    expect(durationParts(90)).toEqual({ unit: 's', count: 90 })
  })
})
