import { mountPage } from '../shared/mount'
import WorkbenchApp from './WorkbenchApp.vue'
import './workbench.css'
import './admin/admin.css'

void mountPage(WorkbenchApp, {
  titleKey: 'workbench.pageTitle',
  auth: { page: 'workbench', required: true },
})
