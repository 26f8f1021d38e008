package io.ipcbridge.cli;

import io.ipcbridge.ring.Ring;
import io.ipcbridge.shm.SharedMemory;
import java.nio.ByteBuffer;
import java.nio.file.AccessDeniedException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code ipcbridge ring create|send|receive|info|rm}: the shared-memory message ring through
 * {@link Ring}. Send and receive behave as mq send and receive, without priorities; each registers
 * its process as the ring's producer or consumer for as long as it runs.
 */
@Command(name = "ring", mixinStandardHelpOptions = true, version = Main.VERSION,
        description = {"Message rings in shared memory (io.ipcbridge.ring, native-tests/include/ipcbridge_ring.h): "
                + "create one, send and receive messages, show its header, remove it.",
            "A ring has one consumer and one producer (up to eight with --multi-producer): send registers as a "
                + "producer and receive as the consumer while they run, and refuse (exit 1) a ring whose slot a "
                + "live process holds."},
        synopsisSubcommandLabel = "COMMAND",
        subcommands = {RingCommand.Create.class, RingCommand.Send.class, RingCommand.Receive.class,
                RingCommand.Info.class, RingCommand.Remove.class, HelpCommand.class})
final class RingCommand {
    private RingCommand() {
    }

    /** {@code ring create NAME --capacity S [--max-message S] [--mode M] [--exclusive] [--multi-producer]}. */
    @Command(name = "create", mixinStandardHelpOptions = true, version = Main.VERSION,
            description = {"Creates a ring of S bytes of data (after a 512-byte header) in the shared memory object "
                    + "NAME, with exactly the given mode (default 0600).",
                "S must be a power of two from 1KiB to 1GiB and --max-message at most S / 2 - 8 (its default): "
                        + "those are rules of the ring, so other sizes parse but are refused with exit status 1, "
                        + "and nothing is created. A malformed size is a usage error (exit 2).",
                "Without --exclusive an existing ring of this user is accepted as it is (its geometry is "
                        + "kept); one of another user, one more open than the mode asked for, or an object that is "
                        + "not a ring, is refused (exit 1)."})
    static final class Create implements Callable<Integer> {
        @Parameters(paramLabel = "NAME", converter = ObjectNames.Segment.class, description = "The ring, /name.")
        String name;

        @Option(names = "--capacity", paramLabel = "S", required = true, converter = Sizes.Positive.class,
                description = "Bytes of its data area: a power of two from 1KiB to 1GiB (4k, 64KiB, 1MiB).")
        long capacity;

        @Option(names = "--max-message", paramLabel = "S", converter = Sizes.class,
                description = "The longest message it takes (default and most: capacity / 2 - 8).")
        Long maxMessage;

        @Mixin
        ModeOption mode;

        @Option(names = "--exclusive", description = "Fail (exit 1, EEXIST) when the name exists.")
        boolean exclusive;

        @Option(names = "--multi-producer", description = "Let up to eight producers send at once.")
        boolean multiProducer;

        @Override
        public Integer call() throws Exception {
            if (capacity > Integer.MAX_VALUE) {
                throw nothingCreated("ring capacity " + capacity + " is more than 1GiB");
            }
            int limit;
            try {
                limit = Ring.maxMessageLimit((int) capacity);
            } catch (IllegalArgumentException e) {
                throw nothingCreated(e.getMessage());
            }
            long max = maxMessage != null ? maxMessage : limit;
            if (max > limit) {
                throw nothingCreated("a maximum message of " + max + " bytes is more than a ring of " + capacity
                        + " bytes takes (" + limit + ")");
            }
            Ring ring = exclusive ? Ring.create(name, (int) capacity, (int) max, multiProducer, mode.value())
                    : Ring.createOrOpen(name, (int) capacity, (int) max, multiProducer, mode.value());
            ring.close();
            return ExitCodes.OK;
        }

        private CommandFailure nothingCreated(String why) {
            return CommandFailure.refused(name + ": " + why + "; nothing was created");
        }
    }

    /** {@code ring send NAME [--lines] [--timeout D | --nonblock] [MESSAGE...]}. */
    @Command(name = "send", mixinStandardHelpOptions = true, version = Main.VERSION,
            description = {"Sends each MESSAGE argument as one message; with none, all of stdin as one message "
                    + "(binary-safe), or with --lines each line of stdin, without its newline.",
                "Messages are checked against the ring's maximum message first: a longer MESSAGE or stdin is "
                        + "refused (exit 1) and nothing is sent. With --lines, lines are sent as they come, so "
                        + "the lines before a refused one have been sent.",
                "A full ring blocks, unless --timeout or --nonblock says otherwise (exit 3: the messages "
                        + "before have been sent, the rest not). A consumer that dies meanwhile ends the wait "
                        + "with exit 1."})
    static final class Send implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Parameters(index = "0", paramLabel = "NAME", converter = ObjectNames.Segment.class, description = "The ring.")
        String name;

        @Parameters(index = "1..*", paramLabel = "MESSAGE", arity = "0..*",
                description = "Messages, one per argument (its bytes as given).")
        List<String> messages = new ArrayList<>();

        @ArgGroup(exclusive = true, multiplicity = "0..1")
        WaitOptions wait;

        @Option(names = "--lines", description = "Each line of stdin is one message.")
        boolean lines;

        @Override
        public Integer call() throws Exception {
            if (lines && !messages.isEmpty()) {
                throw new ParameterException(spec.commandLine(), "--lines reads stdin: give no MESSAGE with it");
            }
            try (Ring ring = Ring.open(name)) {
                Messaging.send(new Messaging.Labels(ring.name(), "ring", "ring_offer", "ring_offer"),
                        "maximum message", ring.maxMessage(), WaitOptions.limit(wait), messages, lines,
                        (m, timeout) -> ring.offer(ByteBuffer.wrap(m), timeout));
            }
            return ExitCodes.OK;
        }
    }

    /** {@code ring receive NAME [--count N | --all] [--timeout D | --nonblock] [--raw]}. */
    @Command(name = "receive", mixinStandardHelpOptions = true, version = Main.VERSION,
            description = {"Receives messages in the order they were sent and writes each to stdout followed by "
                    + "\"\\n\" (--raw: one message, its bytes alone).",
                "--count N waits for N messages (default 1); exit status 3 when --timeout passes or --nonblock "
                        + "finds the ring empty before N came, after writing those that did.",
                "--all takes what is in the ring, without waiting (with --timeout D it waits up to D for the "
                        + "first message), and no more: not those a producer adds meanwhile; exit 0 even when there "
                        + "was none.",
                "A producer that died with nothing left to read ends the wait with exit 1. Stops taking "
                        + "messages as soon as stdout is closed."})
    static final class Receive implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Parameters(paramLabel = "NAME", converter = ObjectNames.Segment.class, description = "The ring.")
        String name;

        @Mixin
        ReceiveOptions options;

        @Override
        public Integer call() throws Exception {
            if (options.rawForMany()) {
                throw new ParameterException(spec.commandLine(),
                        "--raw writes one message's bytes alone: not with --all or --count above 1");
            }
            try (Ring ring = Ring.open(name)) {
                Messaging.receive(new Messaging.Labels(ring.name(), "ring", "ring_poll", "ring_poll"), options,
                        timeout -> Optional.ofNullable(ring.poll(timeout)), () -> {
                            long end = ring.info().producerPosition();
                            return n -> ring.info().consumerPosition() - end >= 0;
                        }, options::write);
            }
            return ExitCodes.OK;
        }
    }

    /** {@code ring info NAME [--json]}: the ring's header and the object's mode. */
    @Command(name = "info", mixinStandardHelpOptions = true, version = Main.VERSION,
            description = {"Shows the ring's name, capacity, max-message, multi-producer, producer-position, "
                    + "consumer-position, used (bytes between the two), consumer-pid, producer-pids and mode, one "
                    + "\"key: value\" line each (\"-\" for no pid), or one JSON object with --json (null, and an "
                    + "array of pids).",
                "Reads the header without registering anywhere: read access to the ring is enough."})
    static final class Info implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Parameters(paramLabel = "NAME", converter = ObjectNames.Segment.class, description = "The ring.")
        String name;

        @Mixin
        JsonOption json;

        @Override
        public Integer call() throws Exception {
            try (SharedMemory segment = SharedMemory.open(name, true)) { // read access is all it needs
                Ring.Info info = Ring.info(segment);
                Map<String, Object> fields = new LinkedHashMap<>();
                fields.put("name", segment.name());
                fields.put("capacity", info.capacity());
                fields.put("max-message", info.maxMessage());
                fields.put("multi-producer", info.multiProducer());
                fields.put("producer-position", info.producerPosition());
                fields.put("consumer-position", info.consumerPosition());
                fields.put("used", info.used());
                fields.put("consumer-pid", info.consumerPid() == 0 ? null : info.consumerPid());
                fields.put("producer-pids", info.producerPids());
                fields.put("mode", Json.mode(segment.info().mode()));
                json.print(spec.commandLine().getOut(), fields);
            }
            return ExitCodes.OK;
        }
    }

    /** {@code ring rm NAME}: shm_unlink(3) of a ring. */
    @Command(name = "rm", mixinStandardHelpOptions = true, version = Main.VERSION,
            description = {"Removes the ring's name (shm_unlink); who has it open keeps using it.",
                "An object that is not a ring is refused (exit 1) and kept: shm rm removes any segment. The check "
                        + "reads the object: one this user may not read is removed unchecked, as shm_unlink would."})
    static final class Remove implements Callable<Integer> {
        @Parameters(paramLabel = "NAME", converter = ObjectNames.Segment.class, description = "The ring.")
        String name;

        @Override
        public Integer call() throws Exception {
            try (SharedMemory segment = SharedMemory.open(name, true)) {
                Ring.info(segment); // a RingFormatException if it is not a ring
            } catch (AccessDeniedException unreadable) {
                // not checked: shm_unlink needs no access to the object itself
            }
            Ring.unlink(name);
            return ExitCodes.OK;
        }
    }
}
