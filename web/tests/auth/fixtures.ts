import { vi } from 'vitest'
import { jsonResponse } from '../helpers'

export const ISSUER = 'http://127.0.0.1:8000'

/** The provider's discovery document, as the contract describes it. */
export function discoveryBody(): Record<string, unknown> {
  return {
    issuer: ISSUER,
    authorization_endpoint: `${ISSUER}/oidc/authorize`,
    token_endpoint: `${ISSUER}/oidc/token`,
    userinfo_endpoint: `${ISSUER}/oidc/userinfo`,
    end_session_endpoint: `${ISSUER}/oidc/logout`,
    jwks_uri: `${ISSUER}/oidc/jwks`,
    response_types_supported: ['code'],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: ['RS256'],
    code_challenge_methods_supported: ['S256'],
  }
}

/** Base64url without padding, as JOSE and PKCE write bytes. */
export function base64url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}

const encodeJson = (value: unknown): string => base64url(new TextEncoder().encode(JSON.stringify(value)))

/**
 * An ID token with the claims the client checks. The signature is not checked by a public
 * client that got the token straight from the token endpoint, so a placeholder does.
 */
export function idToken(claims: Record<string, unknown> = {}): string {
  const now = Math.floor(Date.now() / 1000)
  const body = { iss: ISSUER, aud: 'cityos-web', sub: 'u-1', iat: now, exp: now + 300, ...claims }
  return `${encodeJson({ alg: 'RS256', typ: 'JWT', kid: 'k1' })}.${encodeJson(body)}.c2lnbmF0dXJl`
}

export function tokenBody(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    access_token: 'access-1',
    token_type: 'Bearer',
    expires_in: 300,
    refresh_token: 'refresh-1',
    id_token: idToken({ name: '平台管理员（演示）', preferred_username: 'admin' }),
    scope: 'openid profile phone api offline_access',
    ...overrides,
  }
}

export type Handler = (url: URL, init: RequestInit | undefined) => Response | Promise<Response>

/**
 * Replace fetch with one that answers by path (the provider's and the API's), failing the
 * test loudly for anything unexpected. The calls are kept with their URL, method and body.
 */
export function stubNetwork(routes: Record<string, Handler>) {
  const calls: { url: URL; method: string; headers: Headers; body: string }[] = []
  const fetchMock = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = new URL(input instanceof Request ? input.url : String(input), window.location.origin)
    const request = input instanceof Request ? input : null
    const body = init?.body ?? (request ? await request.clone().text() : '')
    calls.push({
      url,
      method: init?.method ?? request?.method ?? 'GET',
      headers: new Headers(init?.headers ?? request?.headers),
      body: body instanceof URLSearchParams ? body.toString() : String(body ?? ''),
    })
    const handler = routes[url.pathname]
    if (!handler) {
      return jsonResponse({ title: 'Not found', status: 404, code: 'not_found' }, { status: 404, type: 'application/problem+json' })
    }
    return handler(url, init)
  })
  vi.stubGlobal('fetch', fetchMock)
  return { fetchMock, calls, callsTo: (path: string) => calls.filter((call) => call.url.pathname === path) }
}

export const discovery: Handler = () => jsonResponse(discoveryBody())
