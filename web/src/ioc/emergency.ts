import type { Feature, Point } from 'geojson'
import { onBeforeUnmount, onMounted, ref, shallowRef, watch, type Ref } from 'vue'
import { apiFetch } from '../shared/api'
import { openLive, type LiveConnection } from '../shared/live'
import { PLANS_API, listRuns, type Bilingual, type Level, type Run, type RunDetail } from '../workbench/plans/plans'
import { debounced, singleFlight } from './reread'

/** The plans in response and the emergency resources, as the big screen shows them. */
export const RESOURCES_PATH = `${PLANS_API}/resources`

// A wall screen asks every 30 s, and shortly after a plan event; a burst costs one read.
export const EMERGENCY_REFRESH_MS = 30_000
export const EMERGENCY_DEBOUNCE_MS = 1_000
export const EMERGENCY_LIVE_TYPES = ['plan.*'] as const
/** The newest open runs the panel lists; the server says when there are more. */
export const OPEN_RUNS_LIMIT = 20

export type ResourceKind = 'team' | 'vehicle' | 'material' | 'shelter'
export const RESOURCE_KINDS: readonly ResourceKind[] = ['team', 'vehicle', 'material', 'shelter']

export type ResourceStatus = 'available' | 'dispatched' | 'unavailable'
export const RESOURCE_STATUSES: readonly ResourceStatus[] = ['available', 'dispatched', 'unavailable']

/** The map's emergency layers: one per resource kind, and the open runs' affected areas. */
export type EmergencyLayer = ResourceKind | 'area'
export const EMERGENCY_LAYERS: readonly EmergencyLayer[] = [...RESOURCE_KINDS, 'area']

export interface ResourceProperties {
  code: string
  type: string
  kind: ResourceKind
  name: Bilingual
  department: string | null
  capacity: number | null
  quantity: number | null
  unit: string | null
  status: ResourceStatus
  run_id: string | null
  region_code: string | null
  synthetic: boolean
}

export type ResourceFeature = Feature<Point, ResourceProperties>

export interface ResourceCollection {
  type: 'FeatureCollection'
  features: ResourceFeature[]
}

/** A run's command view with the resources sent to it. */
export interface RunCommand extends RunDetail {
  resources: ResourceFeature[]
}

const RESOURCE_COLOURS: Record<ResourceStatus, string> = {
  available: '#22c55e',
  dispatched: '#f59e0b',
  unavailable: '#94a3b8',
}

/** Levels in the colours plans name them by: IV blue, III yellow, II orange, I red. */
const LEVEL_COLOURS: Record<Level, string> = {
  IV: '#3b82f6',
  III: '#facc15',
  II: '#f97316',
  I: '#ef4444',
}

export function resourceColour(status: string): string {
  return RESOURCE_COLOURS[status as ResourceStatus] ?? RESOURCE_COLOURS.unavailable
}

export function levelColour(level: string): string {
  return LEVEL_COLOURS[level as Level] ?? LEVEL_COLOURS.IV
}

/** Tasks done of those still meant to be done: a cancelled task is out of the count. */
export function taskProgress(run: Pick<Run, 'tasks_by_status'>): { done: number; total: number } {
  const done = run.tasks_by_status.done ?? 0
  return { done, total: done + (run.tasks_by_status.open ?? 0) }
}

/** Resources counted by kind, every kind present even at zero. */
export function countByKind(resources: readonly ResourceFeature[]): Record<ResourceKind, number> {
  const counts = Object.fromEntries(RESOURCE_KINDS.map((kind) => [kind, 0])) as Record<ResourceKind, number>
  for (const resource of resources) {
    const kind = resource.properties.kind
    if (kind in counts) counts[kind] += 1
  }
  return counts
}

export function fetchResources(): Promise<ResourceCollection> {
  return apiFetch<ResourceCollection>(RESOURCES_PATH)
}

export function getRunCommand(id: string): Promise<RunCommand> {
  return apiFetch<RunCommand>(`${PLANS_API}/runs/${encodeURIComponent(id)}`)
}

export interface EmergencyOptions {
  /** Whether the viewer may see plans (`plans.read`): nothing is asked for until then. */
  enabled: () => boolean
  /** Read again shortly after `plan.*` events (needs `live.read`). */
  live: () => boolean
  refreshMs?: number
  debounceMs?: number
}

export interface Emergency {
  runs: Ref<Run[]>
  /** More open runs than the panel lists. */
  more: Ref<boolean>
  resources: Ref<ResourceFeature[]>
  loaded: Ref<boolean>
  error: Ref<unknown>
  refresh: () => Promise<void>
}

/**
 * The open runs and every resource, read every `refreshMs` and, with `live`, shortly after
 * each burst of `plan.*` events (a run starting or rising sends resources, one ending frees
 * them). Starts once `enabled` holds, as the account is read after the screen mounts.
 */
export function useEmergency(options: EmergencyOptions): Emergency {
  const runs = shallowRef<Run[]>([])
  const more = ref(false)
  const resources = shallowRef<ResourceFeature[]>([])
  const loaded = ref(false)
  const error = shallowRef<unknown>(null)
  const refreshMs = options.refreshMs ?? EMERGENCY_REFRESH_MS
  const debounceMs = options.debounceMs ?? EMERGENCY_DEBOUNCE_MS
  let interval: ReturnType<typeof setInterval> | undefined
  let connection: LiveConnection | null = null
  let stopWatching: (() => void) | null = null
  let started = false

  const refresh = singleFlight(async () => {
    try {
      const [page, collection] = await Promise.all([
        listRuns({ status: 'open' }, null, OPEN_RUNS_LIMIT),
        fetchResources(),
      ])
      // Switched off meanwhile (signed out, permission gone): what was read is not shown.
      if (!started) return false
      runs.value = page.items
      more.value = page.next_cursor !== null
      resources.value = collection.features
      error.value = null
    } catch (cause) {
      error.value = cause
    }
    loaded.value = started
  })

  const burst = debounced(() => void refresh(), debounceMs)
  const soon = burst.soon

  function start(): void {
    started = true
    void refresh()
    interval = setInterval(() => void refresh(), refreshMs)
    if (!options.live()) return
    let opened = false
    connection = openLive({
      types: EMERGENCY_LIVE_TYPES,
      onEvent: soon,
      onLagged: soon,
      // A reconnect without an id to resume from may have missed events.
      onOpen: (resumed) => {
        if (!resumed && opened) soon()
        opened = true
      },
    })
  }

  function stop(): void {
    started = false
    clearInterval(interval)
    burst.cancel()
    connection?.close()
    connection = null
    runs.value = []
    resources.value = []
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
  onBeforeUnmount(() => {
    stopWatching?.()
    if (started) stop()
  })

  return { runs, more, resources, loaded, error, refresh }
}
