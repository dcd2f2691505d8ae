// Prometheus metrics of the scheduled jobs (issue 14), by job: runs, failures, run
// duration, and when the job last succeeded. A run is one job for one tenant, however it
// was started (the schedule, the admin API, the CLI). The metrics are created unregistered:
// the application registers them in its registry (src/http/metrics.ts), so the service's
// scheduler and its HTTP runs count into the one /metrics.
import client from 'prom-client';

export interface JobMetrics {
  /** Every metric, for a registry to register. */
  all: client.Metric[];
  /** Record one finished run of `job` (failed or not), `seconds` long, ending at `at`. */
  observe(job: string, outcome: { ok: boolean; seconds: number; at: Date }): void;
}

export function createJobMetrics(): JobMetrics {
  const runs = new client.Counter({
    name: 'seatkeeper_job_runs_total',
    help: 'Scheduled job runs (one job for one tenant) by job, failures included',
    labelNames: ['job'] as const,
    registers: [],
  });
  const failures = new client.Counter({
    name: 'seatkeeper_job_failures_total',
    help: 'Scheduled job runs that failed, by job',
    labelNames: ['job'] as const,
    registers: [],
  });
  const duration = new client.Histogram({
    name: 'seatkeeper_job_duration_seconds',
    help: 'Scheduled job run duration by job',
    labelNames: ['job'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    registers: [],
  });
  const lastSuccess = new client.Gauge({
    name: 'seatkeeper_job_last_success_timestamp_seconds',
    help: 'When each job last finished without failing (Unix time, the service clock)',
    labelNames: ['job'] as const,
    registers: [],
  });
  return {
    all: [runs, failures, duration, lastSuccess],
    observe(job, o) {
      runs.inc({ job });
      duration.observe({ job }, o.seconds);
      if (o.ok) lastSuccess.set({ job }, o.at.getTime() / 1000);
      else failures.inc({ job });
    },
  };
}
