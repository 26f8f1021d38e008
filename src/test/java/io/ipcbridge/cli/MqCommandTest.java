package io.ipcbridge.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.ipcbridge.mq.Message;
import io.ipcbridge.mq.MessageQueue;
import io.ipcbridge.testing.Created;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@code ipcbridge mq} in this JVM: exit statuses 0/1/2/3 and their one stderr line. What needs raw
 * stdin/stdout, and the C peer, is in {@link MqStdioTest}.
 */
class MqCommandTest {
    static final String NL = System.lineSeparator();
    /** CLI.md: a failed system call is one line {@code ipcbridge: CALL(OBJECT): ERRNO (text)}. */
    static final Pattern SYSCALL_FAILURE = Pattern.compile("^ipcbridge: \\w+\\(.*\\): E[A-Z]+ \\(.*");
    private static final Duration BOUND = Duration.ofSeconds(20);
    private final Created created = new Created("climq", MessageQueue::unlink);

    @AfterEach
    void unlinkAll() {
        created.unlinkAll();
    }

    @Test
    void createMakesAQueueWithTheGivenSizesAndMode0600() throws IOException {
        // MQ-06, MQ-30: the sizes asked for, mode 0600 by default.
        String q = created.name();
        Cli.Result r = Cli.run("mq", "create", q, "--max-messages", "4", "--message-size", "1k");
        assertEquals(0, r.status(), r::toString);
        assertEquals("", r.out() + r.err());
        try (MessageQueue mq = MessageQueue.open(q, MessageQueue.Access.READ)) {
            assertEquals(new MessageQueue.Attributes(4, 1024, 0, false), mq.attributes());
            assertEquals(0600, mq.mode());
        }
    }

    @Test
    void createTakesTheKernelDefaultForTheSizeNotGiven() throws IOException {
        // MQ-06: msg_default / msgsize_default fill in what is not given (CLI.md "defaults: the kernel's").
        long msgDefault = Long.parseLong(Files.readAllLines(Path.of("/proc/sys/fs/mqueue/msg_default")).get(0).strip());
        String q = created.name();
        assertEquals(0, Cli.run("mq", "create", q, "--message-size", "64", "--mode", "0640").status());
        try (MessageQueue mq = MessageQueue.open(q, MessageQueue.Access.READ)) {
            assertEquals(msgDefault, mq.attributes().maxMessages(), "msg_default, not a guess");
            assertEquals(64, mq.attributes().messageSize());
            assertEquals(0640, mq.mode(), "the mode exactly, whatever the umask");
        }
    }

    @Test
    void aDefaultPastItsMaximumIsCappedAtTheMaximumAsTheKernelCapsIt(@TempDir Path dir) throws Exception {
        // MQ-06: the kernel takes min(msg_default, msg_max) and min(msgsize_default, msgsize_max) for
        // a queue created without sizes; the size not given must be the same, not an EINVAL. Run in
        // a fresh IPC namespace, whose limits are its own, with defaults set past the maxima.
        List<String> argv = new ArrayList<>(List.of("unshare", "--ipc", "sh", "-c",
                "cd /proc/sys/fs/mqueue && echo 20 > msg_default && echo 16384 > msgsize_default"
                        + " && echo 10 > msg_max && echo 8192 > msgsize_max"
                        + " && \"$@\" mq create /default-size --max-messages 5"
                        + " && \"$@\" mq info /default-size --json"
                        + " && \"$@\" mq create /default-count --message-size 64"
                        + " && \"$@\" mq info /default-count --json",
                "sh"));
        argv.addAll(Cli.command(dir.resolve("err")).command());
        Process p = new ProcessBuilder(argv).redirectErrorStream(true).start();
        String out;
        try {
            out = assertTimeoutPreemptively(Duration.ofSeconds(60),
                    () -> new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
            assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        } finally {
            Cli.destroy(p);
        }
        org.junit.jupiter.api.Assumptions.assumeFalse(out.startsWith("unshare:"), "no IPC namespace here: " + out);
        assertEquals(0, p.exitValue(), out);
        assertTrue(out.contains("\"name\":\"/default-size\",\"max-messages\":5,\"message-size\":8192,"), out);
        assertTrue(out.contains("\"name\":\"/default-count\",\"max-messages\":10,\"message-size\":64,"), out);
    }

    @Test
    void aMessageSizePastWhatTheKernelTakesIsExitOneNamingItsLimit() throws IOException {
        // MQ-05 / CLI.md: a size that parses but the kernel refuses is exit 1 naming the limit; past
        // 2 GiB the line named the library's Java parameter ("messageSize must be ...")
        String q = created.name();
        String max = Files.readAllLines(Path.of("/proc/sys/fs/mqueue/msgsize_max")).get(0).trim();
        Cli.Result r = Cli.run("mq", "create", q, "--message-size", "3g");
        assertEquals(1, r.status(), r::toString);
        assertEquals("ipcbridge: mq_open(" + q + "): EINVAL (Invalid argument): 3221225472-byte messages exceed "
                + "/proc/sys/fs/mqueue/msgsize_max (" + max + ")" + NL, r.err());
    }

    @Test
    void createWithoutExclusiveAcceptsAnExistingQueueAndWithItIsEEXIST() throws IOException {
        // MQ-02: EEXIST with --exclusive, and the first queue is unaffected.
        String q = created.name();
        assertEquals(0, Cli.run("mq", "create", q, "--max-messages", "3").status());
        Cli.Result again = Cli.run("mq", "create", q, "--max-messages", "5");
        assertEquals(0, again.status(), again::toString);
        Cli.Result exclusive = Cli.run("mq", "create", q, "--exclusive");
        assertEquals(1, exclusive.status(), exclusive::toString);
        assertEquals("ipcbridge: mq_open(" + q + "): EEXIST (File exists)" + NL, exclusive.err());
        try (MessageQueue mq = MessageQueue.open(q, MessageQueue.Access.READ)) {
            assertEquals(3, mq.attributes().maxMessages(), "the existing queue kept its sizes");
        }
    }

    @Test
    void createWithoutExclusiveCreatesAQueueRemovedBetweenItsEexistAndItsOpen(@TempDir Path dir) throws Exception {
        // MQ-02, SEC-02: another process's mq_unlink can come between the O_EXCL create's EEXIST and
        // the open that follows, which then finds no queue; the name is free then, and `create`
        // (create-or-open) must create it, not fail with ENOENT. The lost race is made certain: the
        // first mq_open is failed with EEXIST although no queue has the name.
        String q = created.name();
        Cli.Child r = Cli.withFirstCallFailing(dir, "mq_open", "EEXIST", "mq", "create", q, "--max-messages", "3");
        assertEquals(0, r.status(), r.err());
        assertEquals("", r.text() + r.err());
        try (MessageQueue mq = MessageQueue.open(q, MessageQueue.Access.READ)) {
            assertEquals(3, mq.attributes().maxMessages(), "created with the sizes asked for");
        }
    }

    @Test
    void aCreateThatFailsAfterItsMqOpenLeavesNoQueueBehind(@TempDir Path dir) throws Exception {
        // MQ-02, "nothing left half-made": a failure after the O_EXCL mq_open succeeded (here the fchmod
        // that sets the exact mode) left the new queue in place, so that trying again was EEXIST
        String q = created.name();
        Cli.Child r = Cli.withFirstCallFailing(dir, "fchmod", "EPERM", "mq", "create", q, "--exclusive");
        assertEquals(1, r.status(), r.err());
        assertEquals("ipcbridge: fchmod(" + q + "): EPERM (Operation not permitted)" + NL, r.err());
        assertFalse(Files.exists(Path.of("/dev/mqueue" + q)), "the queue it created is removed");
        assertEquals(0, Cli.run("mq", "create", q, "--exclusive").status(), "the name is free");
    }

    @Test
    void infoShowsAQueueThatItsModeLetsThisUserWriteOnly(@TempDir Path dir) throws Exception {
        // MQ-22, CLI.md `mq info`: the attributes and mode come from any descriptor of the queue, so a
        // user who may only send to it (mode 0200 here, for its owner) is shown them too. Run without
        // CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH, so that the mode applies to root as to anyone.
        assumeTrue(new java.io.File("/usr/bin/setpriv").canExecute(), "no setpriv(1) to drop capabilities");
        String q = created.name();
        MessageQueue.createExclusively(q, 4, 64, 0200).close();
        List<String> argv = new ArrayList<>(List.of("setpriv", "--bounding-set=-dac_override,-dac_read_search"));
        argv.addAll(Cli.command(dir.resolve("err"), "mq", "info", q, "--json").command());
        Process p = new ProcessBuilder(argv).redirectError(dir.resolve("err").toFile()).start();
        String out;
        try {
            out = assertTimeoutPreemptively(BOUND, () -> new String(p.getInputStream().readAllBytes(),
                    StandardCharsets.UTF_8));
            assertTrue(p.waitFor(BOUND.toSeconds(), TimeUnit.SECONDS));
        } finally {
            Cli.destroy(p);
        }
        assertEquals(0, p.exitValue(), () -> MqStdioTest.read(dir.resolve("err")));
        assertEquals("{\"name\":\"" + q + "\",\"max-messages\":4,\"message-size\":64,\"current-messages\":0,"
                + "\"mode\":\"0200\"}\n", out);
    }

    @Test
    void aQueueLargerThanTheKernelAllowsIsExitOneNamingTheLimit() throws IOException {
        // MQ-05 / CLI.md: parses, but exceeds a system limit -> 1, not 2.
        long msgMax = Long.parseLong(Files.readAllLines(Path.of("/proc/sys/fs/mqueue/msg_max")).get(0).strip());
        String q = created.name();
        Cli.Result r = Cli.run("mq", "create", q, "--max-messages", Long.toString(msgMax + 1));
        assertEquals(1, r.status(), r::toString);
        assertTrue(SYSCALL_FAILURE.matcher(r.err()).find(), r::toString);
        assertTrue(r.err().startsWith("ipcbridge: mq_open(" + q + "): EINVAL (Invalid argument): "), r::toString);
        assertTrue(r.err().contains("/proc/sys/fs/mqueue/msg_max"), r::toString);
        assertEquals(1, r.err().lines().count(), "one line");
    }

    @Test
    void sendOfArgumentsThenInfoShowsThemQueued() throws IOException {
        String q = created.name();
        assertEquals(0, Cli.run("mq", "create", q, "--max-messages", "5", "--message-size", "128").status());
        Cli.Result sent = Cli.run("mq", "send", q, "--priority", "7", "one", "two");
        assertEquals(0, sent.status(), sent::toString);
        assertEquals("", sent.out() + sent.err());

        Cli.Result info = Cli.run("mq", "info", q);
        assertEquals(0, info.status(), info::toString);
        assertEquals("name: " + q + NL + "max-messages: 5" + NL + "message-size: 128" + NL + "current-messages: 2" + NL
                + "mode: 0600" + NL, info.out());
        Cli.Result json = Cli.run("mq", "info", q, "--json");
        assertEquals("{\"name\":\"" + q + "\",\"max-messages\":5,\"message-size\":128,\"current-messages\":2,"
                + "\"mode\":\"0600\"}" + NL, json.out());
        try (MessageQueue mq = MessageQueue.open(q, MessageQueue.Access.READ)) {
            assertEquals(new Message("one".getBytes(StandardCharsets.UTF_8), 7), mq.tryReceive().orElseThrow());
            assertEquals(new Message("two".getBytes(StandardCharsets.UTF_8), 7), mq.tryReceive().orElseThrow());
        }
    }

    @Test
    void priorityFromMqPrioMaxOnIsExitOneAndNothingIsSent() throws IOException {
        // MQ-09: 32767 is accepted, 32768 (MQ_PRIO_MAX) refused before the call -> exit 1 (a limit, CLI.md).
        String q = created.name();
        assertEquals(0, Cli.run("mq", "create", q).status());
        assertEquals(0, Cli.run("mq", "send", q, "--priority", "32767", "top").status());
        Cli.Result r = Cli.run("mq", "send", q, "--priority", "32768", "x");
        assertEquals(1, r.status(), r::toString);
        assertEquals("ipcbridge: mq_send(" + q + "): priority 32768 is past MQ_PRIO_MAX - 1 (32767); nothing was sent"
                + NL, r.err());
        try (MessageQueue mq = MessageQueue.open(q, MessageQueue.Access.READ)) {
            assertEquals(1, mq.attributes().currentMessages(), "only the accepted message");
            assertEquals(32767, mq.tryReceive().orElseThrow().priority());
        }
    }

    @Test
    void aMessageStartingWithAnAtSignIsSentAsGivenNotReplacedByAFile(@TempDir Path dir) throws IOException {
        // CLI-03 / CLI.md "each MESSAGE argument is one message": "@FILE" is not read as an argument file
        // (picocli's @-files), which would send what FILE holds, split at its blanks, as several messages.
        String q = created.name();
        Path file = Files.writeString(dir.resolve("args"), "two words\n");
        assertEquals(0, Cli.run("mq", "create", q).status());
        Cli.Result r = Cli.run("mq", "send", q, "@" + file);
        assertEquals(0, r.status(), r::toString);
        try (MessageQueue mq = MessageQueue.open(q, MessageQueue.Access.READ)) {
            assertEquals(1, mq.attributes().currentMessages(), "one argument, one message");
            assertEquals("@" + file, new String(mq.tryReceive().orElseThrow().data(), StandardCharsets.UTF_8));
        }
    }

    @Test
    void aMessageLongerThanTheQueueTakesIsExitOneAndNothingIsSent() throws IOException {
        // MQ-07 / CLI-03: msgsize + 1 -> exit 1, and none of the messages went in.
        String q = created.name();
        assertEquals(0, Cli.run("mq", "create", q, "--message-size", "4", "--max-messages", "4").status());
        Cli.Result r = Cli.run("mq", "send", q, "ok", "12345");
        assertEquals(1, r.status(), r::toString);
        assertEquals("ipcbridge: mq_send(" + q + "): MESSAGE 2 has 5 bytes, more than the queue's message size, "
                + "4 bytes; nothing was sent" + NL, r.err());
        try (MessageQueue mq = MessageQueue.open(q, MessageQueue.Access.READ)) {
            assertEquals(0, mq.attributes().currentMessages(), "not even the first message");
        }
    }

    @Test
    void receiveNonblockOnAnEmptyQueueIsExitThree() {
        // MQ-12: EAGAIN is "would block" -> exit 3, one line.
        String q = created.name();
        assertEquals(0, Cli.run("mq", "create", q).status());
        Cli.Result r = assertTimeoutPreemptively(BOUND, () -> Cli.run("mq", "receive", q, "--nonblock"));
        assertEquals(3, r.status(), r::toString);
        assertEquals("ipcbridge: mq_receive(" + q + "): EAGAIN (Resource temporarily unavailable): the queue is empty"
                + NL, r.err());
        assertEquals("", r.out());
    }

    @Test
    void receiveTimeoutIsExitThreeAfterTheTimeout() {
        // CLI-02 / MQ-16: exit 3 after 0.2 s (and not much more); stderr names mq_timedreceive and ETIMEDOUT.
        String q = created.name();
        assertEquals(0, Cli.run("mq", "create", q).status());
        long start = System.nanoTime();
        Cli.Result r = assertTimeoutPreemptively(BOUND, () -> Cli.run("mq", "receive", q, "--timeout", "200ms"));
        long millis = (System.nanoTime() - start) / 1_000_000;
        assertEquals(3, r.status(), r::toString);
        assertEquals("ipcbridge: mq_timedreceive(" + q + "): ETIMEDOUT (Connection timed out): no message within 200ms"
                + NL, r.err());
        assertTrue(millis >= 200 && millis < 2000, "waited about 200 ms: " + millis);
    }

    @Test
    void sendToAFullQueueWithNonblockOrTimeoutIsExitThreeAndTheMessageIsNotQueued() throws IOException {
        // MQ-11 / MQ-13: a full queue -> EAGAIN (--nonblock) or ETIMEDOUT (--timeout), exit 3, nothing queued.
        String q = created.name();
        assertEquals(0, Cli.run("mq", "create", q, "--max-messages", "1", "--message-size", "16").status());
        assertEquals(0, Cli.run("mq", "send", q, "first").status());
        Cli.Result nonblock = assertTimeoutPreemptively(BOUND, () -> Cli.run("mq", "send", q, "--nonblock", "second"));
        assertEquals(3, nonblock.status(), nonblock::toString);
        assertEquals("ipcbridge: mq_send(" + q + "): EAGAIN (Resource temporarily unavailable): the queue is full; "
                + "0 of 1 message sent" + NL, nonblock.err());
        Cli.Result timed = assertTimeoutPreemptively(BOUND,
                () -> Cli.run("mq", "send", q, "--timeout", "100ms", "third"));
        assertEquals(3, timed.status(), timed::toString);
        assertEquals("ipcbridge: mq_timedsend(" + q + "): ETIMEDOUT (Connection timed out): the queue stayed full for "
                + "100ms; 0 of 1 message sent" + NL, timed.err());
        try (MessageQueue mq = MessageQueue.open(q, MessageQueue.Access.READ)) {
            assertEquals("first", mq.tryReceive().orElseThrow().text());
            assertTrue(mq.tryReceive().isEmpty(), "neither refused message went in");
        }
    }

    @Test
    void receiveAllTakesWhatIsQueuedWhenItStartsNotWhatProducersKeepSending(@TempDir Path dir) throws Exception {
        // CLI.md: --all "drains what is queued". Four producers stay blocked in mq_send on a full queue
        // of 2, and the kernel hands a blocked sender's message to the queue in each receive, so the
        // queue never empties: --all took messages for as long as they kept coming. It takes the 2
        // queued when it starts, then ends with exit 0.
        String q = created.name();
        List<Thread> producers = new ArrayList<>();
        try (MessageQueue mq = MessageQueue.createExclusively(q, 2, 64, 0600)) {
            for (int p = 0; p < 4; p++) {
                int id = p;
                Thread t = new Thread(() -> {
                    try {
                        for (int i = 0; ; i++) {
                            mq.send(("p" + id + "-" + i).getBytes(StandardCharsets.US_ASCII), 0);
                        }
                    } catch (IOException closed) {
                        // the queue was closed: the test is over
                    }
                });
                t.start();
                producers.add(t);
            }
            while (mq.attributes().currentMessages() < 2) {
                Thread.onSpinWait();
            }
            Path out = dir.resolve("out");
            Path err = dir.resolve("err");
            assertEquals(0, Cli.runChild(out, err, BOUND, "mq", "receive", q, "--all"), () -> MqStdioTest.read(err));
            assertEquals(2, Files.readAllLines(out).size(), "messages taken");
        } finally {
            for (Thread t : producers) {
                t.join();
            }
        }
    }

    @Test
    void receiveAllOfAnEmptyQueueIsExitZero() {
        String q = created.name();
        assertEquals(0, Cli.run("mq", "create", q).status());
        Cli.Result r = assertTimeoutPreemptively(BOUND, () -> Cli.run("mq", "receive", q, "--all"));
        assertEquals(0, r.status(), r::toString);
        assertEquals("", r.err());
    }

    @Test
    void openingAMissingQueueIsENOENT() {
        // MQ-01 / MQ-21: exit 1, the errno line of the call that failed.
        String q = created.name();
        for (String[] args : new String[][] {{"mq", "send", q, "x"}, {"mq", "receive", q, "--nonblock"},
            {"mq", "info", q}, {"mq", "rm", q}}) {
            Cli.Result r = assertTimeoutPreemptively(BOUND, () -> Cli.run(args));
            assertEquals(1, r.status(), r::toString);
            String call = args[1].equals("rm") ? "mq_unlink" : "mq_open";
            assertEquals("ipcbridge: " + call + "(" + q + "): ENOENT (No such file or directory)" + NL, r.err());
        }
    }

    @Test
    void rmRemovesTheQueue() {
        String q = created.name();
        assertEquals(0, Cli.run("mq", "create", q).status());
        Cli.Result r = Cli.run("mq", "rm", q);
        assertEquals(0, r.status(), r::toString);
        assertEquals(1, Cli.run("mq", "info", q).status(), "gone");
    }

    @ParameterizedTest(name = "ipcbridge {0}")
    @ValueSource(strings = {"mq create a/b", "mq create /", "mq send a//b x", "mq rm /a/b",
        "mq create q --max-messages 0", "mq create q --message-size 0", "mq create q --message-size 4kb",
        "mq create q --mode 0800", "mq send q --priority -1 x", "mq send q --priority x y",
        "mq send q --timeout 1s --nonblock x", "mq send q --lines x", "mq receive q --count 0",
        "mq receive q --count 2 --all", "mq receive q --raw --count 2", "mq receive q --raw --all",
        "mq receive q --raw --print-priority", "mq receive q --timeout 1s --nonblock", "mq receive q --timeout soon",
        "mq info q --bogus", "mq", "mq receive"})
    void whatDoesNotParseIsExitTwo(String args) {
        // CLI.md: unknown option, malformed value, invalid name, a rule of CLI.md broken -> 2, before any call.
        Cli.Result r = Cli.run(args.split(" "));
        assertEquals(2, r.status(), r::toString);
        assertTrue(r.err().startsWith("ipcbridge: "), r::toString);
        assertEquals("", r.out());
    }

    @Test
    void aNameOfMoreThan255BytesIsAUsageError() {
        // MQ-04: 255 bytes accepted (ENOENT here: it does not exist), 256 refused as usage (exit 2).
        String ok = "/" + "a".repeat(255);
        Cli.Result fine = Cli.run("mq", "info", ok);
        assertEquals(1, fine.status(), fine::toString);
        assertTrue(fine.err().contains("ENOENT"), fine::toString);
        Cli.Result r = Cli.run("mq", "info", "/" + "a".repeat(256));
        assertEquals(2, r.status(), r::toString);
        assertTrue(r.err().contains("256 bytes after the slash, at most 255"), r::toString);
    }
}
