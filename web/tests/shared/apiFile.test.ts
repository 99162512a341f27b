import { describe, expect, it } from 'vitest'
import { ApiError, apiFile, filenameOf } from '../../src/shared/api'
import { jsonResponse, signInAs, stubFetch } from '../helpers'

describe('apiFile', () => {
  it('fetches a file with the bearer token and the name the server gives', async () => {
    await signInAs()
    const fetchMock = stubFetch(
      () =>
        new Response('bytes', {
          headers: { 'content-type': 'application/octet-stream', 'content-disposition': 'attachment; filename="a.xlsx"' },
        }),
    )
    const file = await apiFile('/api/v1/audit/records.xlsx')
    expect(await file.blob.text()).toBe('bytes')
    expect(file.filename).toBe('a.xlsx')
    const headers = new Headers(fetchMock.mock.calls[0]?.[1]?.headers)
    expect(headers.get('authorization')).toBe('Bearer access-1')
  })

  it('reads a problem+json failure into an ApiError', async () => {
    stubFetch(() => jsonResponse({ title: '没有权限', code: 'forbidden', status: 403 }, { status: 403, type: 'application/problem+json' }))
    const error = await apiFile('/api/v1/audit/records.xlsx').catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(ApiError)
    expect((error as ApiError).code).toBe('forbidden')
    expect((error as ApiError).status).toBe(403)
  })
})

describe('filenameOf', () => {
  it('reads plain, quoted and RFC 5987 names', () => {
    expect(filenameOf('attachment; filename="cityos-audit.xlsx"')).toBe('cityos-audit.xlsx')
    expect(filenameOf('attachment; filename=plain.xlsx')).toBe('plain.xlsx')
    expect(filenameOf(`attachment; filename="x.xlsx"; filename*=utf-8''%E5%AE%A1%E8%AE%A1.xlsx`)).toBe('审计.xlsx')
    expect(filenameOf('attachment')).toBeNull()
    expect(filenameOf(null)).toBeNull()
  })
})
