package io.ipcbridge.testing;

import io.ipcbridge.pipe.Fifo;
import io.ipcbridge.pipe.Pipe;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;

/**
 * A program for a test that needs a fresh JVM (one in which no blocking call has run yet): makes the
 * JVM's first blocking call, an open of the FIFO {@code args[0]}, with the interrupt status set, then
 * an ordinary timed open in another thread and a pipe read; prints one line per outcome.
 */
public final class FirstCallInterrupted {
    private FirstCallInterrupted() {
    }

    public static void main(String[] args) throws Exception {
        Path fifo = Path.of(args[0]);
        Thread.currentThread().interrupt();
        try {
            Fifo.openReader(fifo).close();
            System.out.println("first: opened");
        } catch (Throwable t) {
            System.out.println("first: " + t.getClass().getName() + " interrupted=" + Thread.interrupted());
        }
        Thread other = new Thread(() -> {
            try {
                System.out.println("later: " + Fifo.openReader(fifo, Duration.ofMillis(50)));
            } catch (Throwable t) {
                System.out.println("later: " + t);
            }
        });
        other.start();
        other.join();
        try (Pipe pipe = Pipe.open()) {
            pipe.sink().write(ByteBuffer.wrap(new byte[] {7}));
            System.out.println("pipe: " + pipe.source().read(ByteBuffer.allocate(4)));
        } catch (Throwable t) {
            System.out.println("pipe: " + t);
        }
    }
}
