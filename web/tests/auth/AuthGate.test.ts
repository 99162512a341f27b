import { describe, expect, it, vi } from 'vitest'
import AuthGate from '../../src/auth/AuthGate.vue'
import { authorizationUrl } from '../../src/auth/oidc'
import { startSession } from '../../src/auth/session'
import { mountIn, settle } from '../helpers'
import { discovery, stubNetwork } from './fixtures'

describe('sign-in gate', () => {
  it('says why a return from the provider was refused and offers to sign in again', async () => {
    stubNetwork({ '/.well-known/openid-configuration': discovery })
    const url = await authorizationUrl('workbench')
    window.history.replaceState(
      null,
      '',
      `/workbench/?error=access_denied&state=${url.searchParams.get('state') ?? ''}`,
    )
    const navigate = vi.fn()
    await startSession({ page: 'workbench', required: true, navigate })
    const { wrapper } = mountIn('zh-CN', AuthGate)

    expect(wrapper.get('h2').text()).toBe('登录未完成')
    expect(wrapper.get('[role="alert"]').text()).toBe('统一身份认证拒绝了本次登录：access_denied')
    expect(navigate).not.toHaveBeenCalled()

    await wrapper.get('button').trigger('click')
    await settle()
    // PKCE hashing is real crypto: under a busy test run it can outlast a fixed number of ticks.
    await vi.waitFor(() => expect(navigate).toHaveBeenCalled())
    expect(new URL(navigate.mock.calls[0]?.[0] as string).pathname).toBe('/oidc/authorize')
    window.history.replaceState(null, '', '/')
  })
})
