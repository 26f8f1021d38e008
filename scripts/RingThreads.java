import io.ipcbridge.ring.Ring;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.concurrent.Callable;

/**
 * The program of scripts/bench-ring-threads, which compiles it against the jar it measures: N
 * 64-byte messages from a producer thread to a consumer thread through a 1 MiB ring, both spinning,
 * after an untimed warm-up of the same (WARMUP messages, or N if fewer) so that the JIT has compiled
 * offer and poll before the clock starts; prints millions of messages per second. Arguments: MULTI
 * (true for a multi-producer ring) and N.
 */
public class RingThreads {
    /** The messages of the untimed warm-up. */
    static final long WARMUP = 2_000_000;

    public static void main(String[] args) throws Exception {
        boolean multi = Boolean.parseBoolean(args[0]);
        long n = Long.parseLong(args[1]);
        String name = "/ipcb-bench-threads-" + ProcessHandle.current().pid();
        try (Ring consumer = Ring.create(name, 1 << 20, 64, multi, 0600); Ring producer = Ring.open(name)) {
            consumer.waitStrategy(Ring.WaitStrategy.SPIN);
            producer.waitStrategy(Ring.WaitStrategy.SPIN);
            transfer(consumer, Math.min(n, WARMUP), offering(producer, Math.min(n, WARMUP)));
            long t0 = System.nanoTime();
            transfer(consumer, n, offering(producer, n));
            System.out.println(n / ((System.nanoTime() - t0) / 1e9) / 1e6);
        } finally {
            Ring.unlink(name);
        }
    }

    /** A producer that offers {@code n} 64-byte messages to {@code ring}. */
    static Callable<Void> offering(Ring ring, long n) {
        return () -> {
            ByteBuffer m = ByteBuffer.allocateDirect(64);
            for (long i = 0; i < n; i++) {
                ring.offer(m.clear(), null);
            }
            return null;
        };
    }

    /**
     * Runs {@code producer} on a thread while this one polls {@code n} messages from {@code consumer};
     * if the producer fails, ends with its error once what it sent is taken, never waits for more.
     */
    public static void transfer(Ring consumer, long n, Callable<?> producer) throws Exception {
        Throwable[] failure = new Throwable[1];
        Thread sender = new Thread(() -> {
            try {
                producer.call();
            } catch (Throwable e) {
                failure[0] = e; // seen by the consumer once the thread has ended (isAlive)
            }
        }, "producer");
        sender.setDaemon(true); // a producer blocked in offer when the consumer fails does not hold the JVM
        sender.start();
        long got = 0;
        while (got < n) {
            int polled = consumer.poll(m -> { }, Duration.ofMillis(100));
            got += polled;
            if (polled == 0 && !sender.isAlive() && failure[0] != null) {
                throw new IllegalStateException("the producer failed after " + got + " of " + n
                        + " messages arrived", failure[0]);
            }
        }
        sender.join();
    }
}
