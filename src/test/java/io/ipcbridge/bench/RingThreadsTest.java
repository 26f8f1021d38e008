package io.ipcbridge.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import io.ipcbridge.ring.Ring;
import io.ipcbridge.testing.Names;
import java.io.IOException;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * scripts/RingThreads.java, the program of scripts/bench-ring-threads, compiled here as the script
 * compiles it. Its consumer polled for messages that a failed producer would never send, for ever.
 */
class RingThreadsTest {
    @TempDir
    Path dir;

    private Method transfer() throws Exception {
        int status = ToolProvider.getSystemJavaCompiler().run(null, null, null, "-d", dir.toString(), "-cp",
                System.getProperty("java.class.path"), Path.of("scripts", "RingThreads.java").toString());
        assertEquals(0, status, "scripts/RingThreads.java compiles");
        URLClassLoader loader = new URLClassLoader(new URL[] {dir.toUri().toURL()}, getClass().getClassLoader());
        return loader.loadClass("RingThreads").getMethod("transfer", Ring.class, long.class, Callable.class);
    }

    @Test
    void aProducerThatFailsEndsTheTransferWithItsError() throws Exception {
        Method transfer = transfer();
        String name = Names.unique("ringthreads");
        IOException failure = new IOException("the producer's own failure");
        try (Ring consumer = Ring.create(name, 1 << 20, 64, false, 0600); Ring producer = Ring.open(name)) {
            Callable<Void> tenThenFail = () -> {
                for (int i = 0; i < 10; i++) {
                    producer.offer(ByteBuffer.allocateDirect(64), null);
                }
                throw failure;
            };
            InvocationTargetException e = assertThrows(InvocationTargetException.class, () -> assertTimeoutPreemptively(
                    Duration.ofSeconds(60), () -> transfer.invoke(null, consumer, 1000L, tenThenFail)));
            assertEquals("the producer failed after 10 of 1000 messages arrived", e.getCause().getMessage());
            assertSame(failure, e.getCause().getCause());
        } finally {
            Ring.unlink(name);
        }
    }
}
