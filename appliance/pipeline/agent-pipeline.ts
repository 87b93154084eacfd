/**
 * The agent's pipeline, in one thread or spread over parse workers (`pipelineWorkers`): one face for
 * agent.ts either way. Both start the same: the socket thread's intake counts every message per
 * source and applies the rate limit; what it admits goes to the stages (`pipeline.ts`), here or in
 * a worker (`pool/`).
 */
import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { ConnectionEvent } from '../../protocol/event.js';
import type { AgentConfig } from '../config.js';
import type { SourceIntake } from '../ingest/intake.js';
import type { IngestBackpressure, MessageHandler } from '../ingest/types.js';
import type { AppliedChange, CompiledSettings } from '../settings/member-settings.js';
import { addCounters, copyCounters, countTurnedAway, newPipelineCounters } from './counters.js';
import type { EventSink, PipelineCounters } from './pipeline.js';
import { PipelinePool } from './pool/pool.js';
import { joinSources, type SourceStats } from './sources.js';

export interface AgentPipeline {
  readonly accept: MessageHandler;
  readonly counters: PipelineCounters;
  /** For the stream listeners; absent when parsing runs on the main thread (it cannot fall behind). */
  readonly backpressure?: IngestBackpressure;
  sources(): SourceStats[];
  /** The member changed privacy choices or pinned formats on the status page. */
  apply(change: AppliedChange): void;
  /** Everything received so far, open summary windows included, into the outbox (shutdown). */
  flushAll(): Promise<void>;
  close(): Promise<void>;
}

/**
 * -1 (auto): one worker per core; on one core, parse on the main thread. The socket thread is light
 * (it frames and copies), so the workers get the cores: on the appliance's two cores bench pipeline
 * measured two workers within the 150 MB budget at about 1.3× one worker's throughput (one worker
 * ~20 MB less; docs/PERFORMANCE.md).
 */
export function workerCount(setting: number, cores = availableParallelism()): number {
  if (setting >= 0) return setting;
  return cores >= 2 ? cores : 0;
}

export async function createPipeline(
  config: Pick<AgentConfig, 'pipelineWorkers' | 'summaryWindowS' | 'summaryMaxKeys'>,
  outbox: EventSink,
  intake: SourceIntake,
  settings: CompiledSettings,
  onWorkerFailure: (error: Error, lostMessages: number) => void,
  /**
   * Detection on: called on this thread with every minimised event, before summarising, in the
   * order the lines arrived, whether parsing runs here or in workers (which post the events back
   * packed with their batch): the same alerts either way (test/detect-threading.test.ts).
   */
  detect?: (event: ConnectionEvent) => void,
): Promise<AgentPipeline> {
  const summary =
    config.summaryWindowS === 0
      ? undefined
      : { windowMs: config.summaryWindowS * 1000, maxOpenKeys: config.summaryMaxKeys };
  const workers = workerCount(config.pipelineWorkers);
  if (workers === 0) {
    // Loaded only here: with workers, the parsers live in the worker threads alone.
    const [{ Pipeline }, { FlowSummariser }] = await Promise.all([
      import('./pipeline.js'),
      import('../summarise/summarise.js'),
    ]);
    const pipeline = new Pipeline(
      outbox,
      {
        privacy: settings.privacy,
        ...(summary && { summariser: new FlowSummariser(summary) }),
        ...(detect && { detect }),
      },
      settings.formatOverrides,
    );
    /** Messages the intake turned away (rate limit); the stages count the rest. */
    const turnedAway = newPipelineCounters();
    let pinned = settings.formatOverrides;
    return {
      accept(frame, source, transport, truncated) {
        const key = intake.admit(source, frame.length, truncated, performance.now());
        if (key === undefined) countTurnedAway(turnedAway, transport, 'rateLimited');
        else pipeline.accept(frame.toString('utf8'), key, transport);
      },
      get counters() {
        return addCounters(copyCounters(pipeline.counters), turnedAway);
      },
      sources() {
        const outcomes = new Map(pipeline.sources().map((o) => [o.source, o]));
        return joinSources(intake.list(), (source) => outcomes.get(source), pinned);
      },
      apply(change) {
        if (change.privacy) pipeline.setPrivacy(change.privacy);
        if (change.formatOverrides) {
          pinned = change.formatOverrides;
          pipeline.setFormatOverrides(change.formatOverrides);
        }
      },
      flushAll: async () => pipeline.flushAll(),
      close: async () => pipeline.close(),
    };
  }
  const pool = await PipelinePool.start(outbox, intake, {
    workers,
    privacy: settings.privacyRecipe,
    formatOverrides: settings.formatOverrides,
    ...(summary && { summary }),
    onWorkerFailure,
    ...(detect && { detect }),
  });
  return {
    accept: pool.accept,
    get counters() {
      return pool.counters;
    },
    backpressure: pool,
    sources: () => pool.sources(),
    apply(change) {
      if (change.privacyRecipe) pool.setPrivacy(change.privacyRecipe);
      if (change.formatOverrides) pool.setFormatOverrides(change.formatOverrides);
    },
    flushAll: () => pool.flushAll(),
    close: () => pool.close(),
  };
}
