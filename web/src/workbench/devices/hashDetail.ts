import { onBeforeUnmount, onMounted, ref } from 'vue'

/** The item named after a section in the URL hash (`#/devices/RG-0001` → `RG-0001`). */
export function useHashDetail(section: string) {
  const read = (): string | null => {
    const parts = window.location.hash.replace(/^#\/?/, '').split('/')
    return parts[0] === section && parts[1] ? decodeURIComponent(parts[1]) : null
  }
  const detail = ref(read())
  const onChange = (): void => {
    detail.value = read()
  }
  onMounted(() => window.addEventListener('hashchange', onChange))
  onBeforeUnmount(() => window.removeEventListener('hashchange', onChange))
  return {
    detail,
    href: (item: string | null): string => (item ? `#/${section}/${encodeURIComponent(item)}` : `#/${section}`),
  }
}
