/**
 * What the Build, Release and Deploy stages say: to the build's log, which the pusher (and output_stream_url)
 * follows until its result, and to the release's own output stream (the releases' output_stream_url), so a
 * config change or a rollback, which have no build, are told too. The last stage to run writes the result.
 */
import type { BuildLog, BuildResult } from '../builds/build-log.js';

export interface StageLogs {
  builds: BuildLog;
  releases: BuildLog;
}

export interface StageOutput {
  say(line: string): Promise<void>;
  /** The pipeline's verdict, closing both streams. */
  finish(result: BuildResult): Promise<void>;
}

export function stageOutput(logs: StageLogs, ids: { buildId?: string; releaseId?: string }): StageOutput {
  return {
    async say(line) {
      await Promise.all([ids.buildId && logs.builds.append(ids.buildId, line), ids.releaseId && logs.releases.append(ids.releaseId, line)]);
    },
    async finish(result) {
      await Promise.all([ids.buildId && logs.builds.finish(ids.buildId, result), ids.releaseId && logs.releases.finish(ids.releaseId, result)]);
    },
  };
}
