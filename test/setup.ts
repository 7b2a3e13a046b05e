// Runs in every test file (vitest setupFiles): what one test started cannot outlive it.
import { afterEach } from 'vitest';
import { killLeftovers } from './helpers/children.js';

afterEach(killLeftovers);
