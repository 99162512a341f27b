/**
 * The OIDC steps of a public client: discovery, the authorization request with PKCE, state
 * and nonce, the code exchange, refresh with rotation, and the end-session URL. The protocol
 * checks themselves are oauth4webapi's; this file only says what CityOS sends and keeps.
 */
import * as oauth from 'oauth4webapi'
import { CLIENT_ID, DISCOVERY_PATH, SCOPE, pageRoot, type AuthPage } from './config'
import {
  clearPending,
  readPending,
  writePending,
  type IdentityClaims,
  type StoredTokens,
} from './storage'

/** Why a sign-in could not be completed; `code` picks the message the page shows. */
export type SignInErrorCode =
  | 'discovery_failed'
  | 'no_pending'
  | 'state_mismatch'
  | 'provider_error'
  | 'exchange_failed'

export class SignInError extends Error {
  readonly code: SignInErrorCode
  /** The provider's own `error` (e.g. access_denied), when it sent one. */
  readonly providerError: string | null

  constructor(code: SignInErrorCode, message: string, providerError: string | null = null) {
    super(message)
    this.name = 'SignInError'
    this.code = code
    this.providerError = providerError
  }
}

const client: oauth.Client = { client_id: CLIENT_ID }
const clientAuth = oauth.None()

// The demo and the e2e tests run over plain HTTP on 127.0.0.1; production is HTTPS only.
function requestOptions(): { [oauth.allowInsecureRequests]?: boolean } {
  return window.location.protocol === 'http:' ? { [oauth.allowInsecureRequests]: true } : {}
}

const ENDPOINTS = [
  'authorization_endpoint',
  'token_endpoint',
  'userinfo_endpoint',
  'end_session_endpoint',
  'jwks_uri',
] as const

// The document names the issuer's host, which is not the page's behind the Vite dev proxy
// or a reverse proxy: call each endpoint by its path on the page's own origin.
function onPageOrigin(server: oauth.AuthorizationServer): oauth.AuthorizationServer {
  const local: Record<string, unknown> = { ...server }
  for (const name of ENDPOINTS) {
    const value = server[name]
    if (typeof value === 'string') {
      const url = new URL(value)
      local[name] = new URL(`${url.pathname}${url.search}`, window.location.origin).href
    }
  }
  return local as oauth.AuthorizationServer
}

let discovered: Promise<oauth.AuthorizationServer> | null = null

async function fetchDiscovery(): Promise<oauth.AuthorizationServer> {
  try {
    const response = await fetch(new URL(DISCOVERY_PATH, window.location.origin), {
      headers: { accept: 'application/json' },
    })
    const body = (await response.clone().json()) as { issuer?: unknown }
    if (typeof body.issuer !== 'string') {
      throw new TypeError('discovery document without an issuer')
    }
    // The issuer is whatever the provider calls itself; its ID tokens must then say the same.
    return onPageOrigin(await oauth.processDiscoveryResponse(new URL(body.issuer), response))
  } catch (cause) {
    throw new SignInError('discovery_failed', `OIDC discovery failed: ${String(cause)}`)
  }
}

/** The provider's metadata, fetched once per page view. */
export function discover(): Promise<oauth.AuthorizationServer> {
  discovered ??= fetchDiscovery().catch((error: unknown) => {
    discovered = null
    throw error
  })
  return discovered
}

/** Forget the discovered metadata (tests; a provider that moved). */
export function forgetDiscovery(): void {
  discovered = null
}

/**
 * The authorization URL for `page`, after remembering the verifier, state and nonce the
 * return must match. The caller navigates to it.
 */
export async function authorizationUrl(
  page: AuthPage,
  options: { locale?: string; returnHash?: string } = {},
): Promise<URL> {
  const server = await discover()
  const codeVerifier = oauth.generateRandomCodeVerifier()
  const pending = {
    state: oauth.generateRandomState(),
    nonce: oauth.generateRandomNonce(),
    code_verifier: codeVerifier,
    redirect_uri: pageRoot(page),
    return_hash: options.returnHash ?? '',
  }
  writePending(pending)
  const url = new URL(server.authorization_endpoint ?? '/oidc/authorize', window.location.origin)
  url.searchParams.set('response_type', 'code')
  url.searchParams.set('client_id', CLIENT_ID)
  url.searchParams.set('redirect_uri', pending.redirect_uri)
  url.searchParams.set('scope', SCOPE)
  url.searchParams.set('state', pending.state)
  url.searchParams.set('nonce', pending.nonce)
  url.searchParams.set('code_challenge', await oauth.calculatePKCECodeChallenge(codeVerifier))
  url.searchParams.set('code_challenge_method', 'S256')
  if (options.locale) {
    url.searchParams.set('ui_locales', options.locale)
  }
  return url
}

/** True when `url` is the provider sending the browser back with a code or an error. */
export function isAuthorizationReturn(url: URL): boolean {
  const params = url.searchParams
  return params.has('state') && (params.has('code') || params.has('error'))
}

function claimsOf(result: oauth.TokenEndpointResponse): IdentityClaims | null {
  const claims = oauth.getValidatedIdTokenClaims(result)
  if (!claims) {
    return null
  }
  const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined)
  return {
    sub: claims.sub,
    name: text(claims.name),
    preferred_username: text(claims.preferred_username),
    locale: text(claims.locale),
  }
}

function stored(result: oauth.TokenEndpointResponse, previous: StoredTokens | null): StoredTokens {
  const expiresIn = typeof result.expires_in === 'number' ? result.expires_in : 300
  return {
    access_token: result.access_token,
    // Rotation: the provider sends a new refresh token each time and the old one dies.
    refresh_token: result.refresh_token ?? previous?.refresh_token ?? null,
    id_token: result.id_token ?? previous?.id_token ?? null,
    expires_at: Date.now() + expiresIn * 1000,
    scope: result.scope ?? previous?.scope ?? '',
    claims: claimsOf(result) ?? previous?.claims ?? { sub: '' },
  }
}

/**
 * Finish the sign-in the provider returned to `url`: the state must be the one this tab
 * sent, then the code is exchanged with the verifier and the ID token's nonce checked.
 */
export async function completeSignIn(url: URL): Promise<{ tokens: StoredTokens; returnHash: string }> {
  const pending = readPending()
  // One use only: a replayed or second return finds nothing to match.
  clearPending()
  if (!pending) {
    throw new SignInError('no_pending', 'no sign-in was started in this tab')
  }
  const server = await discover()
  let callback: URLSearchParams
  try {
    callback = oauth.validateAuthResponse(server, client, url.searchParams, pending.state)
  } catch (error) {
    if (error instanceof oauth.AuthorizationResponseError) {
      throw new SignInError('provider_error', error.error_description ?? error.error, error.error)
    }
    throw new SignInError('state_mismatch', `authorization response refused: ${String(error)}`)
  }
  try {
    const response = await oauth.authorizationCodeGrantRequest(
      server,
      client,
      clientAuth,
      callback,
      pending.redirect_uri,
      pending.code_verifier,
      requestOptions(),
    )
    const result = await oauth.processAuthorizationCodeResponse(server, client, response, {
      expectedNonce: pending.nonce,
      requireIdToken: true,
    })
    return { tokens: stored(result, null), returnHash: pending.return_hash }
  } catch (error) {
    const providerError = error instanceof oauth.ResponseBodyError ? error.error : null
    throw new SignInError('exchange_failed', `code exchange failed: ${String(error)}`, providerError)
  }
}

/** The provider refused the refresh token: the session is over. */
export class RefreshRejected extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'RefreshRejected'
  }
}

/**
 * New tokens for `tokens.refresh_token`. Throws RefreshRejected when the provider says no
 * (expired, revoked or already used); other failures (network) pass through unchanged.
 */
export async function refreshTokens(tokens: StoredTokens): Promise<StoredTokens> {
  if (!tokens.refresh_token) {
    throw new RefreshRejected('no refresh token')
  }
  const server = await discover()
  const response = await oauth.refreshTokenGrantRequest(
    server,
    client,
    clientAuth,
    tokens.refresh_token,
    requestOptions(),
  )
  try {
    return stored(await oauth.processRefreshTokenResponse(server, client, response), tokens)
  } catch (error) {
    if (error instanceof oauth.ResponseBodyError) {
      throw new RefreshRejected(`${error.error}: ${error.error_description ?? ''}`)
    }
    throw error
  }
}

/** Where to send the browser to end the provider's session and come back to `page`. */
export async function endSessionUrl(page: AuthPage, idToken: string | null): Promise<URL | null> {
  const server = await discover()
  if (!server.end_session_endpoint) {
    return null
  }
  const url = new URL(server.end_session_endpoint)
  if (idToken) {
    url.searchParams.set('id_token_hint', idToken)
  }
  url.searchParams.set('post_logout_redirect_uri', pageRoot(page))
  url.searchParams.set('client_id', CLIENT_ID)
  return url
}
