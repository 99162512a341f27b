import { describe, expect, it, vi } from 'vitest'
import { startSession } from '../../src/auth/session'
import { TOKENS_KEY } from '../../src/auth/storage'
import { ApiError } from '../../src/shared/api'
import { FILES_API, fileBlob, fileUrls, uploadFile, uploadProblem, uploadsOnce } from '../../src/shared/files'
import { discovery, stubNetwork, tokenBody } from '../auth/fixtures'
import { jsonResponse, signInAs, storedTokens } from '../helpers'

const SHA = 'a'.repeat(64)
const stored = { sha256: SHA, size: 4, content_type: 'image/png', filename: 'scene.png' }
const png = (name = 'scene.png'): File => new File([new Uint8Array([137, 80, 78, 71])], name, { type: 'image/png' })
const problem = (status: number, body: Record<string, unknown>): Response =>
  jsonResponse({ status, ...body }, { status, type: 'application/problem+json' })

describe('uploadFile', () => {
  it('posts the file as multipart field "file" with the bearer token', async () => {
    await signInAs()
    const { fetchMock } = stubNetwork({ [FILES_API]: () => jsonResponse(stored, { status: 201 }) })

    expect(await uploadFile(png())).toEqual(stored)

    const [url, init] = fetchMock.mock.calls[0]!
    expect(String(url)).toBe(FILES_API)
    expect(init?.method).toBe('POST')
    const body = init?.body
    expect(body).toBeInstanceOf(FormData)
    const sent = (body as FormData).get('file')
    expect(sent).toBeInstanceOf(File)
    expect((sent as File).name).toBe('scene.png')
    const headers = new Headers(init?.headers)
    expect(headers.get('authorization')).toBe('Bearer access-1')
    // The browser writes the multipart content type with its boundary.
    expect(headers.has('content-type')).toBe(false)
  })

  it('renews the token once on 401 and sends the file again', async () => {
    sessionStorage.setItem(TOKENS_KEY, JSON.stringify(storedTokens({ access_token: 'revoked' })))
    await startSession({ page: 'portal', required: false, navigate: vi.fn() })
    const { callsTo } = stubNetwork({
      '/.well-known/openid-configuration': discovery,
      '/oidc/token': () => jsonResponse(tokenBody({ access_token: 'renewed', refresh_token: 'refresh-2', id_token: undefined })),
      [FILES_API]: (_url, init) =>
        new Headers(init?.headers).get('authorization') === 'Bearer renewed'
          ? jsonResponse(stored, { status: 201 })
          : problem(401, { code: 'unauthenticated' }),
    })

    expect(await uploadFile(png())).toEqual(stored)

    const posts = callsTo(FILES_API)
    expect(posts.map((call) => call.headers.get('authorization'))).toEqual(['Bearer revoked', 'Bearer renewed'])
  })

  it('throws the problem for a file too large or of a type the store refuses', async () => {
    await signInAs()
    stubNetwork({
      [FILES_API]: () => problem(413, { title: '文件过大', code: 'payload_too_large', max_bytes: 10 * 1024 * 1024 }),
    })
    const error = await uploadFile(png()).catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(ApiError)
    expect((error as ApiError).status).toBe(413)
    expect((error as ApiError).problem?.max_bytes).toBe(10 * 1024 * 1024)
  })

  it('refuses an answer without a hash', async () => {
    await signInAs()
    stubNetwork({ [FILES_API]: () => jsonResponse({ size: 4 }, { status: 201 }) })
    const error = await uploadFile(png()).catch((caught: unknown) => caught)
    expect((error as ApiError).code).toBe('invalid_response')
  })
})

describe('uploadsOnce', () => {
  it('sends each file once, however often the form is submitted', async () => {
    await signInAs()
    const { callsTo } = stubNetwork({ [FILES_API]: () => jsonResponse(stored, { status: 201 }) })
    const upload = uploadsOnce()
    const file = png()
    await upload(file)
    await upload(file)
    expect(callsTo(FILES_API)).toHaveLength(1)
    await upload(png('other.png'))
    expect(callsTo(FILES_API)).toHaveLength(2)
  })

  it('tries again after a failure', async () => {
    await signInAs()
    let posts = 0
    const { callsTo } = stubNetwork({
      [FILES_API]: () => {
        posts += 1
        return posts === 1 ? problem(503, { code: 'unavailable' }) : jsonResponse(stored, { status: 201 })
      },
    })
    const upload = uploadsOnce()
    const file = png()
    await expect(upload(file)).rejects.toBeInstanceOf(ApiError)
    expect(await upload(file)).toEqual(stored)
    expect(callsTo(FILES_API)).toHaveLength(2)
  })
})

describe('fileBlob', () => {
  it('fetches a stored file by its hash with the token', async () => {
    await signInAs()
    const { calls } = stubNetwork({
      [`${FILES_API}/${SHA}`]: () => new Response(new Uint8Array([1, 2, 3]), { headers: { 'content-type': 'image/png' } }),
    })
    const blob = await fileBlob(SHA)
    expect(blob.size).toBe(3)
    expect(calls[0]!.headers.get('authorization')).toBe('Bearer access-1')
  })
})

describe('uploadProblem', () => {
  const t = (key: string, named?: Record<string, unknown>): string => (named ? `${key} ${JSON.stringify(named)}` : key)
  const fallback = (): string => 'fallback'
  const error = (status: number, problem: Record<string, unknown>): ApiError =>
    new ApiError('x', { status, code: String(problem.code ?? 'http_error'), problem })

  it('names the limit for a file too large', () => {
    expect(uploadProblem(error(413, { code: 'payload_too_large', max_bytes: 50 * 1024 * 1024 }), t, fallback)).toBe(
      'cases.photo.tooLargeLimit {"mb":50}',
    )
    expect(uploadProblem(error(413, { code: 'payload_too_large' }), t, fallback)).toBe('cases.photo.tooLarge')
  })

  it('says an unsupported type or an empty file, else what the server said', () => {
    expect(uploadProblem(error(415, { code: 'unsupported_media_type' }), t, fallback)).toBe('cases.photo.unsupported')
    expect(uploadProblem(error(422, { code: 'empty_file' }), t, fallback)).toBe('cases.photo.empty')
    expect(uploadProblem(error(422, { code: 'validation_failed' }), t, fallback)).toBe('fallback')
  })
})

describe('fileUrls', () => {
  const blob = new Blob([new Uint8Array([137, 80, 78, 71])], { type: 'image/png' })

  it('fetches each file once and revokes every URL it made', async () => {
    let made = 0
    const create = vi.spyOn(URL, 'createObjectURL').mockImplementation(() => `blob:${(made += 1)}`)
    const revoke = vi.spyOn(URL, 'revokeObjectURL').mockImplementation(() => undefined)
    const load = vi.fn(async () => blob)
    const urls = fileUrls(load)

    expect(await urls.url(SHA)).toBe('blob:1')
    expect(await urls.url(SHA)).toBe('blob:1')
    expect(await urls.url('b'.repeat(64))).toBe('blob:2')
    expect(load).toHaveBeenCalledTimes(2)

    urls.revokeAll()
    expect(revoke.mock.calls.map(([url]) => url)).toEqual(['blob:1', 'blob:2'])
    expect(create).toHaveBeenCalledTimes(2)
    vi.restoreAllMocks()
  })

  it('makes no URL for a file that arrives after the view is gone, and retries a failure', async () => {
    const create = vi.spyOn(URL, 'createObjectURL').mockReturnValue('blob:late')
    let arrive: (value: Blob) => void = () => undefined
    const urls = fileUrls(() => new Promise<Blob>((resolve) => (arrive = resolve)))
    const late = urls.url(SHA)
    urls.revokeAll()
    arrive(blob)
    await expect(late).rejects.toThrow('released')
    expect(create).not.toHaveBeenCalled()

    const flaky = vi.fn().mockRejectedValueOnce(new Error('offline')).mockResolvedValue(blob)
    const again = fileUrls(flaky)
    await expect(again.url(SHA)).rejects.toThrow('offline')
    expect(await again.url(SHA)).toBe('blob:late')
    vi.restoreAllMocks()
  })

  it('fetches with the bearer token', async () => {
    await signInAs()
    const { callsTo } = stubNetwork({ [`${FILES_API}/${SHA}`]: () => new Response(blob, { headers: { 'content-type': 'image/png' } }) })
    vi.spyOn(URL, 'createObjectURL').mockReturnValue('blob:x')
    expect(await fileUrls().url(SHA)).toBe('blob:x')
    expect(callsTo(`${FILES_API}/${SHA}`)[0]!.headers.get('authorization')).toBe('Bearer access-1')
    vi.restoreAllMocks()
  })
})
