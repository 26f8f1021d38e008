package io.ipcbridge.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ipcbridge.ring.Ring;
import io.ipcbridge.testing.Created;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code ipcbridge ring send|receive|info} as real commands in child JVMs, with raw stdin and stdout,
 * against {@link Ring} in this JVM on the other end: two processes on one ring, each registered in
 * its header while it runs.
 */
class RingStdioTest {
    private static final Duration BOUND = Duration.ofSeconds(60);
    private final Created created = new Created("cliring", Ring::unlink);

    @TempDir
    Path dir;

    @AfterEach
    void unlinkAll() {
        created.unlinkAll();
    }

    /** Runs the CLI in a child JVM with {@code stdin} as its stdin, to its end. */
    private Cli.Child cli(byte[] stdin, String... args) throws Exception {
        return Cli.child(dir, BOUND, stdin, args);
    }

    private static byte[] binary(int length) {
        byte[] payload = new byte[length];
        for (int i = 0; i < payload.length; i++) {
            payload[i] = (byte) (255 - i);
        }
        payload[0] = 0;
        payload[10] = '\n';
        return payload;
    }

    /** Polls every message there is now, through a Java consumer (which then deregisters). */
    private static List<byte[]> drain(String ring) throws Exception {
        try (Ring r = Ring.open(ring)) {
            List<byte[]> got = new ArrayList<>();
            for (byte[] m; (m = r.poll(Duration.ZERO)) != null; ) {
                got.add(m);
            }
            return got;
        }
    }

    /**
     * Waits until {@code condition}, looking again and again (no sleep), bounded by the caller's
     * timeout; yields between looks, so that the child JVM it waits for gets the CPU.
     */
    private static void until(BooleanSupplier condition) {
        while (!condition.getAsBoolean()) {
            Thread.yield();
        }
    }

    private static Ring.Info info(Ring r) {
        try {
            return r.info();
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void binaryStdinSentByTheCommandIsPolledByJavaByteForByte() {
        // CLI-03 for the ring: NUL, \n, 0xFF, exactly max-message bytes; one byte more is exit 1, nothing sent.
        assertTimeoutPreemptively(BOUND, () -> {
            String r = created.name();
            assertEquals(0, Cli.run("ring", "create", r, "--capacity", "1k", "--max-message", "256").status());
            byte[] payload = binary(256);
            Cli.Child sent = cli(payload, "ring", "send", r);
            assertEquals(0, sent.status(), sent::err);
            assertEquals("", sent.err() + sent.text());
            List<byte[]> got = drain(r);
            assertEquals(1, got.size());
            assertArrayEquals(payload, got.get(0));

            Cli.Child tooLong = cli(new byte[257], "ring", "send", r);
            assertEquals(1, tooLong.status(), tooLong::err);
            assertEquals("ipcbridge: ring_offer(" + r + "): stdin holds more than the ring's maximum message, 256 bytes; "
                    + "nothing was sent\n", tooLong.err());
            assertEquals(List.of(), drain(r));
        });
    }

    @Test
    void receiveRawWritesAJavaMessageAloneByteForByte() {
        // CLI-03 the other way: a binary message offered by Java, through --raw, no newline.
        assertTimeoutPreemptively(BOUND, () -> {
            String r = created.name();
            assertEquals(0, Cli.run("ring", "create", r, "--capacity", "1k").status());
            byte[] payload = binary(256);
            try (Ring producer = Ring.open(r)) {
                assertTrue(producer.offer(ByteBuffer.wrap(payload)));
            }
            Cli.Child got = cli(new byte[0], "ring", "receive", r, "--raw");
            assertEquals(0, got.status(), got::err);
            assertArrayEquals(payload, got.out());
            assertEquals("", got.err());
        });
    }

    @Test
    void linesOfStdinAreMessagesAndReceiveWritesEachWithANewline() {
        assertTimeoutPreemptively(BOUND, () -> {
            String r = created.name();
            assertEquals(0, Cli.run("ring", "create", r, "--capacity", "1k", "--max-message", "64").status());
            Cli.Child sent = cli("alpha\n\nbeta\r\ngamma".getBytes(StandardCharsets.UTF_8), "ring", "send", r, "--lines");
            assertEquals(0, sent.status(), sent::err);
            Cli.Child got = cli(new byte[0], "ring", "receive", r, "--count", "4");
            assertEquals(0, got.status(), got::err);
            assertEquals("alpha\n\nbeta\r\ngamma\n", got.text(), "the empty line an empty message, \\r kept");
        });
    }

    @Test
    void countMoreThanArriveIsExitThreeAfterWritingThoseThatDid() {
        assertTimeoutPreemptively(BOUND, () -> {
            String r = created.name();
            assertEquals(0, Cli.run("ring", "create", r, "--capacity", "1k").status());
            assertEquals(0, Cli.run("ring", "send", r, "a", "").status());
            Cli.Child got = cli(new byte[0], "ring", "receive", r, "--count", "3", "--timeout", "200ms");
            assertEquals(3, got.status(), got::err);
            assertEquals("a\n\n", got.text());
            assertEquals("ipcbridge: ring_poll(" + r + "): ETIMEDOUT (Connection timed out): no message within 200ms; "
                    + "2 of 3 messages received\n", got.err());
        });
    }

    @Test
    void receiveAllDrainsTheRingAcrossItsWrap() {
        // Three rounds of 40 records of 24 bytes pass the end of a 1 KiB ring twice, each time after a
        // padding record, which receive skips.
        assertTimeoutPreemptively(BOUND, () -> {
            String r = created.name();
            assertEquals(0, Cli.run("ring", "create", r, "--capacity", "1k").status());
            for (int round = 0; round < 3; round++) {
                List<String> args = new ArrayList<>(List.of("ring", "send", r));
                StringBuilder want = new StringBuilder();
                for (int i = 0; i < 40; i++) {
                    args.add(String.format("message-%d-%02d", round, i));
                    want.append(args.get(args.size() - 1)).append('\n');
                }
                assertEquals(0, Cli.run(args.toArray(String[]::new)).status());
                Cli.Child got = cli(new byte[0], "ring", "receive", r, "--all");
                assertEquals(0, got.status(), got::err);
                assertEquals(want.toString(), got.text());
            }
            assertEquals(List.of(), drain(r), "drained");
        });
    }

    @Test
    void receiveStopsTakingMessagesOnceStdoutIsClosed() {
        // CLI-04: when stdout closes as it waits for the next message, it ends at once, takes no further
        // message and exits quietly (141); closing the ring on the way out frees the consumer slot.
        assertTimeoutPreemptively(BOUND, () -> {
            String r = created.name();
            assertEquals(0, Cli.run("ring", "create", r, "--capacity", "1k").status());
            assertEquals(0, Cli.run("ring", "send", r, "m1", "m2", "m3").status());
            Path err = dir.resolve("cli.err");
            Process p = Cli.command(err, "ring", "receive", r, "--count", "1000").start();
            try {
                InputStream stdout = p.getInputStream();
                assertEquals("m1\nm2\nm3\n", MqStdioTest.readBytes(stdout, 9), "the first three came through");
                stdout.close(); // like head exiting, while the receive waits for the fourth message
                assertTrue(p.waitFor(BOUND.toSeconds(), TimeUnit.SECONDS), "it ends without another message");
                assertEquals(0, Cli.run("ring", "send", r, "m4", "m5").status());
                assertEquals(141, p.exitValue(), () -> MqStdioTest.read(err));
                assertEquals("", MqStdioTest.read(err), "quietly");
                List<byte[]> left = drain(r);
                assertEquals(2, left.size(), "m4 and m5 are left");
                assertArrayEquals("m4".getBytes(StandardCharsets.UTF_8), left.get(0));
                assertArrayEquals("m5".getBytes(StandardCharsets.UTF_8), left.get(1));
            } finally {
                Cli.destroy(p);
            }
        });
    }

    @Test
    void aWaitingReceiveIsTheRegisteredConsumerUntilItEnds() {
        // "ring receive" registers as the ring's consumer for as long as it runs: ring info in a third
        // process shows its pid, a Java message ends its wait, and its exit frees the slot.
        assertTimeoutPreemptively(BOUND, () -> {
            String r = created.name();
            assertEquals(0, Cli.run("ring", "create", r, "--capacity", "1k").status());
            Path err = dir.resolve("cli.err");
            Process p = Cli.command(err, "ring", "receive", r, "--timeout", "50s").start();
            try (Ring producer = Ring.open(r)) {
                until(() -> info(producer).consumerPid() == p.pid());
                Cli.Child shown = cli(new byte[0], "ring", "info", r);
                assertTrue(shown.text().contains("consumer-pid: " + p.pid() + "\n"), shown::text);
                assertTrue(producer.offer(ByteBuffer.wrap("wake".getBytes(StandardCharsets.UTF_8))));
                assertEquals("wake\n", new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
                assertTrue(p.waitFor(BOUND.toSeconds(), TimeUnit.SECONDS));
                assertEquals(0, p.exitValue(), () -> MqStdioTest.read(err));
                assertEquals(0, producer.info().consumerPid(), "the slot is free again");
            } finally {
                Cli.destroy(p);
            }
        });
    }

    @Test
    void aSendWaitingForRoomIsARegisteredProducerUntilJavaMakesRoom() {
        // "ring send" on a full ring waits as a registered producer (ring info --json lists its pid) and
        // finishes once the Java consumer takes a message; its exit frees the slot.
        assertTimeoutPreemptively(BOUND, () -> {
            String r = created.name();
            String big = "x".repeat(504);
            assertEquals(0, Cli.run("ring", "create", r, "--capacity", "1k").status());
            assertEquals(0, Cli.run("ring", "send", r, big, big).status());
            Path err = dir.resolve("cli.err");
            Process p = Cli.command(err, "ring", "send", r, "--timeout", "50s", "last").start();
            try (Ring consumer = Ring.open(r)) {
                until(() -> info(consumer).producerPids().contains((int) p.pid()));
                Cli.Child json = cli(new byte[0], "ring", "info", r, "--json");
                assertTrue(json.text().contains("\"producer-pids\":[" + p.pid() + "],"), json::text);
                assertEquals(big, new String(consumer.poll(Duration.ZERO), StandardCharsets.UTF_8));
                assertTrue(p.waitFor(BOUND.toSeconds(), TimeUnit.SECONDS));
                assertEquals(0, p.exitValue(), () -> MqStdioTest.read(err));
                assertEquals(List.of(), consumer.info().producerPids(), "the slot is free again");
                assertEquals(big, new String(consumer.poll(Duration.ZERO), StandardCharsets.UTF_8));
                assertEquals("last", new String(consumer.poll(Duration.ZERO), StandardCharsets.UTF_8));
                assertNull(consumer.poll(Duration.ZERO));
            } finally {
                Cli.destroy(p);
            }
        });
    }

    @Test
    void aReceiveWhoseProducerDiedEndsWithExitOneAfterTheCompleteMessages() {
        // NL-09's killed writer, through the CLI. A producer killed (SIGKILL, no close) while it waited
        // for room leaves its pid registered: a receive writes the complete messages, then reports the
        // dead producer instead of waiting forever; a new send takes the dead producer's slot over.
        assertTimeoutPreemptively(BOUND, () -> {
            String r = created.name();
            String big = "x".repeat(504);
            assertEquals(0, Cli.run("ring", "create", r, "--capacity", "1k").status());
            assertEquals(0, Cli.run("ring", "send", r, big, big).status());
            Process p = Cli.command(dir.resolve("send.err"), "ring", "send", r, "lost").start();
            try (Ring ring = Ring.open(r)) {
                until(() -> info(ring).producerPids().contains((int) p.pid()));
                p.destroyForcibly();
                assertTrue(p.waitFor(BOUND.toSeconds(), TimeUnit.SECONDS));
                assertEquals(List.of((int) p.pid()), ring.info().producerPids(), "killed: nothing deregistered it");
            } finally {
                Cli.destroy(p);
            }
            Cli.Child got = cli(new byte[0], "ring", "receive", r, "--count", "3");
            assertEquals(1, got.status(), got::err);
            assertEquals(big + "\n" + big + "\n", got.text(), "the complete messages first");
            assertEquals("ipcbridge: ring " + r + ": the producer (pid " + p.pid() + ") died\n", got.err());

            assertEquals(0, Cli.run("ring", "send", r, "after").status(), "the dead producer's slot is taken over");
            assertEquals(List.of("after"), drain(r).stream().map(b -> new String(b, StandardCharsets.UTF_8)).toList());
        });
    }
}
