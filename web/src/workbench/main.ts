import { mountPage } from '../shared/mount'
import WorkbenchApp from './WorkbenchApp.vue'
import './workbench.css'

mountPage(WorkbenchApp, { titleKey: 'workbench.pageTitle' })
