package io.ipcbridge.cli;

import io.ipcbridge.IpcError;
import io.ipcbridge.socket.Address;
import io.ipcbridge.socket.ServerSocket;
import io.ipcbridge.socket.Socket;
import java.io.FileDescriptor;
import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.TypeConversionException;

/**
 * {@code ipcbridge sock listen|connect}: AF_UNIX (filesystem and abstract), TCP and UDP sockets
 * through {@link ServerSocket} and {@link Socket}, in the manner of {@code nc -U}.
 *
 * <p>ADDRESS is {@code unix:PATH}, {@code abstract:NAME}, {@code tcp:HOST:PORT} or
 * {@code udp:HOST:PORT} (IPv6 hosts in brackets). What does not parse, a path or abstract name of
 * more than 107 bytes (UDS-03) or not in UTF-8 (read from argv's bytes: an abstract name whatever
 * the locale; a non-ASCII path needs a UTF-8 locale, the JVM's encoding of paths), and
 * a {@code --type} that contradicts the address (tcp is a stream, udp datagrams) are usage errors,
 * exit 2, before any call. A host name that does not resolve is exit 1; {@code sock connect
 * tcp:NAME:PORT} tries each address NAME resolves to, in turn, as nc does, and names the last in
 * its error line. Failed calls are exit 1 with {@code call(ADDRESS): ERRNO (text)}, the address
 * written as it was given (CLI-05).
 */
@Command(name = "sock", mixinStandardHelpOptions = true, version = Main.VERSION,
        description = {"Sockets: listen and copy what clients send to stdout, or connect, send stdin and copy "
                + "the reply to stdout (like nc -U).",
            "ADDRESS: unix:PATH | abstract:NAME | tcp:HOST:PORT | udp:HOST:PORT (IPv6: tcp:[::1]:PORT)."},
        synopsisSubcommandLabel = "COMMAND",
        subcommands = {SockCommand.Listen.class, SockCommand.Connect.class, HelpCommand.class})
final class SockCommand {
    /** The largest datagram or seqpacket message taken (as the C peer's buffer): 1 MiB. */
    static final int MAX_MESSAGE = 1 << 20;
    /** connect --type seqpacket: each read of stdin, up to this, is one message. */
    static final int SEQPACKET_READ = 64 * 1024;

    private SockCommand() {
    }

    /** The socket types, as spelled on the command line. */
    enum Kind {
        stream(Socket.Type.STREAM), dgram(Socket.Type.DATAGRAM), seqpacket(Socket.Type.SEQPACKET);

        final Socket.Type type;

        Kind(Socket.Type type) {
            this.type = type;
        }
    }

    /**
     * An ADDRESS as given: its scheme, its text and, unless a host name is still to be resolved
     * (at run time: a failed lookup is exit 1, not a usage error), the address.
     */
    record Endpoint(String scheme, String text, Address address) {
        /** Whether this is a TCP or UDP address. */
        boolean inet() {
            return scheme.equals("tcp") || scheme.equals("udp");
        }

        /** The address, resolving the host name now if need be (exit 1 when it does not resolve). */
        Address resolve() throws CommandFailure {
            if (address != null) {
                return address;
            }
            try {
                return Address.parse(text);
            } catch (UnknownHostException e) {
                throw unknownHost(e);
            }
        }

        /**
         * Connects: a tcp: host name to each of its addresses in turn until one connects, as nc and
         * socat do ({@link Socket#connect(String, int, java.time.Duration)}); any other address to
         * the one it is (a udp: name to its first: a datagram socket has no answer to wait for).
         * A {@code timeout} (null: none) bounds the connect, all of a name's addresses together.
         */
        Socket connect(Socket.Type type, Duration timeout) throws IOException, CommandFailure {
            if (address != null || !scheme.equals("tcp")) {
                return timeout == null ? Socket.connect(resolve(), type) : Socket.connect(resolve(), type, timeout);
            }
            int port = text.lastIndexOf(':');
            String host = text.substring(scheme.length() + 1, port).replaceAll("^\\[(.*)]$", "$1");
            try {
                return Socket.connect(host, Integer.parseInt(text.substring(port + 1)), timeout);
            } catch (UnknownHostException e) {
                throw unknownHost(e);
            }
        }

        private CommandFailure unknownHost(UnknownHostException e) {
            return CommandFailure.refused(text + ": unknown host: " + e.getMessage());
        }

        /**
         * The socket type: {@code --type} if given, else what the address implies; tcp with
         * anything but stream, or udp with anything but dgram, is a usage error.
         */
        Socket.Type type(Kind option, CommandSpec spec) {
            Kind implied = scheme.equals("udp") ? Kind.dgram : Kind.stream;
            if (option == null) {
                return implied.type;
            }
            if (inet() && option != implied) {
                throw new ParameterException(spec.commandLine(), scheme + ": addresses are " + implied
                        + " sockets: --type " + option + " contradicts " + text);
            }
            return option.type;
        }

        /**
         * How {@code a} (this address, or the one bound for it) is shown: {@code tcp:127.0.0.1:4711};
         * a literal host as it was written ({@code tcp:[::1]:4711}, not {@code [0:0:0:0:0:0:0:1]}).
         */
        String show(Address a) {
            if (!inet()) {
                return a.toString();
            }
            if (a instanceof Address.Inet bound && address instanceof Address.Inet given
                    && bound.address().equals(given.address())) {
                return text.substring(0, text.lastIndexOf(':') + 1) + bound.port();
            }
            return scheme + ":" + a;
        }

        /**
         * {@code e} with a TCP or UDP address shown with its scheme, as the user wrote it
         * ({@code connect(tcp:127.0.0.1:1)}, where the library says {@code connect(127.0.0.1:1)}:
         * its addresses do not know whether they are TCP or UDP); a literal host as it was written
         * ({@code connect(tcp:[::1]:1)}, where the library says {@code [0:0:0:0:0:0:0:1]:1}).
         */
        Exception named(Exception e) {
            if (!inet() || !(e instanceof IpcError err) || err.object() == null
                    || err.object().startsWith(scheme + ":")) {
                return e;
            }
            String said = err.call() + "(" + err.object() + ")";
            String message = Objects.requireNonNullElse(e.getMessage(), "");
            if (!message.startsWith(said)) {
                return e;
            }
            String object = scheme + ":" + err.object();
            String library = address == null ? null : address.toString(); // a literal: as the library spells it
            if (library != null && (err.object().equals(library) || err.object().startsWith(library + " "))) {
                object = text + err.object().substring(library.length()); // "... (accepted)" kept
            }
            return CommandFailure.refused(err.call() + "(" + object + ")" + message.substring(said.length()));
        }
    }

    /** Reads ADDRESS; what does not parse is a usage error (exit 2). */
    static final class Endpoints implements ITypeConverter<Endpoint> {
        @Override
        public Endpoint convert(String value) {
            int colon = value.indexOf(':');
            String scheme = colon < 0 ? "" : value.substring(0, colon);
            String rest = value.substring(colon + 1);
            try {
                switch (scheme) {
                    case "unix":
                        return new Endpoint(scheme, value, Address.unix(Path.of(asGiven(value))));
                    case "abstract":
                        return new Endpoint(scheme, value, Address.abstractName(asGiven(value)));
                    case "tcp":
                    case "udp":
                        return inet(scheme, value, rest);
                    default:
                        throw new TypeConversionException("'" + value + "' is not an address: expected unix:PATH, "
                                + "abstract:NAME, tcp:HOST:PORT or udp:HOST:PORT");
                }
            } catch (IllegalArgumentException e) { // the library's checks: 1 to 107 bytes (UDS-03), no NUL
                throw new TypeConversionException(e.getMessage()); // it names the path or name
            }
        }

        /** The PATH or NAME of {@code value} as it was given ({@link Argv#asGiven}). */
        private static String asGiven(String value) {
            String given = Argv.asGiven(value);
            return given.substring(given.indexOf(':') + 1);
        }

        private static Endpoint inet(String scheme, String value, String rest) {
            int last = rest.lastIndexOf(':');
            String host = last < 0 ? "" : rest.substring(0, last);
            String port = last < 0 ? "" : rest.substring(last + 1);
            if (host.startsWith("[") && host.endsWith("]") && host.length() > 2) {
                host = host.substring(1, host.length() - 1);
            } else if (host.contains(":") || host.contains("[") || host.contains("]")) {
                throw new TypeConversionException("'" + value + "': an IPv6 host goes in brackets: "
                        + scheme + ":[::1]:PORT");
            }
            if (host.isEmpty() || port.isEmpty()) {
                throw new TypeConversionException("'" + value + "' is not an address: expected " + scheme
                        + ":HOST:PORT");
            }
            if (!port.chars().allMatch(c -> c >= '0' && c <= '9') || port.length() > 5
                    || Integer.parseInt(port) > 65535) {
                throw new TypeConversionException("'" + value + "': the port is a number from 0 to 65535");
            }
            if (!host.contains(":") && !host.chars().allMatch(c -> c >= '0' && c <= '9' || c == '.')) {
                return new Endpoint(scheme, value, null); // a host name: resolved when the command runs
            }
            try {
                return new Endpoint(scheme, value, Address.parse(value)); // a literal: no lookup
            } catch (UnknownHostException e) {
                throw new TypeConversionException("'" + value + "': not an IP address: " + host);
            }
        }
    }

    /** {@code sock listen ADDRESS [--type T] [--count N] [--mode M] [--timeout D]}. */
    @Command(name = "listen", mixinStandardHelpOptions = true, version = Main.VERSION,
            description = {"Listens at ADDRESS and accepts N connections (stream, seqpacket) or receives N "
                    + "datagrams (dgram), one after another, and copies what each sends to stdout, "
                    + "binary-safe; nothing else goes to stdout.",
                "Once listening, writes \"ipcbridge: listening on ADDRESS\" to stderr (for tcp:/udp: port 0, "
                        + "with the port the kernel chose).",
                "A unix: socket file is created with --mode (default 0600) and removed when done (also on "
                        + "SIGINT/SIGTERM); an existing file is never replaced (exit 1, EADDRINUSE).",
                "Datagrams and seqpacket messages of up to 1 MiB are taken; a longer one fails (exit 1).",
                "--timeout bounds the wait for each connection or datagram: exit status 3 when none came, "
                        + "after writing what the earlier ones sent. Stops when stdout is closed."})
    static final class Listen implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Parameters(paramLabel = "ADDRESS", converter = Endpoints.class,
                description = "unix:PATH, abstract:NAME, tcp:HOST:PORT or udp:HOST:PORT.")
        Endpoint endpoint;

        @Option(names = "--type", paramLabel = "TYPE",
                description = "stream, dgram or seqpacket (default: stream; udp: dgram).")
        Kind type;

        @Option(names = "--count", paramLabel = "N", converter = Counts.Positive.class, defaultValue = "1",
                description = "How many connections or datagrams (default: ${DEFAULT-VALUE}).")
        long count;

        @Option(names = "--mode", paramLabel = "M", converter = OctalMode.class,
                description = "The mode of a unix: socket file, octal (default: 0600). Connecting needs write "
                        + "permission on it.")
        Integer mode;

        @Mixin
        TimeoutOption timeout;

        private String shown;

        @Override
        public Integer call() throws Exception {
            Socket.Type t = endpoint.type(type, spec);
            if (mode != null && !endpoint.scheme().equals("unix")) {
                throw new ParameterException(spec.commandLine(), "--mode is for unix: paths only, not "
                        + endpoint.text());
            }
            int m = mode == null ? ServerSocket.DEFAULT_MODE : mode;
            Address a = endpoint.resolve();
            try {
                if (t == Socket.Type.DATAGRAM) {
                    receiveDatagrams(a, m);
                } else {
                    acceptConnections(a, t, m);
                }
            } catch (IOException e) {
                throw endpoint.named(e);
            }
            return ExitCodes.OK;
        }

        private void acceptConnections(Address a, Socket.Type t, int m) throws IOException, InterruptedException, CommandFailure {
            ServerSocket server = ServerSocket.listen(a, t, m, false);
            try {
                OnExit cleanup = new OnExit(server::close); // SIGINT/SIGTERM: the socket file goes too
                try {
                    announce(a instanceof Address.Inet ? server.localAddress() : a);
                    Duration limit = timeout.value();
                    ByteBuffer message = t == Socket.Type.SEQPACKET ? ByteBuffer.allocateDirect(MAX_MESSAGE) : null;
                    // CLI-04: once stdout's reader has gone, no further connection is waited for or taken
                    Stdout.whileReaderStays(watch -> {
                        for (long i = 0; i < count; i++) {
                            if (watch.readerGoneNow()) {
                                throw CommandFailure.stdoutClosed();
                            }
                            Optional<Socket> accepted = limit == null ? Optional.of(server.accept())
                                    : server.accept(limit);
                            if (accepted.isEmpty()) {
                                throw timedOut("accept", "connection", i);
                            }
                            try (Socket connection = accepted.get()) {
                                if (message == null) {
                                    RawIo.copyToStdout(connection, watch);
                                } else {
                                    copyMessages(connection, message, watch);
                                }
                            }
                        }
                    });
                } finally {
                    cleanup.cancel();
                }
            } finally {
                server.close(); // and removes its socket file
            }
        }

        private void receiveDatagrams(Address a, int m) throws IOException, InterruptedException, CommandFailure {
            // Socket.bind gives a unix: socket file its mode through a descriptor of the file it bound,
            // never through the path, where a symbolic link may have been swapped in (SEC-01), and
            // removes it on close
            Socket socket = Socket.bind(a, m);
            try {
                OnExit cleanup = new OnExit(socket::close); // SIGINT/SIGTERM: the socket file goes too
                try {
                    announce(a instanceof Address.Inet ? socket.localAddress() : a);
                    socket.setReadTimeout(timeout.value());
                    ByteBuffer datagram = ByteBuffer.allocateDirect(MAX_MESSAGE);
                    // CLI-04: once stdout's reader has gone, no further datagram is waited for or taken
                    Stdout.whileReaderStays(watch -> {
                        for (long i = 0; i < count; i++) {
                            if (watch.readerGoneNow()) {
                                throw CommandFailure.stdoutClosed();
                            }
                            try {
                                socket.read(datagram.clear());
                            } catch (SocketTimeoutException e) {
                                throw timedOut("recvmsg", "datagram", i);
                            }
                            RawIo.copyToStdout(datagram.flip());
                        }
                    });
                } finally {
                    cleanup.cancel();
                }
            } finally {
                socket.close(); // and removes its socket file
            }
        }

        private void announce(Address bound) {
            shown = endpoint.show(bound);
            spec.commandLine().getErr().println("ipcbridge: listening on " + shown);
            spec.commandLine().getErr().flush();
        }

        private CommandFailure timedOut(String call, String what, long done) {
            Duration limit = timeout.value();
            String got = "; " + done + " of " + count + " " + what + (count == 1 ? "" : "s")
                    + (call.equals("accept") ? " accepted" : " received");
            return limit.isZero() ? CommandFailure.wouldBlock(call, shown, "no " + what + " was waiting" + got)
                    : CommandFailure.timedOut(call, shown, "no " + what + " within " + Durations.format(limit) + got);
        }
    }

    /** {@code sock connect ADDRESS [--type T] [--timeout D]}. */
    @Command(name = "connect", mixinStandardHelpOptions = true, version = Main.VERSION,
            description = {"Connects to ADDRESS. stream and seqpacket: sends stdin, then half-closes "
                    + "(shutdown SHUT_WR) and copies the reply to stdout until the peer closes, like nc -U; "
                    + "the reply is read while stdin is still being sent. seqpacket: each read of stdin, "
                    + "up to 64 KiB, is one message.",
                "dgram (and udp:): all of stdin, at most 1 MiB and what the kernel allows, is sent as one "
                        + "datagram; no reply is read.",
                "tcp: a host name is tried at each address it resolves to, in turn, until one connects (as nc).",
                "--timeout bounds the connect (a unix: or abstract: listener whose backlog is full, a TCP "
                        + "handshake that is not answered): exit status 3 when no connection was made in time; "
                        + "what follows the connect is not bounded.",
                "Nobody at ADDRESS is exit status 1, e.g. \"ipcbridge: connect(unix:/x): ENOENT (No such file "
                        + "or directory)\"."})
    static final class Connect implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Parameters(paramLabel = "ADDRESS", converter = Endpoints.class,
                description = "unix:PATH, abstract:NAME, tcp:HOST:PORT or udp:HOST:PORT.")
        Endpoint endpoint;

        @Option(names = "--type", paramLabel = "TYPE",
                description = "stream, dgram or seqpacket (default: stream; udp: dgram).")
        Kind type;

        @Option(names = "--timeout", paramLabel = "D", converter = Durations.class,
                description = "How long the connect may wait (250ms, 2s, 1m, PT2S; 0 = do not wait). "
                        + "Default: as long as it takes. Exit status 3 when it passes.")
        Duration timeout;

        @Override
        public Integer call() throws Exception {
            Socket.Type t = endpoint.type(type, spec);
            try (Socket socket = connect(t)) {
                if (t == Socket.Type.DATAGRAM) {
                    sendDatagram(socket);
                } else {
                    exchange(socket, t);
                }
            } catch (IOException e) {
                throw endpoint.named(e);
            }
            return ExitCodes.OK;
        }

        /** The connected socket; exit 3 when the timeout passes first (CLI-02). */
        private Socket connect(Socket.Type t) throws IOException, CommandFailure {
            try {
                return endpoint.connect(t, timeout);
            } catch (SocketTimeoutException e) {
                String detail = "no connection was made";
                throw timeout.isZero() ? CommandFailure.wouldBlock("connect", endpoint.text(), detail + " without waiting")
                        : CommandFailure.timedOut("connect", endpoint.text(), detail + " within " + Durations.format(timeout));
            }
        }

        private void sendDatagram(Socket socket) throws IOException, CommandFailure {
            byte[] data = RawIo.readStdin(MAX_MESSAGE);
            if (RawIo.stdinHasMore()) {
                throw CommandFailure.refused("sendto(" + endpoint.text() + "): stdin holds more than "
                        + MAX_MESSAGE + " bytes, the largest datagram sent here; nothing was sent");
            }
            socket.write(ByteBuffer.wrap(data));
        }

        /**
         * Sends stdin from a second thread while this one copies the reply, so that a peer that
         * answers as it reads (an echo server) never waits on a full socket buffer of ours.
         */
        private static void exchange(Socket socket, Socket.Type t) throws Exception {
            Sender sender = new Sender(socket, t);
            Thread thread = new Thread(sender, "ipcbridge-stdin");
            thread.setDaemon(true); // it may block in a read of stdin that never ends: the exit ends it
            thread.start();
            try {
                if (t == Socket.Type.SEQPACKET) {
                    copyMessages(socket, ByteBuffer.allocateDirect(MAX_MESSAGE), null);
                } else {
                    RawIo.copyToStdout(socket);
                }
            } catch (IOException e) {
                // Reset or broken: the send's own failure, if it came first, tells more (EPIPE).
                IOException sent = sender.failure;
                throw sent != null ? sent : e;
            }
            thread.join(); // the reply has ended: stdin still goes out until its end (a half-closed peer)
            if (sender.failure != null) {
                throw sender.failure;
            }
        }
    }

    /** Copies stdin to a connected socket, then half-closes it; keeps what failed. */
    private static final class Sender implements Runnable {
        private final Socket socket;
        private final Socket.Type type;
        volatile IOException failure;

        Sender(Socket socket, Socket.Type type) {
            this.socket = socket;
            this.type = type;
        }

        @Override
        public void run() {
            try {
                if (type == Socket.Type.SEQPACKET) {
                    // One read(2) of fd 0 is one message: not System.in, whose buffer joins reads.
                    InputStream in = new FileInputStream(FileDescriptor.in); // never closed: fd 0 stays open
                    byte[] chunk = new byte[SEQPACKET_READ];
                    for (int n; (n = read(in, chunk)) >= 0; ) {
                        if (n > 0) {
                            socket.write(ByteBuffer.wrap(chunk, 0, n));
                        }
                    }
                } else {
                    RawIo.copyFromStdin(socket);
                }
                socket.shutdownOutput();
            } catch (IOException e) {
                failure = e;
                try { // let the reply's reader end too: the peer may be waiting for our end of file
                    socket.shutdownOutput();
                    socket.shutdownInput();
                } catch (IOException | RuntimeException ignored) {
                    // closed or reset already
                }
            }
        }

        private static int read(InputStream in, byte[] chunk) throws IOException {
            try {
                return in.read(chunk);
            } catch (IOException e) {
                throw RawIo.stdinFailure(e);
            }
        }
    }

    /**
     * Copies every message of a seqpacket socket to stdout, until end of file; with a {@code watch}
     * (or null), none is taken once stdout's reader has gone.
     */
    private static void copyMessages(Socket socket, ByteBuffer buffer, Stdout.Watch watch)
            throws IOException, CommandFailure {
        for (;;) {
            if (watch != null && watch.readerGoneNow()) {
                throw CommandFailure.stdoutClosed();
            }
            if (socket.read(buffer.clear()) < 0) {
                return;
            }
            RawIo.copyToStdout(buffer.flip());
        }
    }

    /** What to undo when the JVM is stopped (SIGINT, SIGTERM) in the middle: a shutdown hook until cancelled. */
    static final class OnExit {
        /** Set by a hook before it undoes anything: the JVM is being stopped (by a signal). */
        private static volatile boolean stopping;
        private final Thread hook;

        OnExit(Undo undo) {
            hook = new Thread(() -> {
                stopping = true; // before the close, so the command that fails on it ends quietly
                try {
                    undo.run();
                } catch (IOException | RuntimeException e) {
                    // the process is ending: nothing more to do
                }
            }, "ipcbridge-cleanup");
            try {
                Runtime.getRuntime().addShutdownHook(hook);
            } catch (IllegalStateException shuttingDown) {
                // too late for a hook: the normal path cleans up
            }
        }

        /**
         * Whether a hook has started: the JVM is stopping (SIGINT, SIGTERM) and exits 128 + the
         * signal; what fails because the hook closed it under the command is no error to report.
         */
        static boolean stopping() {
            return stopping;
        }

        void cancel() {
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException shuttingDown) {
                // the hook runs or has run
            }
        }
    }
}
