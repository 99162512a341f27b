import { onBeforeUnmount, onMounted, ref, shallowRef, watch } from 'vue'
import { useI18n } from 'vue-i18n'
import { ApiError, apiFetch } from './api'

/** What `GET /api/v1/meta` tells a page about the running platform. */
export interface Meta {
  /** The district's name; null until a profile has been loaded. */
  name: { zh: string; en: string } | null
  code: string
  version: string
  mode: string
  profile: string
  /** Warnings from the working-day calendar (e.g. a year it does not know), in the
   *  language of the request's Accept-Language. */
  calendar_warnings: string[]
}

export const META_PATH = '/api/v1/meta'

function asString(value: unknown): string {
  return typeof value === 'string' ? value : ''
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** Check the shape of a meta body; unknown extra fields are ignored. */
export function parseMeta(body: unknown): Meta {
  if (!isRecord(body)) {
    throw new ApiError('meta is not an object', { status: 200, code: 'invalid_response' })
  }
  const zh = isRecord(body.name) ? asString(body.name.zh) : ''
  const en = isRecord(body.name) ? asString(body.name.en) : ''
  const warnings = Array.isArray(body.calendar_warnings) ? body.calendar_warnings : []
  return {
    name: zh || en ? { zh: zh || en, en: en || zh } : null,
    code: asString(body.code),
    version: asString(body.version),
    mode: asString(body.mode),
    profile: asString(body.profile),
    calendar_warnings: warnings.filter(
      (item): item is string => typeof item === 'string' && item !== '',
    ),
  }
}

export async function fetchMeta(): Promise<Meta> {
  return parseMeta(await apiFetch<unknown>(META_PATH))
}

/** The district's name in the page's language, or null when no profile is loaded. */
export function districtName(meta: Meta, locale: string): string | null {
  if (!meta.name) {
    return null
  }
  return locale.startsWith('zh') ? meta.name.zh : meta.name.en
}

export interface UseMetaOptions {
  /** Fetch again every so many milliseconds (the IOC screen runs unattended); 0 for once. */
  refreshMs?: number
}

/** Platform meta for a component, fetched on mount and optionally refreshed. */
export function useMeta(options: UseMetaOptions = {}) {
  const meta = shallowRef<Meta | null>(null)
  const error = shallowRef<unknown>(null)
  const loading = ref(false)
  const updatedAt = shallowRef<Date | null>(null)
  let timer: ReturnType<typeof setInterval> | undefined

  async function load(): Promise<void> {
    loading.value = true
    try {
      meta.value = await fetchMeta()
      error.value = null
      updatedAt.value = new Date()
    } catch (caught) {
      error.value = caught
    } finally {
      loading.value = false
    }
  }

  onMounted(() => {
    void load()
    if (options.refreshMs) {
      timer = setInterval(() => void load(), options.refreshMs)
    }
  })
  onBeforeUnmount(() => clearInterval(timer))
  // The calendar's warnings come in the page's language: ask again when it changes.
  const { locale } = useI18n()
  watch(locale, () => void load())

  return { meta, error, loading, updatedAt, reload: load }
}
