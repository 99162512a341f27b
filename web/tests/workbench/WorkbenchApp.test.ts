import { beforeEach, describe, expect, it, vi } from 'vitest'
import WorkbenchApp from '../../src/workbench/WorkbenchApp.vue'
import { jsonResponse, meBody, metaBody, mountIn, settle, signInAs, signOutEverywhere, stubFetch } from '../helpers'
import { HANDLER as CASE_HANDLER, OPERATOR } from '../shared/caseFixtures'

const WARNING = '2027 年节假日安排未配置，按周末计算 / Holidays for 2027 are not configured; counting weekends only'

const HANDLER = meBody({
  username: 'handler',
  display_name: '水务处置员（演示）',
  permissions: ['identity.profile.read', 'identity.departments.read'],
})

async function go(hash: string): Promise<void> {
  window.location.hash = hash
  window.dispatchEvent(new HashChangeEvent('hashchange'))
  await settle()
}

describe('workbench shell', () => {
  beforeEach(async () => {
    await signInAs(meBody())
  })

  it('mounts in Chinese with the side navigation and an empty inbox', async () => {
    stubFetch(() => jsonResponse(metaBody()))
    const { wrapper } = mountIn('zh-CN', WorkbenchApp)
    await settle()

    expect(wrapper.findAll('.wb-nav__item').map((item) => item.text())).toEqual([
      '待办',
      '地图',
      '案件',
      '数据目录',
      '用户管理',
      '部门管理',
      '角色与权限',
    ])
    expect(wrapper.get('[data-testid="nav-admin"]').text()).toBe('系统管理')
    expect(wrapper.get('[data-nav="inbox"]').attributes('aria-current')).toBe('page')
    expect(wrapper.get('h1').text()).toBe('待办')
    expect(wrapper.get('[data-testid="inbox-empty"]').text()).toContain('暂无待办')
    expect(wrapper.get('[data-testid="account-name"]').text()).toBe('平台管理员（演示）')
    expect(wrapper.get('.wb-top').text()).toContain('退出')
    expect(wrapper.get('[data-testid="wb-meta"]').text()).toContain('罗湖区 · 演示模式')
    expect(wrapper.find('[data-testid="calendar-warnings"]').exists()).toBe(false)
  })

  it('mounts in English', async () => {
    stubFetch(() => jsonResponse(metaBody()))
    const { wrapper } = mountIn('en', WorkbenchApp)
    await settle()

    expect(wrapper.findAll('.wb-nav__item').map((item) => item.text())).toEqual([
      'Inbox',
      'Map',
      'Cases',
      'Data catalogue',
      'Users',
      'Departments',
      'Roles and permissions',
    ])
    expect(wrapper.get('.wb-top').text()).toContain('Sign out')
    expect(wrapper.get('[data-testid="inbox-empty"]').text()).toContain('Nothing to do')
    expect(wrapper.get('[data-testid="wb-meta"]').text()).toContain('Luohu District · Demo mode')
  })

  it('shows the working-day calendar warnings as a banner', async () => {
    stubFetch(() => jsonResponse(metaBody({ calendar_warnings: [WARNING] })))
    const { wrapper } = mountIn('zh-CN', WorkbenchApp)
    await settle()

    const banner = wrapper.get('[data-testid="calendar-warnings"]')
    expect(banner.attributes('role')).toBe('alert')
    expect(banner.text()).toContain('工作日历提醒')
    expect(banner.findAll('li').map((item) => item.text())).toEqual([WARNING])
  })

  it('shows an error banner when the platform cannot be reached', async () => {
    stubFetch(() => Promise.reject(new TypeError('Failed to fetch')))
    const { wrapper } = mountIn('zh-CN', WorkbenchApp)
    await settle()

    expect(wrapper.get('[data-testid="meta-error"]').text()).toContain('无法连接平台服务')
    expect(wrapper.find('[data-testid="inbox-empty"]').exists()).toBe(true)
  })

  it.each([
    ['cases', '案件', '案件管理将随城区社会事件系统在后续版本上线。'],
    ['catalogue', '数据目录', '数据资源目录将随一库共享在后续版本上线。'],
  ])('routes #/%s to a “later release” view', async (route, title, message) => {
    stubFetch(() => jsonResponse(metaBody()))
    const { wrapper } = mountIn('zh-CN', WorkbenchApp)
    window.location.hash = `#/${route}`
    window.dispatchEvent(new HashChangeEvent('hashchange'))
    await settle()

    expect(wrapper.get('h1').text()).toBe(title)
    expect(wrapper.get(`[data-nav="${route}"]`).attributes('aria-current')).toBe('page')
    expect(wrapper.get('.coming-later__message').text()).toBe(message)
  })

  it('shows only the administration its holder may read', async () => {
    await signInAs(HANDLER)
    stubFetch(() => jsonResponse(metaBody()))
    const { wrapper } = mountIn('zh-CN', WorkbenchApp)
    await settle()

    expect(wrapper.findAll('.wb-nav__item').map((item) => item.text())).toEqual([
      '待办',
      '地图',
      '案件',
      '数据目录',
      '部门管理',
    ])
    await go('#/users')
    expect(wrapper.get('[data-testid="forbidden"]').text()).toBe('您没有访问此页面的权限。')
  })

  it('shows 审计日志 to an auditor, and only that of the administration', async () => {
    await signInAs(
      meBody({
        username: 'auditor',
        display_name: '审计员（演示）',
        permissions: ['identity.profile.read', 'audit.read', 'audit.export', 'audit.verify'],
      }),
    )
    stubFetch((url) =>
      url.startsWith('/api/v1/audit/records')
        ? jsonResponse({ items: [], next_cursor: null })
        : jsonResponse(metaBody()),
    )
    const { wrapper } = mountIn('zh-CN', WorkbenchApp)
    await settle()

    expect(wrapper.findAll('.wb-nav__item').map((item) => item.text())).toEqual([
      '待办',
      '地图',
      '案件',
      '数据目录',
      '审计日志',
    ])
    await go('#/audit')
    await settle()
    expect(wrapper.get('h1').text()).toBe('审计日志')
    // The page is loaded on demand: wait for its chunk rather than for a fixed number of ticks.
    await vi.waitFor(() => expect(wrapper.find('[data-testid="admin-audit"]').exists()).toBe(true))
    await go('#/roles')
    expect(wrapper.get('[data-testid="forbidden"]').text()).toBe('您没有访问此页面的权限。')
  })

  it('shows the case desks of the roles one holds', async () => {
    await signInAs(OPERATOR)
    stubFetch((url) =>
      url.startsWith('/api/v1/cases') ? jsonResponse({ items: [], next_cursor: null }) : jsonResponse(metaBody()),
    )
    const { wrapper } = mountIn('zh-CN', WorkbenchApp)
    await settle()

    expect(wrapper.get('[data-testid="nav-cases"]').text()).toBe('城市事件')
    expect(wrapper.findAll('.wb-nav__item').map((item) => item.text()).slice(4)).toEqual(['热线受理', '派遣台', '回访'])
    await go('#/dispatch')
    expect(wrapper.get('h1').text()).toBe('派遣台')
    await vi.waitFor(() => expect(wrapper.find('[data-testid="desk-dispatch"]').exists()).toBe(true), { timeout: 5000 })
    await go('#/handling')
    expect(wrapper.get('[data-testid="forbidden"]').text()).toBe('您没有访问此页面的权限。')
  })

  it('gives a handler the handling desk only', async () => {
    await signInAs(CASE_HANDLER)
    stubFetch(() => jsonResponse(metaBody()))
    const { wrapper } = mountIn('zh-CN', WorkbenchApp)
    await settle()
    expect(wrapper.findAll('.wb-nav__item').map((item) => item.text()).slice(4)).toEqual(['处置'])
  })

  it('keeps 审计日志 from those without audit.read', async () => {
    stubFetch(() => jsonResponse(metaBody()))
    const { wrapper } = mountIn('zh-CN', WorkbenchApp)
    await settle()
    expect(wrapper.find('[data-nav="audit"]').exists()).toBe(false)
    await go('#/audit')
    expect(wrapper.get('[data-testid="forbidden"]').text()).toBe('您没有访问此页面的权限。')
  })

  it('shows 考核评价 under 统计分析 to holders of cases.evaluate only', async () => {
    await signInAs(
      meBody({
        username: 'leader',
        display_name: '区领导（演示）',
        roles: [],
        permissions: ['identity.profile.read', 'cases.read', 'cases.evaluate'],
      }),
    )
    stubFetch((url) =>
      url.startsWith('/api/v1/cases/evaluation')
        ? jsonResponse({
            period: { text: '2026-12', first: '2026-12-01', last: '2026-12-31' },
            by: 'department',
            include_synthetic: true,
            weights: {},
            rows: [],
            total: { key: null, name_zh: '合计', name_en: 'Total', rank: null, composite: null, counts: {}, rates: {} },
            synthetic_cases: 0,
          })
        : jsonResponse(metaBody()),
    )
    const { wrapper } = mountIn('zh-CN', WorkbenchApp)
    await settle()
    expect(wrapper.get('[data-testid="nav-analysis"]').text()).toBe('统计分析')
    expect(wrapper.get('[data-nav="evaluation"]').text()).toBe('考核评价')
    await go('#/evaluation')
    await settle()
    expect(wrapper.get('h1').text()).toBe('考核评价')
    // The page is loaded on demand: wait for its chunk.
    await vi.waitFor(() => expect(wrapper.find('[data-testid="evaluation-empty"]').exists()).toBe(true))
    expect(wrapper.get('[data-testid="evaluation-empty"]').text()).toBe('该时段内没有案件。')
  })

  it('shows 设备管理, 告警中心 and 规则配置 under 物联感知 to holders of their read permissions', async () => {
    await signInAs(meBody({ roles: [], permissions: ['identity.profile.read', 'telemetry.devices.read', 'alarms.read'] }))
    stubFetch((url) =>
      url.startsWith('/api/v1/alarm-rules')
        ? jsonResponse([])
        : url.startsWith('/api/v1/alarms') || url.startsWith('/api/v1/devices')
        ? jsonResponse({ items: [], next_cursor: null })
        : jsonResponse(metaBody()),
    )
    const { wrapper } = mountIn('zh-CN', WorkbenchApp)
    await settle()
    expect(wrapper.get('[data-testid="nav-sensing"]').text()).toBe('物联感知')
    expect(wrapper.get('[data-nav="devices"]').text()).toBe('设备管理')
    expect(wrapper.get('[data-nav="alarms"]').text()).toBe('告警中心')
    expect(wrapper.get('[data-nav="alarm-rules"]').text()).toBe('规则配置')
    await go('#/alarm-rules')
    expect(wrapper.get('h1').text()).toBe('规则配置')
    await vi.waitFor(() => expect(wrapper.find('[data-testid="alarm-rules"]').exists()).toBe(true))
    await go('#/alarms')
    expect(wrapper.get('h1').text()).toBe('告警中心')
    await vi.waitFor(() => expect(wrapper.find('[data-testid="alarm-center"]').exists()).toBe(true))
    await go('#/devices')
    await vi.waitFor(() => expect(wrapper.find('[data-testid="device-list"]').exists()).toBe(true))
  })

  it('keeps 物联感知 from those without its permissions', async () => {
    stubFetch(() => jsonResponse(metaBody()))
    const { wrapper } = mountIn('zh-CN', WorkbenchApp)
    await settle()
    expect(wrapper.find('[data-testid="nav-sensing"]').exists()).toBe(false)
    await go('#/devices')
    expect(wrapper.get('[data-testid="forbidden"]').text()).toBe('您没有访问此页面的权限。')
  })

  it('keeps 考核评价 from those without cases.evaluate', async () => {
    stubFetch(() => jsonResponse(metaBody()))
    const { wrapper } = mountIn('zh-CN', WorkbenchApp)
    await settle()
    expect(wrapper.find('[data-testid="nav-analysis"]').exists()).toBe(false)
    await go('#/evaluation')
    expect(wrapper.get('[data-testid="forbidden"]').text()).toBe('您没有访问此页面的权限。')
  })

  it('shows no administration while /identity/me is unknown, and the ID token’s name', async () => {
    await signInAs(null)
    stubFetch(() => jsonResponse(metaBody()))
    const { wrapper } = mountIn('zh-CN', WorkbenchApp)
    await settle()

    expect(wrapper.find('[data-testid="nav-admin"]').exists()).toBe(false)
    expect(wrapper.get('[data-testid="account-name"]').text()).toBe('平台管理员（演示）')
  })

  it('shows nothing of the workbench to a tab that is not signed in', async () => {
    await signOutEverywhere()
    stubFetch(() => jsonResponse(metaBody()))
    const { wrapper } = mountIn('zh-CN', WorkbenchApp)
    await settle()

    expect(wrapper.find('.wb-nav').exists()).toBe(false)
    expect(wrapper.get('[data-testid="auth-gate"]').text()).toContain('正在前往统一身份认证登录')
  })
})
