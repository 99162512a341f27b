import { onBeforeUnmount, onMounted, shallowRef, watch } from 'vue'
import { apiFetch } from '../shared/api'
import { openLive, type LiveConnection } from '../shared/live'
import { debounced, singleFlight } from './reread'

/** The big screen's KPI tiles (`GET /api/v1/ioc/kpis`), counted in the database when asked. */
export const KPIS_PATH = '/api/v1/ioc/kpis'
export const KPIS_READ = 'ioc.read'

// The figures move with every case, alarm and plan step: ask often, and at once after one.
export const KPIS_REFRESH_MS = 10_000
// A burst of events (a storm raising alarms) costs one read per this long, not one per event.
export const KPIS_DEBOUNCE_MS = 1_000
export const KPIS_LIVE_TYPES = ['case.*', 'alarm.*', 'plan.*'] as const

export interface KpiRegion {
  code: string
  level: string
  name_zh: string
  name_en: string
}

export interface CaseKpis {
  reported_today: number
  reported_today_by_channel: Record<string, number>
  open: number
  overdue: number
  window_days: number
  closed: number
  closed_on_time: number
  on_time_closure_rate: number | null
  rated: number
  satisfied: number
  satisfaction_rate: number | null
}

export interface DeviceKpis {
  total: number
  online: number
  offline: number
  fault: number
  unknown: number
  online_rate: number | null
}

export interface AlarmKpis {
  open: number
  by_severity: Record<string, number>
  acknowledged: number
  unacknowledged: number
}

/** Contingency plans: sent by servers that count them, absent from those that do not. */
export interface PlanKpis {
  running: number
  proposed: number
  drills: number
  highest_level?: string | null
}

export interface Kpis {
  as_of: string
  region: KpiRegion
  cases: CaseKpis
  devices: DeviceKpis
  alarms: AlarmKpis
  plans?: PlanKpis | null
}

export function fetchKpis(region?: string): Promise<Kpis> {
  return apiFetch<Kpis>(region ? `${KPIS_PATH}?region=${encodeURIComponent(region)}` : KPIS_PATH)
}

export interface KpiOptions {
  /** The region to count (a code), read at once when it changes; absent: the viewer's default. */
  region?: () => string | null | undefined
  /** Read again when a case, alarm or plan event arrives (needs `live.read`). */
  live: boolean
  refreshMs?: number
  debounceMs?: number
}

/**
 * The KPIs, read every `refreshMs` and, with `live`, shortly after `case.*`, `alarm.*` and
 * `plan.*` events. One read at a time: a refresh asked for during a read follows it. A new
 * region drops the figures of the last one at once, so no tile shows one region under another's name.
 */
export function useKpis(options: KpiOptions) {
  const kpis = shallowRef<Kpis | null>(null)
  const error = shallowRef<unknown>(null)
  const refreshMs = options.refreshMs ?? KPIS_REFRESH_MS
  const debounceMs = options.debounceMs ?? KPIS_DEBOUNCE_MS
  let interval: ReturnType<typeof setInterval> | undefined
  let connection: LiveConnection | null = null
  const region = (): string | undefined => options.region?.() || undefined

  const refresh = singleFlight(async () => {
    const asked = region()
    try {
      const read = await fetchKpis(asked)
      if (asked !== region()) return
      kpis.value = read
      error.value = null
    } catch (cause) {
      if (asked !== region()) return
      error.value = cause
    }
  })

  const burst = debounced(() => void refresh(), debounceMs)
  const soon = burst.soon

  onMounted(() => {
    void refresh()
    interval = setInterval(() => void refresh(), refreshMs)
    if (!options.live) return
    let opened = false
    connection = openLive({
      types: KPIS_LIVE_TYPES,
      onEvent: soon,
      onLagged: soon,
      onOpen: (resumed) => {
        if (!resumed && opened) soon()
        opened = true
      },
    })
  })
  watch(region, () => {
    kpis.value = null
    error.value = null
    void refresh()
  })
  onBeforeUnmount(() => {
    clearInterval(interval)
    burst.cancel()
    connection?.close()
  })

  return { kpis, error, refresh }
}
