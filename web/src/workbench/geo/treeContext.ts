import type { InjectionKey, Ref } from 'vue'
import type { Region } from '../../shared/geo'

/** What every node of the region tree shares: the selection and how to report a click. */
export interface RegionTreeContext {
  selected: Readonly<Ref<string | null>>
  select: (region: Region, path: Region[]) => void
}

export const REGION_TREE: InjectionKey<RegionTreeContext> = Symbol('region-tree')
