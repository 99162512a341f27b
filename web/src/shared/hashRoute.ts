import { onBeforeUnmount, onMounted, readonly, ref, type Ref } from 'vue'

/**
 * A route held in the URL hash (`#/cases`). Enough for a shell; a page that outgrows it
 * moves to vue-router without changing its URLs.
 */
export function useHashRoute<T extends string>(routes: readonly T[], fallback: T) {
  const read = (): T => {
    const name = window.location.hash.replace(/^#\/?/, '').split(/[/?]/)[0] ?? ''
    return (routes as readonly string[]).includes(name) ? (name as T) : fallback
  }
  const route = ref(read()) as Ref<T>
  const onChange = (): void => {
    route.value = read()
    window.scrollTo({ top: 0 })
  }

  onMounted(() => window.addEventListener('hashchange', onChange))
  onBeforeUnmount(() => window.removeEventListener('hashchange', onChange))

  return {
    route: readonly(route) as Readonly<Ref<T>>,
    href: (name: T): string => (name === fallback ? '#/' : `#/${name}`),
  }
}
