import { CONFIG_ENV } from '../config.js';
import { runWorker } from './worker.js';
// Entry point of a cluster worker: the primary passes the validated config in the environment.
runWorker(JSON.parse(process.env[CONFIG_ENV]));
//# sourceMappingURL=worker-main.js.map