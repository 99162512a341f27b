import { afterEach, describe, expect, it, vi } from 'vitest'
import { authorizationUrl } from '../../src/auth/oidc'
import { accessToken, session, signOut, startSession } from '../../src/auth/session'
import { readPending, readTokens, TOKENS_KEY } from '../../src/auth/storage'
import { apiFetch, ApiError } from '../../src/shared/api'
import { jsonResponse, storedTokens } from '../helpers'
import { discovery, idToken, stubNetwork, tokenBody } from './fixtures'

const ORIGIN = window.location.origin
const TOKEN = '/oidc/token'
const WELL_KNOWN = '/.well-known/openid-configuration'

function signedInTab(overrides: Parameters<typeof storedTokens>[0] = {}): void {
  sessionStorage.setItem(TOKENS_KEY, JSON.stringify(storedTokens(overrides)))
}

function bearer(headers: Headers): string | null {
  return headers.get('authorization')
}

afterEach(() => {
  window.history.replaceState(null, '', '/')
})

describe('page start', () => {
  it('sends a page that needs sign-in to the provider', async () => {
    stubNetwork({ [WELL_KNOWN]: discovery })
    window.history.replaceState(null, '', '/workbench/#/users')
    const navigate = vi.fn()

    await expect(startSession({ page: 'workbench', required: true, navigate })).resolves.toBe('redirecting')

    expect(navigate).toHaveBeenCalledOnce()
    const target = new URL(navigate.mock.calls[0]?.[0] as string)
    expect(target.pathname).toBe('/oidc/authorize')
    expect(target.searchParams.get('redirect_uri')).toBe(`${ORIGIN}/workbench/`)
    expect(readPending()?.return_hash).toBe('#/users')
  })

  it('leaves an anonymous portal visitor alone', async () => {
    const network = stubNetwork({})
    const navigate = vi.fn()
    await expect(startSession({ page: 'portal', required: false, navigate })).resolves.toBe('ready')
    expect(session.status).toBe('anonymous')
    expect(navigate).not.toHaveBeenCalled()
    expect(network.calls).toHaveLength(0)
  })

  it('finishes the return, strips the code from the address and restores the hash', async () => {
    stubNetwork({ [WELL_KNOWN]: discovery })
    window.history.replaceState(null, '', '/workbench/#/users')
    const url = await authorizationUrl('workbench', { returnHash: '#/users' })
    const nonce = readPending()?.nonce
    stubNetwork({
      [WELL_KNOWN]: discovery,
      [TOKEN]: () => jsonResponse(tokenBody({ id_token: idToken({ nonce, name: '值班员' }) })),
    })
    window.history.replaceState(null, '', `/workbench/?code=c1&state=${url.searchParams.get('state') ?? ''}`)

    await startSession({ page: 'workbench', required: true, navigate: vi.fn() })

    expect(session.status).toBe('signed-in')
    expect(session.tokens?.claims.name).toBe('值班员')
    expect(window.location.search).toBe('')
    expect(window.location.pathname).toBe('/workbench/')
    expect(window.location.hash).toBe('#/users')
    expect(readTokens()?.access_token).toBe('access-1')
  })

  it('does not sign in on a forged return and does not loop back to the provider', async () => {
    stubNetwork({ [WELL_KNOWN]: discovery })
    await authorizationUrl('workbench')
    const network = stubNetwork({ [WELL_KNOWN]: discovery, [TOKEN]: () => jsonResponse(tokenBody()) })
    window.history.replaceState(null, '', '/workbench/?code=c1&state=not-ours')
    const navigate = vi.fn()

    await startSession({ page: 'workbench', required: true, navigate })

    expect(session.status).toBe('failed')
    expect(session.error?.code).toBe('state_mismatch')
    expect(navigate).not.toHaveBeenCalled()
    expect(network.callsTo(TOKEN)).toHaveLength(0)
    expect(readTokens()).toBeNull()
    expect(window.location.search).toBe('')
  })
})

describe('refresh', () => {
  it('renews a token about to expire and stores the rotated refresh token', async () => {
    signedInTab({ access_token: 'old-access', refresh_token: 'refresh-1', expires_at: Date.now() + 10_000 })
    await startSession({ page: 'workbench', required: true, navigate: vi.fn() })
    const network = stubNetwork({
      [WELL_KNOWN]: discovery,
      [TOKEN]: () => jsonResponse(tokenBody({ access_token: 'new-access', refresh_token: 'refresh-2', id_token: undefined })),
    })

    await expect(accessToken()).resolves.toBe('new-access')

    const form = new URLSearchParams(network.callsTo(TOKEN)[0]?.body)
    expect(form.get('grant_type')).toBe('refresh_token')
    expect(form.get('refresh_token')).toBe('refresh-1')
    expect(form.get('client_id')).toBe('cityos-web')
    expect(readTokens()?.refresh_token).toBe('refresh-2')
    expect(readTokens()?.access_token).toBe('new-access')
    // What the ID token said is kept when a refresh brings none.
    expect(readTokens()?.claims.name).toBe('平台管理员（演示）')
  })

  it('uses a fresh token as it is, without asking the provider', async () => {
    signedInTab({ access_token: 'fresh' })
    await startSession({ page: 'workbench', required: true, navigate: vi.fn() })
    const network = stubNetwork({})
    await expect(accessToken()).resolves.toBe('fresh')
    expect(network.calls).toHaveLength(0)
  })
})

describe('API calls', () => {
  it('send the access token to /api', async () => {
    signedInTab({ access_token: 'access-9' })
    await startSession({ page: 'workbench', required: true, navigate: vi.fn() })
    const network = stubNetwork({ '/api/v1/x': () => jsonResponse({ ok: true }) })

    await apiFetch('/api/v1/x')

    expect(bearer(network.calls[0]!.headers)).toBe('Bearer access-9')
  })

  it('answer 401 with one refresh and one retry with the new token', async () => {
    signedInTab({ access_token: 'revoked', refresh_token: 'refresh-1' })
    await startSession({ page: 'workbench', required: true, navigate: vi.fn() })
    const network = stubNetwork({
      [WELL_KNOWN]: discovery,
      [TOKEN]: () => jsonResponse(tokenBody({ access_token: 'renewed', refresh_token: 'refresh-2', id_token: undefined })),
      '/api/v1/x': (_url, init) =>
        new Headers(init?.headers).get('authorization') === 'Bearer renewed'
          ? jsonResponse({ ok: true })
          : jsonResponse({ code: 'unauthenticated', status: 401 }, { status: 401, type: 'application/problem+json' }),
    })

    await expect(apiFetch('/api/v1/x')).resolves.toEqual({ ok: true })

    const apiCalls = network.callsTo('/api/v1/x')
    expect(apiCalls.map((call) => bearer(call.headers))).toEqual(['Bearer revoked', 'Bearer renewed'])
    expect(network.callsTo(TOKEN)).toHaveLength(1)
    expect(readTokens()?.refresh_token).toBe('refresh-2')
  })

  it('share one refresh between calls refused together', async () => {
    signedInTab({ access_token: 'revoked', refresh_token: 'refresh-1' })
    await startSession({ page: 'workbench', required: true, navigate: vi.fn() })
    const network = stubNetwork({
      [WELL_KNOWN]: discovery,
      [TOKEN]: () => jsonResponse(tokenBody({ access_token: 'renewed', refresh_token: 'refresh-2', id_token: undefined })),
      '/api/v1/x': (_url, init) =>
        new Headers(init?.headers).get('authorization') === 'Bearer renewed'
          ? jsonResponse({ ok: true })
          : jsonResponse({ code: 'unauthenticated' }, { status: 401, type: 'application/problem+json' }),
    })

    await Promise.all([apiFetch('/api/v1/x'), apiFetch('/api/v1/x'), apiFetch('/api/v1/x')])

    // Rotation: a second refresh with refresh-1 would be refused and end the session.
    expect(network.callsTo(TOKEN)).toHaveLength(1)
  })

  it('end the session and go to sign-in when the refresh is refused', async () => {
    signedInTab({ access_token: 'revoked', refresh_token: 'used-already' })
    const navigate = vi.fn()
    await startSession({ page: 'workbench', required: true, navigate })
    stubNetwork({
      [WELL_KNOWN]: discovery,
      [TOKEN]: () => jsonResponse({ error: 'invalid_grant' }, { status: 400 }),
      '/api/v1/x': () => jsonResponse({ code: 'unauthenticated' }, { status: 401, type: 'application/problem+json' }),
    })

    const error = await apiFetch('/api/v1/x').catch((caught: unknown) => caught)

    expect(error).toBeInstanceOf(ApiError)
    expect((error as ApiError).status).toBe(401)
    expect(readTokens()).toBeNull()
    expect(new URL(navigate.mock.calls[0]?.[0] as string).pathname).toBe('/oidc/authorize')
  })

  it('retry only once: a second 401 ends the session', async () => {
    signedInTab({ access_token: 'revoked' })
    const navigate = vi.fn()
    await startSession({ page: 'workbench', required: true, navigate })
    const network = stubNetwork({
      [WELL_KNOWN]: discovery,
      [TOKEN]: () => jsonResponse(tokenBody({ access_token: 'also-refused', id_token: undefined })),
      '/api/v1/x': () => jsonResponse({ code: 'unauthenticated' }, { status: 401, type: 'application/problem+json' }),
    })

    await expect(apiFetch('/api/v1/x')).rejects.toBeInstanceOf(ApiError)

    expect(network.callsTo('/api/v1/x')).toHaveLength(2)
    expect(network.callsTo(TOKEN)).toHaveLength(1)
    expect(session.status).not.toBe('signed-in')
    expect(navigate).toHaveBeenCalled()
  })

  it('go out without a token when nobody is signed in', async () => {
    const network = stubNetwork({ '/api/v1/meta': () => jsonResponse({}) })
    await apiFetch('/api/v1/meta')
    expect(bearer(network.calls[0]!.headers)).toBeNull()
  })
})

describe('sign out', () => {
  it('forgets the tokens and ends the provider session', async () => {
    signedInTab({ id_token: 'id-token-1' })
    const navigate = vi.fn()
    await startSession({ page: 'portal', required: false, navigate })
    stubNetwork({ [WELL_KNOWN]: discovery })

    await signOut()

    expect(readTokens()).toBeNull()
    const target = new URL(navigate.mock.calls[0]?.[0] as string)
    expect(target.pathname).toBe('/oidc/logout')
    expect(target.searchParams.get('id_token_hint')).toBe('id-token-1')
    expect(target.searchParams.get('post_logout_redirect_uri')).toBe(`${ORIGIN}/portal/`)
  })
})
