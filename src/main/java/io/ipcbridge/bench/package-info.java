/**
 * Benchmarks of ipcbridge against C and against the JDK's own ways: not tests, run by hand with
 * {@code scripts/bench-pipe} ({@link io.ipcbridge.bench.PipeBench}: pipes, against
 * {@link java.lang.ProcessBuilder}), {@code scripts/bench-mq} ({@link io.ipcbridge.bench.MqBench}:
 * POSIX message queues), {@code scripts/bench-shm} ({@link io.ipcbridge.bench.ShmBench}: semaphores,
 * a spin flag in shared memory against the JDK's MappedByteBuffer, the bounded buffer) and
 * {@code scripts/bench-sock} ({@link io.ipcbridge.bench.SockBench}: AF_UNIX stream sockets, against
 * the JDK's SocketChannel). What they share (options, rounds, the tables and targets, spawning and
 * watching the C peers, fresh names and their removal) is in the package-private
 * {@code BenchSupport}.
 */
package io.ipcbridge.bench;
