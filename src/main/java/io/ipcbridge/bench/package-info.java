/**
 * The benchmark suite behind {@code ipcbridge bench} ({@link io.ipcbridge.bench.Bench}): each
 * mechanism is one package-private {@code Mechanism} subclass (its id, its pairs, how a run's
 * {@code Link} is made) registered in one line of {@code Mechanisms}; the runs, the interleaved
 * repeats and the {@link io.ipcbridge.bench.Result}s are the same for all. The C side of every pair is
 * {@code native-tests/bench_peer}, the Python side {@code bench_peer.py} (a resource of this package);
 * the reports (tables, JSON, CSV, chart) are the CLI's. Two programs that scripts run use the same
 * peers: {@link io.ipcbridge.bench.Soak}, the long-running reliability check of RELIABILITY.md LOAD-10
 * ({@code scripts/soak}), and {@link io.ipcbridge.bench.StreamReadCost}, AF_UNIX stream reads set
 * against the JDK's in turns within one JVM ({@code scripts/bench-stream-read}).
 */
package io.ipcbridge.bench;
