package io.ipcbridge.cli;

import io.ipcbridge.mq.Message;
import io.ipcbridge.mq.MessageQueue;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.time.Duration;
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

/** {@code ipcbridge mq create|send|receive|info|rm}: POSIX message queues through {@link MessageQueue}. */
@Command(name = "mq", mixinStandardHelpOptions = true, version = Main.VERSION,
        description = "POSIX message queues: create one, send and receive messages, show its attributes, remove it.",
        synopsisSubcommandLabel = "COMMAND",
        subcommands = {MqCommand.Create.class, MqCommand.Send.class, MqCommand.Receive.class, MqCommand.Info.class,
                MqCommand.Remove.class, HelpCommand.class})
final class MqCommand {
    private MqCommand() {
    }

    /** {@code mq create NAME [--max-messages N] [--message-size S] [--mode M] [--exclusive]}: mq_open(3) with O_CREAT. */
    @Command(name = "create", mixinStandardHelpOptions = true, version = Main.VERSION,
            description = {"Creates a queue with exactly the given mode (default 0600).",
                "Without --exclusive an existing queue of this user is accepted as it is (its sizes are kept); "
                        + "one of another user, or one more open than the mode asked for, is refused.",
                "Sizes the kernel does not allow (above /proc/sys/fs/mqueue/msg_max or msgsize_max) fail "
                        + "with exit status 1."})
    static final class Create implements Callable<Integer> {
        @Parameters(paramLabel = "NAME", converter = ObjectNames.Queue.class, description = "The queue, /name.")
        String name;

        @Option(names = "--max-messages", paramLabel = "N", converter = Counts.Positive.class,
                description = "How many messages it holds (default: the kernel's, "
                        + "/proc/sys/fs/mqueue/msg_default).")
        long maxMessages;

        @Option(names = "--message-size", paramLabel = "S", converter = Sizes.Positive.class,
                description = "The longest message (4096, 8k, 1MiB; default: the kernel's, "
                        + "/proc/sys/fs/mqueue/msgsize_default).")
        long messageSize;

        @Mixin
        ModeOption mode;

        @Option(names = "--exclusive", description = "Fail (exit 1, EEXIST) when the queue exists.")
        boolean exclusive;

        @Override
        public Integer call() throws Exception {
            // 0 is the kernel's default (msg_default, msgsize_default)
            MessageQueue q = exclusive ? MessageQueue.createExclusively(name, maxMessages, messageSize, mode.value())
                    : MessageQueue.createOrOpen(name, maxMessages, messageSize, mode.value());
            q.close();
            return ExitCodes.OK;
        }
    }

    /** {@code mq send NAME [--priority P] [--timeout D | --nonblock] [--lines] [MESSAGE...]}. */
    @Command(name = "send", mixinStandardHelpOptions = true, version = Main.VERSION,
            description = {"Sends each MESSAGE argument as one message; with none, all of stdin as one message "
                    + "(binary-safe), or with --lines each line of stdin, without its newline.",
                "Messages are checked against the queue's message size first: a longer MESSAGE or stdin is "
                        + "refused (exit 1) and nothing is sent. With --lines, lines are sent as they come, so "
                        + "the lines before a refused one have been sent.",
                "A full queue blocks, unless --timeout or --nonblock says otherwise (exit 3: the messages "
                        + "before have been sent, the rest not)."})
    static final class Send implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Parameters(index = "0", paramLabel = "NAME", converter = ObjectNames.Queue.class, description = "The queue.")
        String name;

        @Parameters(index = "1..*", paramLabel = "MESSAGE", arity = "0..*",
                description = "Messages, one per argument (its bytes as given).")
        List<String> messages = new ArrayList<>();

        @Option(names = "--priority", paramLabel = "P", converter = Counts.NonNegative.class, defaultValue = "0",
                description = "0 to 32767 (MQ_PRIO_MAX - 1); higher is received first (default: ${DEFAULT-VALUE}).")
        long priority;

        @ArgGroup(exclusive = true, multiplicity = "0..1")
        WaitOptions wait;

        @Option(names = "--lines", description = "Each line of stdin is one message.")
        boolean lines;

        @Override
        public Integer call() throws Exception {
            if (lines && !messages.isEmpty()) {
                throw new ParameterException(spec.commandLine(), "--lines reads stdin: give no MESSAGE with it");
            }
            if (priority >= MessageQueue.PRIO_MAX) {
                throw CommandFailure.refused("mq_send(" + name + "): priority " + priority + " is past MQ_PRIO_MAX - 1 ("
                        + (MessageQueue.PRIO_MAX - 1) + "); nothing was sent");
            }
            Duration limit = WaitOptions.limit(wait);
            try (MessageQueue q = MessageQueue.open(name, MessageQueue.Access.WRITE)) {
                Messaging.send(new Messaging.Labels(name, "queue", "mq_send", "mq_timedsend"), "message size",
                        q.messageSize(), limit, messages, lines, (m, timeout) -> {
                            if (timeout == null) {
                                q.send(m, (int) priority);
                                return true;
                            }
                            return q.send(ByteBuffer.wrap(m), (int) priority, timeout);
                        });
            }
            return ExitCodes.OK;
        }
    }

    /** {@code mq receive NAME [--count N | --all] [--timeout D | --nonblock] [--print-priority] [--raw]}. */
    @Command(name = "receive", mixinStandardHelpOptions = true, version = Main.VERSION,
            description = {"Receives messages, highest priority first, and writes each to stdout followed by "
                    + "\"\\n\" (--print-priority: after \"PRIORITY\\t\"; --raw: one message, its bytes alone).",
                "--count N waits for N messages (default 1); exit status 3 when --timeout passes or --nonblock "
                        + "finds the queue empty before N came, after writing those that did.",
                "--all takes what is queued, without waiting (with --timeout D it waits up to D for the first "
                        + "message), and no more: not those a producer sends meanwhile; exit 0 even when there was none.",
                "Stops taking messages as soon as stdout is closed."})
    static final class Receive implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Parameters(paramLabel = "NAME", converter = ObjectNames.Queue.class, description = "The queue.")
        String name;

        @Mixin
        ReceiveOptions options;

        @Option(names = "--print-priority", description = "Write \"PRIORITY\\t\" before each message.")
        boolean printPriority;

        @Override
        public Integer call() throws Exception {
            if (options.rawForMany() || options.raw && printPriority) {
                throw new ParameterException(spec.commandLine(),
                        "--raw writes one message's bytes alone: not with --all, --count above 1 or --print-priority");
            }
            try (MessageQueue q = MessageQueue.open(name, MessageQueue.Access.READ)) {
                Messaging.receive(new Messaging.Labels(name, "queue", "mq_receive", "mq_timedreceive"), options,
                        timeout -> timeout == null ? Optional.of(q.receive()) : q.receive(timeout), () -> {
                            long queued = q.attributes().currentMessages();
                            return n -> n >= queued;
                        }, this::write);
            }
            return ExitCodes.OK;
        }

        private void write(Message m) throws CommandFailure {
            if (printPriority) {
                options.write((m.priority() + "\t").getBytes(StandardCharsets.US_ASCII), m.data());
            } else {
                options.write(m.data());
            }
        }
    }

    /** {@code mq info NAME [--json]}: mq_getattr(3) and the mode. */
    @Command(name = "info", mixinStandardHelpOptions = true, version = Main.VERSION,
            description = {"Shows the queue's name, max-messages, message-size, current-messages and mode, one "
                    + "\"key: value\" line each, or one JSON object with --json."})
    static final class Info implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Parameters(paramLabel = "NAME", converter = ObjectNames.Queue.class, description = "The queue.")
        String name;

        @Mixin
        JsonOption json;

        @Override
        public Integer call() throws Exception {
            try (MessageQueue q = open()) {
                MessageQueue.Attributes a = q.attributes();
                Map<String, Object> fields = new LinkedHashMap<>();
                fields.put("name", q.name());
                fields.put("max-messages", a.maxMessages());
                fields.put("message-size", a.messageSize());
                fields.put("current-messages", a.currentMessages());
                fields.put("mode", Json.mode(q.mode()));
                json.print(spec.commandLine().getOut(), fields);
            }
            return ExitCodes.OK;
        }

        /** The queue, open for reading, or for writing if its mode lets this user only send to it. */
        private MessageQueue open() throws IOException {
            try {
                return MessageQueue.open(name, MessageQueue.Access.READ, Integer.MAX_VALUE);
            } catch (AccessDeniedException readDenied) {
                return MessageQueue.open(name, MessageQueue.Access.WRITE);
            }
        }
    }

    /** {@code mq rm NAME}: mq_unlink(3). */
    @Command(name = "rm", mixinStandardHelpOptions = true, version = Main.VERSION,
            description = "Removes the queue's name (mq_unlink); who has it open keeps using it.")
    static final class Remove implements Callable<Integer> {
        @Parameters(paramLabel = "NAME", converter = ObjectNames.Queue.class, description = "The queue.")
        String name;

        @Override
        public Integer call() throws Exception {
            MessageQueue.unlink(name);
            return ExitCodes.OK;
        }
    }
}
