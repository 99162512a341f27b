import { afterEach, describe, expect, it } from 'vitest'
import { authorizationUrl, completeSignIn, endSessionUrl, SignInError } from '../../src/auth/oidc'
import { PENDING_KEY, readPending } from '../../src/auth/storage'
import { jsonResponse } from '../helpers'
import { base64url, discovery, idToken, stubNetwork, tokenBody } from './fixtures'

const ORIGIN = window.location.origin

function returnUrl(params: Record<string, string>): URL {
  return new URL(`${ORIGIN}/workbench/?${new URLSearchParams(params)}`)
}

async function refused(promise: Promise<unknown>): Promise<SignInError> {
  try {
    await promise
  } catch (error) {
    expect(error).toBeInstanceOf(SignInError)
    return error as SignInError
  }
  throw new Error('expected the sign-in to be refused')
}

afterEach(() => {
  sessionStorage.clear()
})

describe('authorization request', () => {
  it('sends a code request with PKCE S256, state, nonce and the page root as redirect', async () => {
    stubNetwork({ '/.well-known/openid-configuration': discovery })

    const url = await authorizationUrl('workbench', { locale: 'zh-CN', returnHash: '#/users' })

    // Endpoints are called on the page's own origin, whatever host the issuer names.
    expect(`${url.origin}${url.pathname}`).toBe(`${ORIGIN}/oidc/authorize`)
    const params = url.searchParams
    expect(params.get('response_type')).toBe('code')
    expect(params.get('client_id')).toBe('cityos-web')
    expect(params.get('redirect_uri')).toBe(`${ORIGIN}/workbench/`)
    expect(params.get('scope')).toBe('openid profile phone api offline_access')
    expect(params.get('code_challenge_method')).toBe('S256')
    expect(params.get('ui_locales')).toBe('zh-CN')

    const pending = readPending()
    expect(pending).not.toBeNull()
    expect(params.get('state')).toBe(pending?.state)
    expect(params.get('nonce')).toBe(pending?.nonce)
    expect(pending?.return_hash).toBe('#/users')
    expect(pending?.code_verifier).toMatch(/^[A-Za-z0-9_-]{43,128}$/)
    const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(pending?.code_verifier ?? ''))
    const expected = base64url(new Uint8Array(digest))
    expect(params.get('code_challenge')).toBe(expected)
  })

  it('makes a new verifier, state and nonce for every request', async () => {
    stubNetwork({ '/.well-known/openid-configuration': discovery })
    const first = await authorizationUrl('portal')
    const second = await authorizationUrl('portal')
    for (const name of ['state', 'nonce', 'code_challenge']) {
      expect(first.searchParams.get(name)).not.toBe(second.searchParams.get(name))
    }
  })

  it('says so when the provider cannot be discovered', async () => {
    stubNetwork({})
    const error = await refused(authorizationUrl('workbench'))
    expect(error.code).toBe('discovery_failed')
  })
})

describe('return from the provider', () => {
  it('exchanges the code with the verifier and keeps the tokens', async () => {
    stubNetwork({ '/.well-known/openid-configuration': discovery })
    const url = await authorizationUrl('workbench', { returnHash: '#/users' })
    const nonce = readPending()?.nonce
    stubNetwork({
      '/.well-known/openid-configuration': discovery,
      '/oidc/token': () => jsonResponse(tokenBody({ id_token: idToken({ nonce, name: '平台管理员（演示）' }) })),
    })

    const { tokens, returnHash } = await completeSignIn(
      returnUrl({ code: 'code-1', state: url.searchParams.get('state') ?? '' }),
    )

    expect(tokens.access_token).toBe('access-1')
    expect(tokens.refresh_token).toBe('refresh-1')
    expect(tokens.claims.name).toBe('平台管理员（演示）')
    expect(tokens.expires_at).toBeGreaterThan(Date.now() + 290_000)
    expect(returnHash).toBe('#/users')
    expect(sessionStorage.getItem(PENDING_KEY)).toBeNull()
  })

  it('posts the code, the exact redirect URI, the client id and the verifier', async () => {
    stubNetwork({ '/.well-known/openid-configuration': discovery })
    const url = await authorizationUrl('ioc')
    const pending = readPending()
    const network = stubNetwork({
      '/.well-known/openid-configuration': discovery,
      '/oidc/token': () => jsonResponse(tokenBody({ id_token: idToken({ nonce: pending?.nonce }) })),
    })

    await completeSignIn(
      new URL(`${ORIGIN}/ioc/?code=code-7&state=${url.searchParams.get('state') ?? ''}`),
    )

    const [call] = network.callsTo('/oidc/token')
    expect(call?.method).toBe('POST')
    const form = new URLSearchParams(call?.body)
    expect(form.get('grant_type')).toBe('authorization_code')
    expect(form.get('code')).toBe('code-7')
    expect(form.get('redirect_uri')).toBe(`${ORIGIN}/ioc/`)
    expect(form.get('client_id')).toBe('cityos-web')
    expect(form.get('code_verifier')).toBe(pending?.code_verifier)
  })

  it('refuses a return whose state is not the one this tab sent, without exchanging the code', async () => {
    stubNetwork({ '/.well-known/openid-configuration': discovery })
    await authorizationUrl('workbench')
    const network = stubNetwork({
      '/.well-known/openid-configuration': discovery,
      '/oidc/token': () => jsonResponse(tokenBody()),
    })

    const error = await refused(completeSignIn(returnUrl({ code: 'stolen', state: 'forged-state' })))

    expect(error.code).toBe('state_mismatch')
    expect(network.callsTo('/oidc/token')).toHaveLength(0)
    // One use only: the pending request is gone, so a retry with the right state fails too.
    expect(readPending()).toBeNull()
  })

  it('refuses a return when no sign-in was started in this tab', async () => {
    stubNetwork({ '/.well-known/openid-configuration': discovery })
    const error = await refused(completeSignIn(returnUrl({ code: 'c', state: 's' })))
    expect(error.code).toBe('no_pending')
  })

  it('refuses an ID token whose nonce is not ours', async () => {
    stubNetwork({ '/.well-known/openid-configuration': discovery })
    const url = await authorizationUrl('workbench')
    stubNetwork({
      '/.well-known/openid-configuration': discovery,
      '/oidc/token': () => jsonResponse(tokenBody({ id_token: idToken({ nonce: 'replayed' }) })),
    })
    const error = await refused(completeSignIn(returnUrl({ code: 'c', state: url.searchParams.get('state') ?? '' })))
    expect(error.code).toBe('exchange_failed')
  })

  it('reports the provider’s refusal', async () => {
    stubNetwork({ '/.well-known/openid-configuration': discovery })
    const url = await authorizationUrl('workbench')
    const error = await refused(
      completeSignIn(
        returnUrl({ error: 'access_denied', error_description: 'user cancelled', state: url.searchParams.get('state') ?? '' }),
      ),
    )
    expect(error.code).toBe('provider_error')
    expect(error.providerError).toBe('access_denied')
  })
})

describe('end session', () => {
  it('goes to the provider with the ID token and the page to come back to', async () => {
    stubNetwork({ '/.well-known/openid-configuration': discovery })
    const url = await endSessionUrl('workbench', 'id-token-1')
    expect(`${url?.origin}${url?.pathname}`).toBe(`${ORIGIN}/oidc/logout`)
    expect(url?.searchParams.get('id_token_hint')).toBe('id-token-1')
    expect(url?.searchParams.get('post_logout_redirect_uri')).toBe(`${ORIGIN}/workbench/`)
    expect(url?.searchParams.get('client_id')).toBe('cityos-web')
  })
})
