import type { Feature, Point } from 'geojson'
import { onBeforeUnmount, onMounted, ref, shallowRef, watch, type Ref } from 'vue'
import { apiFetch } from '../shared/api'
import { listen } from './iocLive'
import { debounced, singleFlight } from './reread'

/** The region's open cases for the map (`GET /api/v1/ioc/cases`), most urgent first. */
export const OPEN_CASES_PATH = '/api/v1/ioc/cases'
export const OPEN_CASES_LIMIT = 2000
export const OPEN_CASES_REFRESH_MS = 30_000
export const OPEN_CASES_DEBOUNCE_MS = 1_000
export const OPEN_CASES_LIVE_TYPES = ['case.*'] as const

export interface OpenCaseProperties {
  number: string
  category_code: string | null
  status: string
  due_at: string | null
  overdue: boolean
  region_code: string | null
}

export type OpenCaseFeature = Feature<Point, OpenCaseProperties>

export interface OpenCaseCollection {
  type: 'FeatureCollection'
  features: OpenCaseFeature[]
}

export function fetchOpenCases(region?: string): Promise<OpenCaseCollection> {
  const search = new URLSearchParams({ limit: String(OPEN_CASES_LIMIT) })
  if (region) search.set('region', region)
  return apiFetch<OpenCaseCollection>(`${OPEN_CASES_PATH}?${search.toString()}`)
}

/** Overdue, whatever the state: the one thing a duty officer must see at a glance. */
export const OVERDUE_COLOUR = '#ef4444'

/** The open states of the case workflow, in its order, each in a colour of its own. */
const STATE_COLOURS: Record<string, string> = {
  accepted: '#c084fc',
  registered: '#818cf8',
  dispatched: '#22d3ee',
  handling: '#facc15',
  extension_requested: '#f9a8d4',
  suspended: '#94a3b8',
  verifying: '#4ade80',
  callback: '#a3e635',
}
const OTHER_STATE_COLOUR = '#e2e8f0'
export const CASE_STATES: readonly string[] = Object.keys(STATE_COLOURS)

export function caseColour(properties: Pick<OpenCaseProperties, 'status' | 'overdue'>): string {
  if (properties.overdue) return OVERDUE_COLOUR
  return STATE_COLOURS[properties.status] ?? OTHER_STATE_COLOUR
}

/** The states present, in the workflow's order (unknown ones after), with their counts. */
export function countByState(cases: readonly OpenCaseFeature[]): { status: string; count: number }[] {
  const counts = new Map<string, number>()
  for (const item of cases) counts.set(item.properties.status, (counts.get(item.properties.status) ?? 0) + 1)
  const order = (status: string): number => {
    const index = CASE_STATES.indexOf(status)
    return index === -1 ? CASE_STATES.length : index
  }
  return [...counts].map(([status, count]) => ({ status, count })).sort((a, b) => order(a.status) - order(b.status))
}

export interface OpenCasesOptions {
  /** Whether the viewer may see them (`ioc.read`): nothing is asked for until then. */
  enabled: () => boolean
  /** The region (a code), read again at once when it changes; absent: the viewer's default. */
  region: () => string | null | undefined
  /** Read again shortly after `case.*` events (needs `live.read`). */
  live: () => boolean
  refreshMs?: number
  debounceMs?: number
}

export interface OpenCases {
  cases: Ref<OpenCaseFeature[]>
  loaded: Ref<boolean>
  error: Ref<unknown>
  refresh: () => Promise<void>
}

/**
 * The open cases of a region, read every `refreshMs` and, with `live`, shortly after each
 * burst of `case.*` events. One read at a time; a new region drops the last one's cases.
 */
export function useOpenCases(options: OpenCasesOptions): OpenCases {
  const cases = shallowRef<OpenCaseFeature[]>([])
  const loaded = ref(false)
  const error = shallowRef<unknown>(null)
  const debounceMs = options.debounceMs ?? OPEN_CASES_DEBOUNCE_MS
  let interval: ReturnType<typeof setInterval> | undefined
  let unlisten: (() => void) | null = null
  let stopWatching: (() => void) | null = null
  let started = false
  const region = (): string | undefined => options.region() || undefined

  const refresh = singleFlight(async () => {
    const asked = region()
    try {
      const collection = await fetchOpenCases(asked)
      if (!started || asked !== region()) return
      cases.value = collection.features
      error.value = null
    } catch (cause) {
      if (!started || asked !== region()) return
      error.value = cause
    }
    loaded.value = true
  })

  const burst = debounced(() => void refresh(), debounceMs)
  const soon = burst.soon

  function start(): void {
    started = true
    void refresh()
    interval = setInterval(() => void refresh(), options.refreshMs ?? OPEN_CASES_REFRESH_MS)
    if (options.live()) unlisten = listen({ types: OPEN_CASES_LIVE_TYPES, onEvent: soon, onMissed: soon })
  }

  function stop(): void {
    started = false
    clearInterval(interval)
    burst.cancel()
    unlisten?.()
    unlisten = null
    cases.value = []
    loaded.value = false
  }

  onMounted(() => {
    stopWatching = watch(
      options.enabled,
      (enabled) => {
        if (enabled) start()
        else if (started) stop()
      },
      { immediate: true },
    )
  })
  watch(region, () => {
    if (!started) return
    cases.value = []
    loaded.value = false
    error.value = null
    void refresh()
  })
  onBeforeUnmount(() => {
    stopWatching?.()
    if (started) stop()
  })

  return { cases, loaded, error, refresh }
}
