package io.ipcbridge.cli;

import io.ipcbridge.conn.AuthenticationException;
import io.ipcbridge.conn.Connection;
import io.ipcbridge.conn.Listener;
import io.ipcbridge.conn.TruncatedMessageException;
import io.ipcbridge.socket.Address;
import java.io.EOFException;
import java.io.IOException;
import java.net.SocketTimeoutException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.TypeConversionException;

/**
 * {@code ipcbridge conn send|receive|listen}: framed messages with the wire format and the authkey
 * handshake of Python's {@code multiprocessing.connection}, through {@link Connection} and
 * {@link Listener}.
 *
 * <p>ADDRESS is {@code unix:PATH}, {@code abstract:NAME} or {@code tcp:HOST:PORT}, read as
 * {@code sock} reads it ({@link SockCommand.Endpoints}); {@code udp:} and what does not parse are
 * usage errors (exit 2). The authkey file's bytes are the key, less one trailing "\n" (so that
 * {@code echo secret > key} gives the key {@code secret}); an empty key is refused (exit 1): the
 * library treats it as "no authentication", Python as a key. A failed handshake is exit 1 with one
 * line; a connect not accepted, or a handshake not complete, within
 * {@link Connection#DEFAULT_HANDSHAKE_TIMEOUT} exit 3; a peer that
 * closes between messages before N came is exit 1, "the peer closed after K of N messages", after
 * writing the K.
 */
@Command(name = "conn", mixinStandardHelpOptions = true, version = Main.VERSION,
        description = {"Message connections as Python's multiprocessing.connection frames them (a 4-byte "
                + "big-endian length, then the bytes), with its authkey handshake: talk to a Python Listener "
                + "or Client, or to another ipcbridge.",
            "ADDRESS: unix:PATH | abstract:NAME | tcp:HOST:PORT (IPv6: tcp:[::1]:PORT).",
            "A listener that does not accept the connection within 10s is exit status 3, and so, with an "
                + "authkey, is a peer that does not complete the handshake within 10s."},
        synopsisSubcommandLabel = "COMMAND",
        subcommands = {ConnCommand.Send.class, ConnCommand.Receive.class, ConnCommand.Listen.class,
                HelpCommand.class})
final class ConnCommand {
    /** The most stdin a send takes as one message: what an ipcbridge receiver accepts (64 MiB). */
    static final long MAX_STDIN = Connection.DEFAULT_MAX_MESSAGE;
    private static final byte[] NEWLINE = {'\n'};
    private static final String AUTH_FAILED = "authentication failed: ";

    private ConnCommand() {
    }

    /** Reads ADDRESS as {@code sock} does, but a connection is a stream: no {@code udp:}. */
    static final class Endpoints implements ITypeConverter<SockCommand.Endpoint> {
        @Override
        public SockCommand.Endpoint convert(String value) {
            SockCommand.Endpoint e = new SockCommand.Endpoints().convert(value);
            if (e.scheme().equals("udp")) {
                throw new TypeConversionException("'" + value + "': connections are streams: expected unix:PATH, "
                        + "abstract:NAME or tcp:HOST:PORT");
            }
            return e;
        }
    }

    /** The options every conn command shares: ADDRESS and {@code --authkey-file}. */
    abstract static class Base {
        @Spec
        CommandSpec spec;

        @Parameters(index = "0", paramLabel = "ADDRESS", converter = Endpoints.class,
                description = "unix:PATH, abstract:NAME or tcp:HOST:PORT.")
        SockCommand.Endpoint endpoint;

        @Option(names = "--authkey-file", paramLabel = "F", converter = Argv.GivenPath.class,
                description = "The shared authkey: the file's bytes, less one trailing newline (echo secret > F "
                        + "works); the authkey of multiprocessing's Listener/Client. Without it: no "
                        + "authentication (both sides must agree).")
        Path authkeyFile;

        /** The key, or null for none; an empty one is refused. */
        byte[] authkey() throws IOException, CommandFailure {
            if (authkeyFile == null) {
                return null;
            }
            byte[] key;
            try {
                key = Files.readAllBytes(authkeyFile);
            } catch (IOException e) {
                throw ExitCodes.named("read", authkeyFile, e);
            }
            if (key.length > 0 && key[key.length - 1] == '\n') {
                key = Arrays.copyOf(key, key.length - 1);
            }
            if (key.length == 0) {
                throw CommandFailure.refused(authkeyFile + ": the authkey file is empty (an empty key would mean no "
                        + "authentication): nothing was done");
            }
            return key;
        }

        /** What went wrong with {@code e}, as one line naming ADDRESS as it was given. */
        Exception named(Exception e) {
            if (e instanceof SocketTimeoutException) {
                String within = " within " + Durations.format(Connection.DEFAULT_HANDSHAKE_TIMEOUT);
                // Socket.connect's own timeout names its call: the listener never took the connection
                // (a full backlog), with or without a key; any other is the handshake's
                return String.valueOf(e.getMessage()).startsWith("connect(")
                        ? CommandFailure.timedOut("connect", endpoint.text(), "the listener did not accept the "
                                + "connection" + within)
                        : CommandFailure.timedOut("poll", endpoint.text(), "the handshake did not complete" + within);
            }
            if (e instanceof AuthenticationException) {
                String m = String.valueOf(e.getMessage());
                int at = m.indexOf(AUTH_FAILED);
                return CommandFailure.refused(endpoint.text() + ": " + (at < 0 ? m : m.substring(at)));
            }
            return endpoint.named(e);
        }
    }

    /** The receiving options: {@code --count N} and {@code --raw}, and writing what came. */
    abstract static class Receiving extends Base {
        @Option(names = "--count", paramLabel = "N", converter = Counts.Positive.class, defaultValue = "1",
                description = "How many messages to receive (default: ${DEFAULT-VALUE}).")
        long count;

        @Option(names = "--raw", description = "Write the message's bytes alone, no newline (one message).")
        boolean raw;

        void checkRaw() {
            if (raw && count != 1) {
                throw new ParameterException(spec.commandLine(), "--raw writes one message's bytes alone: not with "
                        + "--count above 1");
            }
        }

        /**
         * Receives {@link #count} messages to stdout, each followed by "\n" (unless {@link #raw}),
         * waiting at most {@code limit} (null: for ever) for each.
         */
        void receive(Connection c, Duration limit) throws IOException, InterruptedException, CommandFailure {
            // CLI-04: once stdout's reader has gone, no further message is taken, even by a wait under way
            Stdout.whileReaderStays(watch -> receiveAll(c, limit, watch));
        }

        /**
         * Accepts one client of {@code listener} and receives {@link #count} messages from it, as
         * {@link #receive} does; stdout's reader going ends the wait for the client too (CLI-04).
         */
        void acceptAndReceive(Listener listener) throws IOException, InterruptedException, CommandFailure {
            Stdout.whileReaderStays(watch -> {
                try (Connection c = listener.accept()) {
                    receiveAll(c, null, watch);
                }
            });
        }

        private void receiveAll(Connection c, Duration limit, Stdout.Watch watch) throws IOException, CommandFailure {
            for (long received = 0; received < count; received++) {
                if (watch.readerGoneNow()) {
                    throw CommandFailure.stdoutClosed(); // CLI-04: a message waiting is not taken to be lost
                }
                String got = count == 1 ? "" : "; " + received + " of " + count + " messages received";
                byte[] m;
                try {
                    // the limit bounds the whole message: a peer that sends part of one and stalls
                    // is a timeout too, not a wait for ever
                    Optional<byte[]> in = limit == null ? Optional.of(c.recvBytes()) : c.recvBytes(limit);
                    if (in.isEmpty()) {
                        throw limit.isZero()
                                ? CommandFailure.wouldBlock("poll", endpoint.text(), "no message was waiting" + got)
                                : CommandFailure.timedOut("poll", endpoint.text(), "no message within "
                                        + Durations.format(limit) + got);
                    }
                    m = in.get();
                } catch (SocketTimeoutException e) {
                    throw CommandFailure.timedOut("read", endpoint.text(), "a message began but did not end within "
                            + Durations.format(limit) + got);
                } catch (TruncatedMessageException e) {
                    throw e; // cut inside a message: an error with the library's message
                } catch (EOFException e) {
                    // a clean end between messages (UDS-04), before the count was reached
                    throw CommandFailure.refused(endpoint.text() + ": the peer closed after " + received + " of "
                            + count + " message" + (count == 1 ? "" : "s"));
                }
                try {
                    if (raw) {
                        RawIo.writeToStdout(m);
                    } else {
                        RawIo.writeToStdout(m, NEWLINE);
                    }
                } catch (CommandFailure f) {
                    throw f.withDetail(": 1 message received and not written");
                }
            }
        }
    }

    /** {@code conn send ADDRESS [--authkey-file F] [MESSAGE...]}. */
    @Command(name = "send", mixinStandardHelpOptions = true, version = Main.VERSION,
            description = {"Connects to a multiprocessing.connection Listener (or ipcbridge conn listen) at ADDRESS "
                    + "and sends each MESSAGE as one message (the argument's bytes as given); with none, all "
                    + "of stdin is one message (at most 64 MiB, what an ipcbridge receiver takes; more is refused, "
                    + "exit 1, and nothing is sent). Then closes the connection.",
                "A key the listener does not share is exit status 1: \"ipcbridge: ADDRESS: authentication failed: "
                        + "...\"."})
    static final class Send extends Base implements Callable<Integer> {
        @Parameters(index = "1..*", paramLabel = "MESSAGE", arity = "0..*",
                description = "Messages, one per argument.")
        List<String> messages = new ArrayList<>();

        @Override
        public Integer call() throws Exception {
            byte[] key = authkey();
            List<byte[]> all = new ArrayList<>();
            if (messages.isEmpty()) {
                byte[] data = RawIo.readStdin((int) MAX_STDIN);
                if (RawIo.stdinHasMore()) {
                    throw CommandFailure.refused("conn send(" + endpoint.text() + "): stdin holds more than "
                            + MAX_STDIN + " bytes, the largest message sent here; nothing was sent");
                }
                all.add(data);
            } else {
                all.addAll(Argv.bytesOf(messages)); // the arguments' bytes as given
            }
            Address a = endpoint.resolve();
            try (Connection c = Connection.connect(a, key)) {
                for (byte[] m : all) {
                    c.sendBytes(m);
                }
            } catch (IOException e) {
                throw named(e);
            }
            return ExitCodes.OK;
        }
    }

    /** {@code conn receive ADDRESS [--authkey-file F] [--count N] [--timeout D] [--raw]}. */
    @Command(name = "receive", mixinStandardHelpOptions = true, version = Main.VERSION,
            description = {"Connects to a multiprocessing.connection Listener (or ipcbridge conn listen) at ADDRESS "
                    + "and writes N messages to stdout (default 1), each followed by \"\\n\" (--raw: one message, its "
                    + "bytes alone).",
                "--timeout D bounds the wait for each message (not the connect and the handshake): exit status 3 "
                        + "when one did not come, after writing those that did.",
                "A peer that closes before N messages came is exit status 1 (\"the peer closed after K of N "
                        + "messages\"); a message above 64 MiB is refused (exit 1). Stops when stdout is closed."})
    static final class Receive extends Receiving implements Callable<Integer> {
        @Option(names = "--timeout", paramLabel = "D", converter = Durations.class,
                description = "Wait at most D for each message (250ms, 2s, 1m, PT2S; 0 = do not wait). "
                        + "Default: as long as it takes. Exit status 3 when it passes.")
        Duration timeout;

        @Override
        public Integer call() throws Exception {
            checkRaw();
            byte[] key = authkey();
            Address a = endpoint.resolve();
            try (Connection c = Connection.connect(a, key)) {
                receive(c, timeout);
            } catch (IOException e) {
                throw named(e);
            }
            return ExitCodes.OK;
        }
    }

    /** {@code conn listen ADDRESS [--authkey-file F] [--count N] [--raw]}. */
    @Command(name = "listen", mixinStandardHelpOptions = true, version = Main.VERSION,
            description = {"Listens at ADDRESS as a multiprocessing.connection Listener, accepts one client "
                    + "(a Python Client, or ipcbridge conn send) and writes N messages it sends to stdout, as "
                    + "receive does.",
                "Once listening, writes \"ipcbridge: listening on ADDRESS\" to stderr (for tcp: port 0, with the "
                        + "port the kernel chose). A unix: socket file gets mode 0600 and is removed when done "
                        + "(also on SIGINT/SIGTERM); an existing file is never replaced (exit 1, EADDRINUSE).",
                "A client with another key is exit status 1 (it is told #FAILURE#)."})
    static final class Listen extends Receiving implements Callable<Integer> {
        @Override
        public Integer call() throws Exception {
            checkRaw();
            byte[] key = authkey();
            Address a = endpoint.resolve();
            try (Listener listener = Listener.listen(a, key)) {
                SockCommand.OnExit cleanup = new SockCommand.OnExit(listener::close); // the socket file goes too
                try {
                    spec.commandLine().getErr().println("ipcbridge: listening on "
                            + endpoint.show(a instanceof Address.Inet ? listener.address() : a));
                    spec.commandLine().getErr().flush();
                    acceptAndReceive(listener);
                } finally {
                    cleanup.cancel();
                }
            } catch (IOException e) {
                throw named(e);
            }
            return ExitCodes.OK;
        }
    }
}
