/**
 * A parse worker: one `Pipeline` (parse → minimise → summarise) in its own thread. Batches arrive in
 * order from the main thread; each is answered with the events it produced, in order, and the
 * worker's counters and source outcomes. The main thread owns the sockets, the per-source intake and
 * rate limits, and the outbox.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { ConnectionEvent } from '../../../protocol/event.js';
import { minimisePolicyFromSettings, type PrivacyRecipe } from '../../minimise/policy-config.js';
import { FlowSummariser } from '../../summarise/summarise.js';
import { Pipeline } from '../pipeline.js';
import { DetectEventPacker } from './detect-transfer.js';
import { type FromWorker, type ToWorker, TRANSPORTS, type WorkerInit } from './protocol.js';

const port = parentPort;
if (port === null) throw new Error('pipeline/pool/worker.js runs as a worker thread only');
const init = workerData as WorkerInit;

const compile = (recipe: PrivacyRecipe) => minimisePolicyFromSettings(recipe.settings, () => recipe.key);

let collected: ConnectionEvent[] = [];
const detection = init.detect ? new DetectEventPacker() : undefined;
const pipeline = new Pipeline(
  { append: (event) => collected.push(event) },
  {
    privacy: compile(init.privacy),
    ...(init.summary && { summariser: new FlowSummariser(init.summary) }),
    ...(detection && { detect: (event: ConnectionEvent) => detection.add(event) }),
  },
  new Map(init.formatOverrides),
);
const touched = new Set<string>();

function reply(message: { type: 'batch'; seq: number } | { type: 'windows' | 'flushed' }): void {
  const events = collected;
  collected = [];
  const sources = touched.size > 0 ? pipeline.sources(touched) : [];
  touched.clear();
  // Each batch's events for detection go back with the batch, so the main thread feeds the engine
  // in batch order, the order the lines arrived in, whichever worker parsed them.
  const detect = detection?.take();
  port!.postMessage(
    { ...message, events, counters: pipeline.counters, sources, ...(detect && { detect }) } as FromWorker,
    detect ? [detect.words.buffer as ArrayBuffer] : [],
  );
}

port.on('message', (message: ToWorker) => {
  switch (message.type) {
    case 'batch': {
      const { ends, sourceKeys, sources, transports } = message;
      const bytes = Buffer.from(message.bytes.buffer, message.bytes.byteOffset, message.bytes.byteLength);
      for (const key of sourceKeys) touched.add(key);
      let start = 0;
      for (let i = 0; i < ends.length; i++) {
        const end = ends[i]!;
        // Decoded here, not on the socket thread: a fresh string per message, nothing shared.
        pipeline.accept(
          bytes.toString('utf8', start, end),
          sourceKeys[sources[i]!]!,
          TRANSPORTS[transports[i]!]!,
        );
        start = end;
      }
      reply({ type: 'batch', seq: message.seq });
      return;
    }
    case 'privacy':
      pipeline.setPrivacy(compile(message.privacy));
      return;
    case 'overrides':
      pipeline.setFormatOverrides(new Map(message.formatOverrides));
      return;
    case 'flushAll':
      pipeline.flushAll();
      reply({ type: 'flushed' });
      return;
  }
});

port.postMessage({ type: 'ready' } satisfies FromWorker);

// Windows that ended while no batch came: their summaries go to the main thread on the same tick
// the in-thread pipeline uses.
setInterval(() => {
  pipeline.flushDue();
  if (collected.length > 0) reply({ type: 'windows' });
}, 1000).unref();
