// Load generation with autocannon, with latency percentiles at microsecond resolution
// (autocannon's own histogram counts whole milliseconds, too coarse for a proxy's p50).
import autocannon from 'autocannon';

/** Latencies in 1 µs buckets up to 100 ms; slower ones are kept as they are. */
export class LatencyHistogram {
  buckets = new Uint32Array(100_001);
  slow = [];
  count = 0;

  record(ms) {
    const us = Math.round(ms * 1000);
    if (us < this.buckets.length) this.buckets[us] += 1;
    else this.slow.push(us);
    this.count += 1;
  }

  /** The p-quantile (0..1) in milliseconds. */
  percentile(p) {
    if (this.count === 0) return NaN;
    const rank = Math.max(1, Math.ceil(p * this.count));
    let seen = 0;
    for (let us = 0; us < this.buckets.length; us++) {
      seen += this.buckets[us];
      if (seen >= rank) return us / 1000;
    }
    this.slow.sort((a, b) => a - b);
    return this.slow[rank - seen - 1] / 1000;
  }
}

/**
 * Runs autocannon against 127.0.0.1:`port` with `headers` (Host included) on `connections`
 * keep-alive connections for `duration` seconds. Only 2xx answers count as served requests.
 * `latencies` (a LatencyHistogram) collects the 2xx latencies of several loads run at once.
 */
export function runLoad({
  port,
  path = '/',
  headers,
  connections,
  duration,
  latencies = new LatencyHistogram(),
}) {
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: `http://127.0.0.1:${port}${path}`,
        headers,
        connections,
        duration,
        pipelining: 1,
        timeout: 10,
      },
      (error, result) => {
        if (error) return reject(error);
        const seconds = result.duration > 0 ? result.duration : duration;
        const ok = result['2xx'];
        resolve({
          requests: ok,
          rps: ok / seconds,
          p50: latencies.percentile(0.5),
          p99: latencies.percentile(0.99),
          non2xx: result.non2xx,
          errors: result.errors,
          timeouts: result.timeouts,
          seconds,
        });
      },
    );
    instance.on('response', (_client, status, _bytes, ms) => {
      if (status >= 200 && status < 300) latencies.record(ms);
    });
  });
}

/**
 * Load until `stop()` (autocannon, `connections` keep-alive connections): `onResponse(status,
 * ms, at)` sees every answer as it arrives (at: epoch ms), `onError(error, at)` every failed or
 * timed-out request (after `timeout` seconds). `stop()` resolves with autocannon's result
 * (`latency.max` in ms, `timeouts`, `errors`, per-status counts).
 */
export function startLoad({
  port,
  path = '/',
  headers,
  connections,
  timeout = 5,
  onResponse,
  onError,
}) {
  let finished;
  const result = new Promise((resolve, reject) => {
    finished = (error, value) => (error ? reject(error) : resolve(value));
  });
  const instance = autocannon(
    {
      url: `http://127.0.0.1:${port}${path}`,
      headers,
      connections,
      duration: 24 * 3600, // until stop()
      pipelining: 1,
      timeout,
    },
    (error, value) => finished(error, value),
  );
  instance.on('response', (_client, status, _bytes, ms) => onResponse?.(status, ms, Date.now()));
  instance.on('reqError', (error) => onError?.(error, Date.now()));
  return {
    stop() {
      instance.stop();
      return result;
    },
  };
}
