import { computed, onBeforeUnmount, onMounted, ref, shallowRef } from 'vue'
import { DEVICE_STATUSES, listAllDevices, type Device } from '../workbench/devices/devices'

// Device status is derived on the server every minute or so; a wall screen asks every 30 s.
export const FLEET_REFRESH_MS = 30_000

/** Devices counted by status, every status present even at zero. */
export function countByStatus(devices: readonly Device[]): Record<string, number> {
  const counts: Record<string, number> = Object.fromEntries(DEVICE_STATUSES.map((status) => [status, 0]))
  for (const device of devices) {
    counts[device.status] = (counts[device.status] ?? 0) + 1
  }
  return counts
}

/** Devices counted by type, most numerous first. */
export function countByType(devices: readonly Device[]): { type: string; count: number }[] {
  const counts = new Map<string, number>()
  for (const device of devices) {
    const type = device.device_type ?? ''
    counts.set(type, (counts.get(type) ?? 0) + 1)
  }
  return [...counts].map(([type, count]) => ({ type, count })).sort((a, b) => b.count - a.count || a.type.localeCompare(b.type))
}

/** Every device within reach, read again every `refreshMs`. */
export function useFleet(refreshMs = FLEET_REFRESH_MS) {
  const devices = shallowRef<Device[]>([])
  const error = shallowRef<unknown>(null)
  const loaded = ref(false)
  let timer: ReturnType<typeof setInterval> | undefined

  async function refresh(): Promise<void> {
    try {
      devices.value = await listAllDevices()
      error.value = null
    } catch (cause) {
      error.value = cause
    } finally {
      loaded.value = true
    }
  }

  onMounted(() => {
    void refresh()
    timer = setInterval(() => void refresh(), refreshMs)
  })
  onBeforeUnmount(() => clearInterval(timer))

  const byCode = computed(() => new Map(devices.value.map((device) => [device.code, device])))
  return { devices, byCode, error, loaded, refresh }
}
