/**
 * Benchmarks of ipcbridge against C and against the JDK's {@link java.lang.ProcessBuilder}: not
 * tests, run by hand with {@code scripts/bench-pipe}. See {@link io.ipcbridge.bench.PipeBench}.
 */
package io.ipcbridge.bench;
