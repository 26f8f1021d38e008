/**
 * Benchmarks of ipcbridge against C and against the JDK's {@link java.lang.ProcessBuilder}: not
 * tests, run by hand with {@code scripts/bench-pipe} ({@link io.ipcbridge.bench.PipeBench}: pipes)
 * and {@code scripts/bench-mq} ({@link io.ipcbridge.bench.MqBench}: POSIX message queues). What they
 * share (options, rounds, the tables and targets, spawning the C peers) is in the package-private
 * {@code BenchSupport}.
 */
package io.ipcbridge.bench;
