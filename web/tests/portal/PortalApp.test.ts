import { describe, expect, it, vi } from 'vitest'
import { startSession } from '../../src/auth/session'
import PortalApp from '../../src/portal/PortalApp.vue'
import { discovery, stubNetwork } from '../auth/fixtures'
import { meBody, mountIn, settle, signInAs } from '../helpers'

async function go(hash: string): Promise<void> {
  window.location.hash = hash
  window.dispatchEvent(new HashChangeEvent('hashchange'))
  await settle()
}

describe('i罗湖 portal shell', () => {
  it('mounts in Chinese with the three tabs and the three entries', () => {
    const { wrapper } = mountIn('zh-CN', PortalApp)

    expect(wrapper.get('h1').text()).toBe('i罗湖')
    expect(wrapper.findAll('.portal-tabs__tab').map((tab) => tab.text())).toEqual(['首页', '办事', '我的'])
    expect(wrapper.get('[data-tab="home"]').attributes('aria-current')).toBe('page')
    expect(wrapper.findAll('.portal-entry__title').map((entry) => entry.text())).toEqual([
      '随手拍',
      '办事服务',
      '我的办件',
    ])
    expect(wrapper.get('.portal-header').text()).toContain('登录')
  })

  it('mounts in English', () => {
    const { wrapper } = mountIn('en', PortalApp)

    expect(wrapper.get('h1').text()).toBe('iLuohu')
    expect(wrapper.findAll('.portal-tabs__tab').map((tab) => tab.text())).toEqual(['Home', 'Services', 'Me'])
    expect(wrapper.findAll('.portal-entry__title').map((entry) => entry.text())).toEqual([
      'Report a problem',
      'Government services',
      'My applications',
    ])
  })

  it.each([
    ['applications', '我的办件', '我的办件将随一网通办在后续版本上线。', 'mine'],
  ])('opens #/%s with a plain “later release” notice', async (route, title, message, tab) => {
    const { wrapper } = mountIn('zh-CN', PortalApp)
    await go(`#/${route}`)

    expect(wrapper.get('.coming-later__title').text()).toBe(title)
    expect(wrapper.get('.coming-later__message').text()).toBe(message)
    expect(wrapper.get('.coming-later').text()).toContain('该功能将在后续版本上线')
    expect(wrapper.get(`[data-tab="${tab}"]`).attributes('aria-current')).toBe('page')
  })

  it('asks a visitor to sign in before reporting on #/report', async () => {
    const { wrapper } = mountIn('zh-CN', PortalApp)
    await go('#/report')

    expect(wrapper.get('[data-testid="report-guest"]').text()).toContain('登录后即可拍照上报城市问题')
    expect(wrapper.find('[data-testid="report-form"]').exists()).toBe(false)
    expect(wrapper.get('[data-tab="home"]').attributes('aria-current')).toBe('page')
  })

  it('shows the guest profile on the 我的 tab', async () => {
    const { wrapper } = mountIn('zh-CN', PortalApp)
    await go('#/mine')
    expect(wrapper.get('.portal-profile__name').text()).toBe('您尚未登录')
  })

  it('falls back to the home view for an unknown hash', async () => {
    const { wrapper } = mountIn('zh-CN', PortalApp)
    await go('#/nowhere')
    expect(wrapper.get('.portal-main').attributes('data-route')).toBe('home')
  })

  it('sends 登录 to the unified sign-in page and back to the portal', async () => {
    const navigate = vi.fn()
    await startSession({ page: 'portal', required: false, navigate })
    stubNetwork({ '/.well-known/openid-configuration': discovery })
    const { wrapper } = mountIn('zh-CN', PortalApp)

    await wrapper.get('.portal-header .account__button').trigger('click')
    await settle()
    // PKCE hashing is real crypto: under a busy test run it can outlast a fixed number of ticks.
    await vi.waitFor(() => expect(navigate).toHaveBeenCalled())

    const target = new URL(navigate.mock.calls[0]?.[0] as string)
    expect(target.pathname).toBe('/oidc/authorize')
    expect(target.searchParams.get('redirect_uri')).toBe(`${window.location.origin}/portal/`)
    expect(target.searchParams.get('ui_locales')).toBe('zh-CN')
  })

  it('shows a signed-in citizen by name, with 退出', async () => {
    await signInAs(meBody({ username: 'citizen', display_name: '市民张三（演示）', kind: 'citizen' }), 'portal')
    const { wrapper } = mountIn('zh-CN', PortalApp)
    await go('#/mine')

    expect(wrapper.get('.portal-profile__name').text()).toBe('市民张三（演示）')
    expect(wrapper.get('.portal-header [data-testid="account-name"]').text()).toBe('市民张三（演示）')
    expect(wrapper.get('.portal-header').text()).toContain('退出')
  })
})
