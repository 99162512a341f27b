/** How the screen's panels re-read the server: one read at a time, and bursts of live events
 * gathered into one read. */

/**
 * `read` wrapped so only one runs at a time: a call while one runs asks for one more read
 * after it (never two at once, never a lost update). `read` returning `false` ends the
 * round without the extra read (the panel was switched off meanwhile).
 */
export function singleFlight(read: () => Promise<boolean | void>): () => Promise<void> {
  let reading = false
  let again = false
  return async function refresh(): Promise<void> {
    if (reading) {
      again = true
      return
    }
    reading = true
    try {
      do {
        again = false
        if ((await read()) === false) break
      } while (again)
    } finally {
      reading = false
    }
  }
}

/** `run` once, `ms` after the first event of a burst; the rest of the burst rides along. */
export function debounced(run: () => void, ms: number): { soon: () => void; cancel: () => void } {
  let pending: ReturnType<typeof setTimeout> | undefined
  return {
    soon(): void {
      if (pending !== undefined) return
      pending = setTimeout(() => {
        pending = undefined
        run()
      }, ms)
    },
    cancel(): void {
      clearTimeout(pending)
      pending = undefined
    },
  }
}
