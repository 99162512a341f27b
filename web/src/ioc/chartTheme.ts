import { onBeforeUnmount, onMounted, ref, type Ref } from 'vue'

/** The screen's colours (ioc.css) for what ECharts draws on its own canvas. */
export const CHART_COLOURS = {
  text: '#86a9cc',
  strong: '#e0f2fe',
  grid: 'rgba(56, 189, 248, 0.14)',
  axis: 'rgba(56, 189, 248, 0.35)',
  tooltip: 'rgba(4, 20, 44, 0.95)',
  accent: '#38bdf8',
  reported: '#38bdf8',
  closed: '#22c55e',
  alarms: '#f97316',
  bar: '#2b7bb9',
  drilled: '#7dd3fc',
} as const

/** Sizes on the 1920×1080 stage, in the pixels of the screen it is scaled to (see ioc.css). */
export function stagePixels(rem: number): (size: number) => number {
  return (size) => Math.round(size * rem * 100) / 100
}

/** The stage's rem in screen pixels, kept current as the window changes size. */
export function useStageRem(): Ref<number> {
  const rem = ref(16)
  const read = (): void => {
    const size = Number.parseFloat(getComputedStyle(document.documentElement).fontSize)
    if (size > 0) rem.value = size
  }
  onMounted(() => {
    read()
    window.addEventListener('resize', read)
  })
  onBeforeUnmount(() => window.removeEventListener('resize', read))
  return rem
}
