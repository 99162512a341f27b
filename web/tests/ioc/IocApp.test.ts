import { beforeEach, describe, expect, it } from 'vitest'
import IocApp from '../../src/ioc/IocApp.vue'
import { formatCityTime } from '../../src/ioc/clock'
import { jsonResponse, meBody, metaBody, mountIn, settle, signInAs, signOutEverywhere, stubFetch } from '../helpers'

describe('IOC shell', () => {
  beforeEach(async () => {
    await signInAs(meBody({ username: 'duty', display_name: 'IOC值班员（演示）', permissions: ['identity.profile.read'] }), 'ioc')
  })

  it('shows who is on duty, with a way to sign out', async () => {
    stubFetch(() => jsonResponse(metaBody()))
    const { wrapper } = mountIn('zh-CN', IocApp)
    await settle()

    expect(wrapper.get('[data-testid="account-name"]').text()).toBe('IOC值班员（演示）')
    expect(wrapper.get('.ioc-header').text()).toContain('退出')
  })

  it('shows no figures to a screen nobody signed in to', async () => {
    await signOutEverywhere()
    stubFetch(() => jsonResponse(metaBody()))
    const { wrapper } = mountIn('zh-CN', IocApp)
    await settle()

    expect(wrapper.find('[data-testid="auth-gate"]').exists()).toBe(true)
    expect(wrapper.findAll('.ioc-panel')).toHaveLength(0)
    expect(wrapper.find('[data-testid="ioc-status"]').exists()).toBe(false)
  })

  it('mounts in Chinese with title, slogan, placeholders and the platform status', async () => {
    const fetchMock = stubFetch(() => jsonResponse(metaBody()))
    const { wrapper } = mountIn('zh-CN', IocApp)
    await settle()

    expect(fetchMock).toHaveBeenCalledWith('/api/v1/meta', expect.anything())
    expect(wrapper.get('h1').text()).toBe('罗湖区智能运营中心 (IOC)')
    expect(wrapper.text()).toContain('云上新城，智享罗湖')
    expect(wrapper.get('.ioc-map .ioc-panel__title').text()).toBe('罗湖区全域态势')
    expect(wrapper.findAll('.ioc-panel')).toHaveLength(6)
    expect(wrapper.get('[data-testid="ioc-status"]').attributes('data-state')).toBe('ok')
    expect(wrapper.get('[data-testid="ioc-district"]').text()).toBe('罗湖区')
    expect(wrapper.get('[data-testid="ioc-mode"]').text()).toBe('演示模式')
    expect(wrapper.get('[data-testid="ioc-status"]').text()).toContain('版本 0.1.0')
  })

  it('mounts in English', async () => {
    stubFetch(() => jsonResponse(metaBody()))
    const { wrapper } = mountIn('en', IocApp)
    await settle()

    expect(wrapper.get('h1').text()).toBe('Luohu District Intelligent Operations Center (IOC)')
    expect(wrapper.text()).toContain('A new city in the cloud, a smarter Luohu')
    expect(wrapper.get('[data-testid="ioc-district"]').text()).toBe('Luohu District')
    expect(wrapper.get('[data-testid="ioc-mode"]').text()).toBe('Demo mode')
    expect(wrapper.get('[data-testid="ioc-clock"]').text()).toMatch(/^\d{2}:\d{2}:\d{2}$/)
  })

  it('shows plainly when the platform cannot be reached', async () => {
    stubFetch(() => Promise.reject(new TypeError('Failed to fetch')))
    const { wrapper } = mountIn('zh-CN', IocApp)
    await settle()

    const status = wrapper.get('[data-testid="ioc-status"]')
    expect(status.attributes('data-state')).toBe('error')
    expect(status.text()).toContain('无法连接平台服务')
    expect(wrapper.get('[data-testid="ioc-status-error"]').text()).toBe('网络连接失败')
  })

  it('shows the title of a problem+json answer', async () => {
    stubFetch(() =>
      jsonResponse(
        { title: '系统内部错误', status: 500, code: 'internal_error' },
        { status: 500, type: 'application/problem+json' },
      ),
    )
    const { wrapper } = mountIn('zh-CN', IocApp)
    await settle()
    expect(wrapper.get('[data-testid="ioc-status-error"]').text()).toBe('系统内部错误')
  })

  it('says so when no district profile is loaded', async () => {
    stubFetch(() => jsonResponse(metaBody({ name: null })))
    const { wrapper } = mountIn('zh-CN', IocApp)
    await settle()
    expect(wrapper.get('[data-testid="ioc-district"]').text()).toBe('区域档案未加载')
  })
})

describe('formatCityTime', () => {
  // 2026-01-01T16:30:05Z is half past midnight on 2 January in Shenzhen.
  const instant = new Date('2026-01-01T16:30:05Z')

  it('shows Beijing time whatever the machine zone', () => {
    expect(formatCityTime(instant, 'zh-CN').time).toBe('00:30:05')
    expect(formatCityTime(instant, 'en').time).toBe('00:30:05')
  })

  it('words the date for the locale', () => {
    expect(formatCityTime(instant, 'zh-CN').date).toBe('2026年1月2日星期五')
    expect(formatCityTime(instant, 'en').date).toBe('Friday, January 2, 2026')
  })
})
