import { describe, expect, it } from 'vitest'
import AccountMenu from '../../src/auth/AccountMenu.vue'
import { meBody, mountIn, signInAs } from '../helpers'

describe('account menu: two-step verification', () => {
  it('links to the provider’s set-up page when none is set up', async () => {
    await signInAs(meBody({ mfa: { enrolled: false, required: false } }))
    const { wrapper } = mountIn('zh-CN', AccountMenu)
    const link = wrapper.get('[data-testid="account-mfa"]')
    expect(link.element.tagName).toBe('A')
    expect(link.text()).toBe('二次验证')
    // A server page: a full navigation, not a hash route.
    expect(link.attributes('href')).toBe('/oidc/account/mfa')
    expect(wrapper.find('[data-testid="account-mfa-on"]').exists()).toBe(false)
  })

  it('says it is on once set up', async () => {
    await signInAs(meBody({ mfa: { enrolled: true, required: true } }))
    const { wrapper } = mountIn('zh-CN', AccountMenu)
    expect(wrapper.get('[data-testid="account-mfa-on"]').text()).toBe('已开启二次验证')
    expect(wrapper.find('[data-testid="account-mfa"]').exists()).toBe(false)
  })

  it('speaks English', async () => {
    await signInAs(meBody({ mfa: { enrolled: false, required: false } }))
    const { wrapper } = mountIn('en', AccountMenu)
    expect(wrapper.get('[data-testid="account-mfa"]').text()).toBe('Two-step verification')
  })

  it('offers nothing while the account is unknown or signed out', async () => {
    await signInAs(null)
    const { wrapper } = mountIn('zh-CN', AccountMenu)
    expect(wrapper.find('[data-testid="account-mfa"]').exists()).toBe(false)
    expect(wrapper.find('[data-testid="account-mfa-on"]').exists()).toBe(false)
  })
})
