import t from 'tap';
import { runFixtures } from './fixture-harness.js';
import { mikrotik } from './mikrotik.js';

runFixtures(t, mikrotik, new URL('./fixtures/mikrotik.jsonl', import.meta.url));
