package io.ipcbridge.cli;

import static io.ipcbridge.cli.MqCommandTest.NL;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.ipcbridge.ring.Ring;
import io.ipcbridge.shm.SharedMemory;
import io.ipcbridge.testing.Created;
import io.ipcbridge.testing.Fds;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@code ipcbridge ring} in this JVM: exit statuses 0/1/2/3 and their one stderr line, and messages
 * between the command and {@link Ring} in this process. What needs raw stdin/stdout, or the command
 * in another process, is in {@link RingStdioTest}.
 */
class RingCommandTest {
    private static final Duration BOUND = Duration.ofSeconds(20);
    private static final long PID = ProcessHandle.current().pid();
    private final Created created = new Created("cliring", Ring::unlink);

    @AfterEach
    void unlinkAll() {
        created.unlinkAll();
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static Path file(String name) {
        return Path.of("/dev/shm" + name);
    }

    @Test
    void createMakesARingOfTheGivenGeometryWithMode0600() throws IOException {
        String r = created.name();
        Cli.Result c = Cli.run("ring", "create", r, "--capacity", "4k");
        assertEquals(0, c.status(), c::toString);
        assertEquals("", c.out() + c.err());
        try (Ring ring = Ring.open(r); SharedMemory shm = SharedMemory.open(r, true)) {
            assertEquals(4096, ring.capacity());
            assertEquals(4096 / 2 - 8, ring.maxMessage(), "the largest the ring takes, by default");
            assertFalse(ring.isMultiProducer());
            assertEquals(0600, shm.info().mode());
        }
        String m = created.name();
        assertEquals(0, Cli.run("ring", "create", m, "--capacity", "1MiB", "--max-message", "100", "--multi-producer",
                "--mode", "0640").status());
        try (Ring ring = Ring.open(m); SharedMemory shm = SharedMemory.open(m, true)) {
            assertEquals(1 << 20, ring.capacity());
            assertEquals(100, ring.maxMessage());
            assertTrue(ring.isMultiProducer());
            assertEquals(0640, shm.info().mode(), "the mode exactly, whatever the umask");
        }
    }

    @Test
    void createWithoutExclusiveAcceptsAnExistingRingAsItIsAndWithItIsEEXIST() throws IOException {
        String r = created.name();
        assertEquals(0, Cli.run("ring", "create", r, "--capacity", "2k", "--max-message", "64").status());
        Cli.Result again = Cli.run("ring", "create", r, "--capacity", "8k", "--multi-producer");
        assertEquals(0, again.status(), again::toString);
        Cli.Result exclusive = Cli.run("ring", "create", r, "--capacity", "2k", "--exclusive");
        assertEquals(1, exclusive.status(), exclusive::toString);
        assertEquals("ipcbridge: shm_open(" + r + "): EEXIST (File exists)" + NL, exclusive.err());
        try (Ring ring = Ring.open(r)) {
            assertEquals(2048, ring.capacity(), "the existing ring kept its geometry");
            assertEquals(64, ring.maxMessage());
            assertFalse(ring.isMultiProducer());
        }
    }

    @Test
    void createOverAnotherUsersRingIsRefused() throws IOException {
        // As MessageQueue.createOrOpen and SharedMemory.createOrOpen: a name in /dev/shm that another
        // user planted is not taken as ours (chown needs root).
        assumeTrue("root".equals(System.getProperty("user.name")), "chown needs root");
        String r = created.name();
        assertEquals(0, Cli.run("ring", "create", r, "--capacity", "1k").status());
        Files.setAttribute(file(r), "unix:uid", 65534);
        Cli.Result c = Cli.run("ring", "create", r, "--capacity", "1k");
        assertEquals(1, c.status(), c::toString);
        assertEquals("ipcbridge: " + r + ": is owned by uid 65534, not by this user; refused" + NL, c.err());
    }

    @Test
    void createOverASegmentThatIsNotARingIsRefusedAndLeavesItAsItWas() throws IOException {
        String r = created.name();
        assertEquals(0, Cli.run("shm", "create", r, "--size", "4k").status());
        Files.write(file(r), new byte[] {1, 2, 3});
        Cli.Result c = Cli.run("ring", "create", r, "--capacity", "1k");
        assertEquals(1, c.status(), c::toString);
        assertTrue(c.err().startsWith("ipcbridge: ring " + r + ": "), c::toString);
        assertEquals(1, c.err().lines().count(), "one line");
        assertArrayEquals(new byte[] {1, 2, 3}, Files.readAllBytes(file(r)), "nothing written");

        Cli.Result rm = Cli.run("ring", "rm", r);
        assertEquals(1, rm.status(), rm::toString);
        assertTrue(Files.exists(file(r)), "ring rm keeps what is not a ring");
    }

    @ParameterizedTest(name = "--capacity {0} --max-message {1}")
    @CsvSource(nullValues = "none", value = {
        "1000, none, ring capacity 1000 is not a power of two from 1024 to 1073741824",
        "512, none, ring capacity 512 is not a power of two from 1024 to 1073741824",
        "2GiB, none, ring capacity 2147483648 is more than 1GiB",
        "4k, 2041, a maximum message of 2041 bytes is more than a ring of 4096 bytes takes (2040)"})
    void aGeometryTheRingRefusesIsExitOneAndNothingIsCreated(String capacity, String maxMessage, String why) {
        // CLI.md: these sizes parse; the power of two and the bounds are rules of the ring (an object
        // limit), not of CLI.md, so they are exit 1, refused before any call.
        String r = created.name();
        Cli.Result c = maxMessage == null ? Cli.run("ring", "create", r, "--capacity", capacity)
                : Cli.run("ring", "create", r, "--capacity", capacity, "--max-message", maxMessage);
        assertEquals(1, c.status(), c::toString);
        assertEquals("ipcbridge: " + r + ": " + why + "; nothing was created" + NL, c.err());
        assertFalse(Files.exists(file(r)), "nothing was created");
    }

    @Test
    void sendOfArgumentsReachesJavaAndInfoShowsThem() throws Exception {
        String r = created.name();
        assertEquals(0, Cli.run("ring", "create", r, "--capacity", "1k", "--max-message", "100").status());
        Cli.Result sent = Cli.run("ring", "send", r, "one", "three");
        assertEquals(0, sent.status(), sent::toString);
        assertEquals("", sent.out() + sent.err());

        // two records of align8(8 + length) bytes: 16 + 16
        Cli.Result info = Cli.run("ring", "info", r);
        assertEquals(0, info.status(), info::toString);
        assertEquals("name: " + r + NL + "capacity: 1024" + NL + "max-message: 100" + NL + "multi-producer: false" + NL
                + "producer-position: 32" + NL + "consumer-position: 0" + NL + "used: 32" + NL + "consumer-pid: -" + NL
                + "producer-pids: -" + NL + "mode: 0600" + NL, info.out(), "send closed the ring: its pid slot is free");
        try (Ring ring = Ring.open(r)) {
            assertArrayEquals(bytes("one"), ring.poll(Duration.ZERO));
            assertArrayEquals(bytes("three"), ring.poll(Duration.ZERO));
            assertNull(ring.poll(Duration.ZERO), "nothing more");
        }
    }

    @Test
    void infoJsonNamesTheRegisteredProducerAndConsumer() throws Exception {
        String r = created.name();
        assertEquals(0, Cli.run("ring", "create", r, "--capacity", "1k", "--multi-producer", "--mode", "0644").status());
        try (Ring producer = Ring.open(r); Ring consumer = Ring.open(r)) {
            assertTrue(producer.offer(ByteBuffer.wrap(bytes("abc"))));
            assertArrayEquals(bytes("abc"), consumer.poll(Duration.ZERO));
            Cli.Result json = Cli.run("ring", "info", r, "--json");
            assertEquals(0, json.status(), json::toString);
            assertEquals("{\"name\":\"" + r + "\",\"capacity\":1024,\"max-message\":504,\"multi-producer\":true,"
                    + "\"producer-position\":16,\"consumer-position\":16,\"used\":0,\"consumer-pid\":" + PID + ","
                    + "\"producer-pids\":[" + PID + "],\"mode\":\"0644\"}" + NL, json.out());
        }
        Cli.Result none = Cli.run("ring", "info", r, "--json");
        assertTrue(none.out().contains("\"consumer-pid\":null,\"producer-pids\":[],"), none::toString);
    }

    @Test
    void aMessageFromJavaIsTakenByReceiveWhichFreesTheConsumerSlot() throws Exception {
        // The reverse of the send test, in this JVM: stdout is the process's own, so only the taking is
        // checked here (the bytes written are in RingStdioTest).
        String r = created.name();
        assertEquals(0, Cli.run("ring", "create", r, "--capacity", "1k").status());
        try (Ring producer = Ring.open(r)) {
            assertTrue(producer.offer(ByteBuffer.wrap(new byte[0])));
            Cli.Result got = assertTimeoutPreemptively(BOUND, () -> Cli.run("ring", "receive", r, "--raw"));
            assertEquals(0, got.status(), got::toString);
            Ring.Info info = producer.info();
            assertEquals(info.producerPosition(), info.consumerPosition(), "the message was taken");
            assertEquals(0, info.consumerPid(), "receive closed the ring: its pid slot is free");
        }
    }

    @Test
    void receiveNonblockOrTimeoutOnAnEmptyRingIsExitThree() {
        // CLI-02 for the ring: EAGAIN (--nonblock) or ETIMEDOUT (--timeout) in the form of mq's lines, exit 3.
        String r = created.name();
        assertEquals(0, Cli.run("ring", "create", r, "--capacity", "1k").status());
        Cli.Result nonblock = assertTimeoutPreemptively(BOUND, () -> Cli.run("ring", "receive", r, "--nonblock"));
        assertEquals(3, nonblock.status(), nonblock::toString);
        assertEquals("ipcbridge: ring_poll(" + r + "): EAGAIN (Resource temporarily unavailable): the ring is empty"
                + NL, nonblock.err());
        Cli.Result timed = assertTimeoutPreemptively(BOUND, () -> Cli.run("ring", "receive", r, "--count", "2",
                "--timeout", "100ms"));
        assertEquals(3, timed.status(), timed::toString);
        assertEquals("ipcbridge: ring_poll(" + r + "): ETIMEDOUT (Connection timed out): no message within 100ms; "
                + "0 of 2 messages received" + NL, timed.err());
        Cli.Result all = assertTimeoutPreemptively(BOUND, () -> Cli.run("ring", "receive", r, "--all"));
        assertEquals(0, all.status(), "--all of an empty ring: " + all);
    }

    @Test
    void receiveAllTakesWhatIsInTheRingWhenItStartsNotWhatAProducerKeepsAdding(@TempDir Path dir) throws Exception {
        // CLI.md: --all takes what is there; a producer that refills the ring as fast as it is read
        // kept it taking for as long as it kept producing. It takes at most what was there when it
        // started (a 1 KiB ring holds at most 64 records of 8 bytes), in order, then ends with exit 0.
        String r = created.name();
        AtomicBoolean stop = new AtomicBoolean();
        try (Ring ring = Ring.create(r, 1024)) {
            Thread producer = new Thread(() -> {
                try {
                    for (long i = 0; !stop.get(); ) {
                        if (ring.offer(ByteBuffer.wrap(String.format("%07d", i).getBytes(StandardCharsets.US_ASCII)))) {
                            i++;
                        }
                    }
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
            producer.start();
            try {
                Path out = dir.resolve("out");
                Path err = dir.resolve("err");
                assertEquals(0, Cli.runChild(out, err, BOUND, "ring", "receive", r, "--all"), () -> MqStdioTest.read(err));
                List<String> lines = Files.readAllLines(out);
                assertTrue(lines.size() <= 64, () -> lines.size() + " messages taken");
                for (int i = 0; i < lines.size(); i++) {
                    assertEquals(String.format("%07d", i), lines.get(i), "in order, none lost");
                }
            } finally {
                stop.set(true);
                producer.join();
            }
        }
    }

    @Test
    void receiveAllWithATimeoutWaitsForTheFirstMessageThenTakesWhatIsThere(@TempDir Path dir) throws Exception {
        // CLI.md: --all with --timeout D waits up to D for the first message, then takes what is there
        // without waiting: asleep on the empty ring, it gets the one message offered, and ends (exit 0)
        String r = created.name();
        try (Ring ring = Ring.create(r, 1024)) {
            Path out = dir.resolve("out");
            Process cli = Cli.command(dir.resolve("err"), "ring", "receive", r, "--all", "--timeout", "60s")
                    .redirectOutput(out.toFile()).start();
            try {
                FutexWait.await(cli, Path.of("/dev/shm" + r)); // waiting for the first message
                assertTrue(ring.offer(ByteBuffer.wrap("first".getBytes(StandardCharsets.US_ASCII))));
                assertTrue(cli.waitFor(BOUND.toSeconds(), java.util.concurrent.TimeUnit.SECONDS), "ended");
            } finally {
                cli.destroyForcibly();
            }
            assertEquals(0, cli.exitValue(), () -> MqStdioTest.read(dir.resolve("err")));
            assertEquals(List.of("first"), Files.readAllLines(out));
        }
    }

    @Test
    void sendToAFullRingWithNonblockOrTimeoutIsExitThreeAndNothingMoreIsWritten() throws Exception {
        // Two records of 8 + 504 bytes fill a 1 KiB ring.
        String r = created.name();
        String big = "x".repeat(504);
        assertEquals(0, Cli.run("ring", "create", r, "--capacity", "1k").status());
        assertEquals(0, Cli.run("ring", "send", r, big, big).status());
        Cli.Result nonblock = assertTimeoutPreemptively(BOUND, () -> Cli.run("ring", "send", r, "--nonblock", "y"));
        assertEquals(3, nonblock.status(), nonblock::toString);
        assertEquals("ipcbridge: ring_offer(" + r + "): EAGAIN (Resource temporarily unavailable): the ring is full; "
                + "0 of 1 message sent" + NL, nonblock.err());
        Cli.Result timed = assertTimeoutPreemptively(BOUND, () -> Cli.run("ring", "send", r, "--timeout", "100ms",
                "y", "z"));
        assertEquals(3, timed.status(), timed::toString);
        assertEquals("ipcbridge: ring_offer(" + r + "): ETIMEDOUT (Connection timed out): the ring stayed full for "
                + "100ms; 0 of 2 messages sent" + NL, timed.err());
        try (Ring ring = Ring.open(r)) {
            assertEquals(1024, ring.info().used(), "still the two first messages, nothing else");
            assertEquals(List.of(), ring.info().producerPids(), "the refused sends freed their slot");
        }
    }

    @Test
    void aMessageLongerThanTheMaximumIsExitOneAndNothingIsSent() throws IOException {
        String r = created.name();
        assertEquals(0, Cli.run("ring", "create", r, "--capacity", "1k", "--max-message", "4").status());
        Cli.Result c = Cli.run("ring", "send", r, "ok", "12345");
        assertEquals(1, c.status(), c::toString);
        assertEquals("ipcbridge: ring_offer(" + r + "): MESSAGE 2 has 5 bytes, more than the ring's maximum message, "
                + "4 bytes; nothing was sent" + NL, c.err());
        try (Ring ring = Ring.open(r)) {
            assertEquals(0, ring.info().producerPosition(), "not even the first message");
        }
    }

    @Test
    void aSecondConsumerOrProducerIsExitOneWhileTheFirstIsRegistered() throws Exception {
        String r = created.name();
        assertEquals(0, Cli.run("ring", "create", r, "--capacity", "1k").status());
        try (Ring java = Ring.open(r)) {
            assertTrue(java.offer(ByteBuffer.wrap(bytes("mine"))));
            assertArrayEquals(bytes("mine"), java.poll(Duration.ZERO));
            Cli.Result receive = assertTimeoutPreemptively(BOUND, () -> Cli.run("ring", "receive", r, "--nonblock"));
            assertEquals(1, receive.status(), receive::toString);
            assertEquals("ipcbridge: ring " + r + " already has a consumer (pid " + PID + ")" + NL, receive.err());
            Cli.Result send = assertTimeoutPreemptively(BOUND, () -> Cli.run("ring", "send", r, "x"));
            assertEquals(1, send.status(), send::toString);
            assertEquals("ipcbridge: ring " + r + " already has a producer (pid " + PID + ")" + NL, send.err());
            assertEquals(List.of((int) PID), java.info().producerPids(), "the refused command took no slot");
            assertEquals(PID, java.info().consumerPid());
        }
    }

    @Test
    void aMissingRingIsENOENT() {
        String r = created.name();
        for (String[] args : new String[][] {{"ring", "send", r, "x"}, {"ring", "receive", r, "--nonblock"},
            {"ring", "info", r}, {"ring", "rm", r}}) {
            Cli.Result c = assertTimeoutPreemptively(BOUND, () -> Cli.run(args));
            assertEquals(1, c.status(), c::toString);
            assertEquals("ipcbridge: shm_open(" + r + "): ENOENT (No such file or directory)" + NL, c.err());
        }
    }

    @Test
    void rmRemovesTheRing() {
        String r = created.name();
        assertEquals(0, Cli.run("ring", "create", r, "--capacity", "1k").status());
        Cli.Result c = Cli.run("ring", "rm", r);
        assertEquals(0, c.status(), c::toString);
        assertEquals("", c.out() + c.err());
        assertFalse(Files.exists(file(r)), "gone");
    }

    @Test
    void everySubcommandLeavesNoDescriptorBehind() {
        String r = created.name();
        Map<Integer, String> before = Fds.snapshot();
        for (String[] args : new String[][] {{"ring", "create", r, "--capacity", "1k"}, {"ring", "send", r, ""},
            {"ring", "info", r, "--json"}, {"ring", "receive", r, "--raw"}, {"ring", "receive", r, "--nonblock"},
            {"ring", "create", r, "--capacity", "1k", "--exclusive"}, {"ring", "rm", r}, {"ring", "info", r}}) {
            assertTimeoutPreemptively(BOUND, () -> Cli.run(args));
        }
        Fds.assertNoneAdded(before);
    }

    @ParameterizedTest(name = "ipcbridge {0}")
    @ValueSource(strings = {"ring create r", "ring create r --capacity 4kb", "ring create r --capacity 0",
        "ring create r --capacity -1", "ring create a/b --capacity 4k",
        "ring create r --capacity 4k --max-message x", "ring create r --capacity 4k --mode 0800",
        "ring send r --lines x", "ring send r --timeout 1s --nonblock x", "ring send r --priority 1 x",
        "ring receive r --count 0", "ring receive r --count 2 --all", "ring receive r --raw --count 2",
        "ring receive r --raw --all", "ring receive r --print-priority", "ring receive r --timeout soon",
        "ring info r --bogus", "ring rm", "ring", "ring receive", "ring frobnicate"})
    void whatDoesNotParseIsExitTwo(String args) {
        // CLI.md: unknown option, malformed value, invalid name, a rule of CLI.md broken -> 2, before any call.
        Cli.Result c = Cli.run(args.split(" "));
        assertEquals(2, c.status(), c::toString);
        assertTrue(c.err().startsWith("ipcbridge: "), c::toString);
        assertEquals("", c.out());
    }
}
