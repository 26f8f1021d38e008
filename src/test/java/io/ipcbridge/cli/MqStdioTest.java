package io.ipcbridge.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ipcbridge.mq.MessageQueue;
import io.ipcbridge.testing.Created;
import io.ipcbridge.testing.Peers;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HexFormat;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code ipcbridge mq send|receive} as real commands in child JVMs, with raw stdin and stdout, against
 * the C peer native-tests/mq_peer.c (receive-raw, send-raw) on the other end of the queue.
 */
class MqStdioTest {
    private static final Duration BOUND = Duration.ofSeconds(60);
    private final Created created = new Created("climq", MessageQueue::unlink);

    @TempDir
    Path dir;

    @AfterEach
    void unlinkAll() {
        created.unlinkAll();
    }

    /** Runs mq_peer to its end; returns its stdout, asserting exit 0. */
    private String peer(String... args) throws Exception {
        return Peers.run(dir.resolve("peer.err"), "mq_peer", args);
    }

    /** Runs the CLI in a child JVM with {@code stdin} as its stdin, to its end. */
    private Cli.Child cli(byte[] stdin, String... args) throws Exception {
        return Cli.child(dir, BOUND, stdin, args);
    }

    @Test
    void sendWithPriorityReachesTheCPeerByteForByte() {
        // CLI-01 / CLI-03: stdin as one message, with NUL, \n, 0xFF, exactly msgsize bytes; the C
        // receiver sees the same bytes and the priority.
        assertTimeoutPreemptively(BOUND, () -> {
            String q = created.name();
            assertEquals(0, Cli.run("mq", "create", q, "--message-size", "256", "--max-messages", "2").status());
            byte[] payload = new byte[256];
            for (int i = 0; i < payload.length; i++) {
                payload[i] = (byte) (255 - i);
            }
            payload[10] = '\n';
            Cli.Child sent = cli(payload, "mq", "send", q, "--priority", "5");
            assertEquals(0, sent.status(), sent::err);
            assertEquals("", sent.err() + sent.text());
            assertEquals("5 256 " + HexFormat.of().formatHex(payload) + "\n", peer("receive-raw", q));
        });
    }

    @Test
    void stdinOneByteLongerThanTheMessageSizeIsRefusedAndNothingIsSent() {
        // CLI-03: msgsize + 1 -> exit 1, nothing sent.
        assertTimeoutPreemptively(BOUND, () -> {
            String q = created.name();
            assertEquals(0, Cli.run("mq", "create", q, "--message-size", "256", "--max-messages", "2").status());
            Cli.Child r = cli(new byte[257], "mq", "send", q);
            assertEquals(1, r.status(), r::err);
            assertEquals("ipcbridge: mq_send(" + q + "): stdin holds more than the queue's message size, 256 bytes; "
                    + "nothing was sent\n", r.err());
            try (MessageQueue mq = MessageQueue.open(q, MessageQueue.Access.READ)) {
                assertEquals(0, mq.attributes().currentMessages());
            }
        });
    }

    @Test
    void linesOfStdinAreMessagesAnEmptyOneIncluded() {
        assertTimeoutPreemptively(BOUND, () -> {
            String q = created.name();
            assertEquals(0, Cli.run("mq", "create", q, "--message-size", "64", "--max-messages", "5").status());
            Cli.Child r = cli("alpha\n\nbeta\r\ngamma".getBytes(StandardCharsets.UTF_8), "mq", "send", q, "--lines",
                    "--priority", "3");
            assertEquals(0, r.status(), r::err);
            assertEquals("3 5 " + hex("alpha") + "\n", peer("receive-raw", q));
            assertEquals("3 0 -\n", peer("receive-raw", q), "the empty line is an empty message");
            assertEquals("3 5 " + hex("beta\r") + "\n", peer("receive-raw", q), "only \\n ends a line");
            assertEquals("3 5 " + hex("gamma") + "\n", peer("receive-raw", q), "a last line without \\n counts");
        });
    }

    @Test
    void receiveRawGivesTheCPeersBinaryMessageAlone() {
        // CLI-03 the other way: every byte value from C, through --raw, byte-identical, no newline.
        assertTimeoutPreemptively(BOUND, () -> {
            String q = created.name();
            assertEquals(0, Cli.run("mq", "create", q, "--message-size", "256", "--max-messages", "2").status());
            byte[] payload = new byte[256];
            for (int i = 0; i < payload.length; i++) {
                payload[i] = (byte) i;
            }
            peer("send-raw", q, "9", HexFormat.of().formatHex(payload));
            Cli.Child r = cli(new byte[0], "mq", "receive", q, "--raw");
            assertEquals(0, r.status(), r::err);
            assertArrayEquals(payload, r.out());
            assertEquals("", r.err());
        });
    }

    @Test
    void printPriorityShowsTheCPeersMessagesHighestPriorityFirst() {
        // MQ-10: 5,5,3,1,0 with the two 5s in send order, each prefixed "PRIORITY\t", each ended by "\n".
        assertTimeoutPreemptively(BOUND, () -> {
            String q = created.name();
            assertEquals(0, Cli.run("mq", "create", q, "--message-size", "64", "--max-messages", "8").status());
            int[] prios = {1, 5, 3, 5, 0};
            for (int i = 0; i < prios.length; i++) {
                peer("send-raw", q, Integer.toString(prios[i]), hex("m" + i));
            }
            Cli.Child r = cli(new byte[0], "mq", "receive", q, "--count", "5", "--print-priority");
            assertEquals(0, r.status(), r::err);
            assertEquals("5\tm1\n5\tm3\n3\tm2\n1\tm0\n0\tm4\n", r.text());
        });
    }

    @Test
    void countMoreThanArriveIsExitThreeAfterWritingThoseThatDid() {
        // CLI.md: --count N with fewer than N -> exit 3, after printing those that came.
        assertTimeoutPreemptively(BOUND, () -> {
            String q = created.name();
            assertEquals(0, Cli.run("mq", "create", q, "--message-size", "64", "--max-messages", "8").status());
            peer("send-raw", q, "0", hex("a"));
            peer("send-raw", q, "0", "");
            Cli.Child r = cli(new byte[0], "mq", "receive", q, "--count", "3", "--timeout", "200ms");
            assertEquals(3, r.status(), r::err);
            assertEquals("a\n\n", r.text(), "the two messages that came, the empty one as an empty line");
            assertEquals("ipcbridge: mq_timedreceive(" + q + "): ETIMEDOUT (Connection timed out): no message within "
                    + "200ms; 2 of 3 messages received\n", r.err());
        });
    }

    @Test
    void receiveAllDrainsTheQueue() {
        assertTimeoutPreemptively(BOUND, () -> {
            String q = created.name();
            assertEquals(0, Cli.run("mq", "create", q, "--message-size", "64", "--max-messages", "8").status());
            assertEquals(0, Cli.run("mq", "send", q, "x", "y", "z").status());
            Cli.Child r = cli(new byte[0], "mq", "receive", q, "--all");
            assertEquals(0, r.status(), r::err);
            assertEquals("x\ny\nz\n", r.text());
            try (MessageQueue mq = MessageQueue.open(q, MessageQueue.Access.READ)) {
                assertEquals(0, mq.attributes().currentMessages(), "drained");
            }
        });
    }

    @Test
    void receiveStopsTakingMessagesOnceStdoutIsClosed() {
        // CLI-04 (`mq receive --count 1000 | head -3`): when stdout closes as it waits for the next
        // message, it ends at once and takes no further message, and exits quietly (141, no stderr).
        assertTimeoutPreemptively(BOUND, () -> {
            String q = created.name();
            assertEquals(0, Cli.run("mq", "create", q, "--message-size", "64", "--max-messages", "8").status());
            assertEquals(0, Cli.run("mq", "send", q, "m1", "m2", "m3").status());
            Path err = dir.resolve("cli.err");
            Process p = Cli.command(err, "mq", "receive", q, "--count", "1000").start();
            try {
                InputStream stdout = p.getInputStream();
                assertEquals("m1\nm2\nm3\n", readBytes(stdout, 9), "the first three came through");
                stdout.close(); // like head exiting, while the receive waits for the fourth message
                assertTrue(p.waitFor(BOUND.toSeconds(), TimeUnit.SECONDS), "it ends without another message");
                assertEquals(0, Cli.run("mq", "send", q, "m4", "m5").status());
                assertEquals(141, p.exitValue(), () -> read(err));
                assertEquals("", read(err), "quietly");
                try (MessageQueue mq = MessageQueue.open(q, MessageQueue.Access.READ)) {
                    assertEquals("m4", mq.tryReceive().orElseThrow().text(), "m4 was not taken");
                    assertEquals("m5", mq.tryReceive().orElseThrow().text(), "m5 was not taken");
                    assertTrue(mq.tryReceive().isEmpty());
                }
            } finally {
                Cli.destroy(p);
            }
        });
    }

    @Test
    void receiveWhoseStdoutIsAlreadyClosedTakesNoMessage() {
        // CLI-04: stdout's reader has gone before mq receive starts, and messages are waiting: it must
        // end quietly (141) and leave them. It used to look only at what its stdout watcher had seen,
        // which may not have looked yet, and took a message that the write then lost.
        assertTimeoutPreemptively(BOUND, () -> {
            String q = created.name();
            assertEquals(0, Cli.run("mq", "create", q, "--message-size", "64", "--max-messages", "8").status());
            for (int run = 0; run < 3; run++) {
                assertEquals(0, Cli.run("mq", "send", q, "m1", "m2").status());
                Path err = dir.resolve("cli.err");
                Process p = Cli.command(err, "mq", "receive", q, "--count", "2").start();
                try {
                    p.getInputStream().close(); // long before the child JVM has started
                    assertTrue(p.waitFor(BOUND.toSeconds(), TimeUnit.SECONDS), "it ends");
                    assertEquals(141, p.exitValue(), () -> read(err));
                    assertEquals("", read(err), "quietly");
                } finally {
                    Cli.destroy(p);
                }
                try (MessageQueue mq = MessageQueue.open(q, MessageQueue.Access.READ)) {
                    int r = run;
                    assertEquals("m1", mq.tryReceive().map(m -> m.text()).orElse(null), () -> "run " + r + ": m1 left");
                    assertEquals("m2", mq.tryReceive().orElseThrow().text());
                }
            }
        });
    }

    static String readBytes(InputStream in, int n) throws IOException {
        ByteArrayOutputStream got = new ByteArrayOutputStream();
        while (got.size() < n) {
            int b = in.read();
            if (b < 0) {
                break;
            }
            got.write(b);
        }
        return got.toString(StandardCharsets.UTF_8);
    }

    private static String hex(String s) {
        return HexFormat.of().formatHex(s.getBytes(StandardCharsets.UTF_8));
    }

    static String read(Path p) {
        try {
            return Files.readString(p);
        } catch (IOException e) {
            return "(" + e + ")";
        }
    }
}
