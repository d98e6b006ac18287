import { CONFIG_ENV, type HttpdConfig } from '../config.js';
import { runWorker } from './worker.js';

// Entry point of a cluster worker: the primary passes the validated config in the environment.
runWorker(JSON.parse(process.env[CONFIG_ENV]!) as HttpdConfig);
