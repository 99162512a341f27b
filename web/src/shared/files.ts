/** The file store (`/api/v1/files`): upload a file once, then name it by its SHA-256. */
import { ApiError, apiFetch, apiFile } from './api'

export const FILES_API = '/api/v1/files'

/** A stored file, as the upload answers it. */
export interface StoredFile {
  /** SHA-256 of the content, hex: the file's address. */
  sha256: string
  size: number
  /** Sniffed from the bytes by the server, not taken from the name. */
  content_type: string
  filename: string
}

export interface UploadOptions {
  signal?: AbortSignal
  /** An upload from a phone may be slow: two minutes unless given, 0 for never. */
  timeoutMs?: number
}

const UPLOAD_TIMEOUT_MS = 120_000

/**
 * Upload one file as multipart field `file`, with the same sign-in handling as `apiFetch`
 * (bearer token, one renewal on 401). Throws ApiError: 413 too large, 415 or 422 a type
 * the store refuses (or an empty file).
 */
export async function uploadFile(file: File, options: UploadOptions = {}): Promise<StoredFile> {
  const form = new FormData()
  form.append('file', file, file.name)
  // No content-type header: the browser writes multipart/form-data with its boundary.
  const stored = await apiFetch<Partial<StoredFile>>(FILES_API, {
    method: 'POST',
    body: form,
    signal: options.signal,
    timeoutMs: options.timeoutMs ?? UPLOAD_TIMEOUT_MS,
  })
  if (!stored || typeof stored.sha256 !== 'string' || !stored.sha256) {
    throw new ApiError(`Not a stored file: ${FILES_API}`, { status: 201, code: 'invalid_response' })
  }
  return stored as StoredFile
}

/**
 * Uploads that remember what they sent: a form submitted again after another failure
 * does not send the same photo twice. One per form.
 */
export function uploadsOnce(): (file: File) => Promise<StoredFile> {
  const done = new WeakMap<File, StoredFile>()
  return async (file: File): Promise<StoredFile> => {
    const known = done.get(file)
    if (known) {
      return known
    }
    const stored = await uploadFile(file)
    done.set(file, stored)
    return stored
  }
}

/** A stored file's bytes, fetched with the token (an <img src> would carry none). */
export async function fileBlob(sha256: string): Promise<Blob> {
  return (await apiFile(`${FILES_API}/${encodeURIComponent(sha256)}`)).blob
}

/** Object URLs of stored files for `<img>`, each fetched once with the token. */
export interface FileUrls {
  url(sha256: string): Promise<string>
  /** Free every URL made, and any still loading as it arrives: the view showing them is gone. */
  revokeAll(): void
}

export function fileUrls(load: (sha256: string) => Promise<Blob> = fileBlob): FileUrls {
  const made = new Map<string, Promise<string>>()
  const live: string[] = []
  let closed = false
  return {
    url(sha256: string): Promise<string> {
      const known = made.get(sha256)
      if (known) {
        return known
      }
      const loading = load(sha256).then((blob) => {
        if (closed) {
          throw new DOMException('The files were released', 'AbortError')
        }
        const url = URL.createObjectURL(blob)
        live.push(url)
        return url
      })
      made.set(sha256, loading)
      // A failure is not remembered: the next ask tries again.
      loading.catch(() => made.delete(sha256))
      return loading
    },
    revokeAll(): void {
      closed = true
      made.clear()
      for (const url of live.splice(0)) {
        URL.revokeObjectURL(url)
      }
    },
  }
}

/**
 * One sentence for a failed upload, for the photo field: the limit for a file too large,
 * else the server's field message, detail or title, else `fallback`.
 */
export function uploadProblem(
  error: unknown,
  t: (key: string, named?: Record<string, unknown>) => string,
  fallback: (error: unknown) => string,
): string {
  if (error instanceof ApiError) {
    if (error.status === 413) {
      const max = Number(error.problem?.max_bytes)
      return Number.isFinite(max) && max > 0
        ? t('cases.photo.tooLargeLimit', { mb: Math.floor(max / (1024 * 1024)) || 1 })
        : t('cases.photo.tooLarge')
    }
    if (error.status === 415 || error.code === 'unsupported_media_type') {
      return t('cases.photo.unsupported')
    }
    if (error.code === 'empty_file') {
      return t('cases.photo.empty')
    }
  }
  return fallback(error)
}
