package io.ipcbridge.conn;

import io.ipcbridge.ConnectionResetException;
import io.ipcbridge.PeerClosedException;
import io.ipcbridge.socket.Address;
import io.ipcbridge.socket.ServerSocket;
import io.ipcbridge.socket.Socket;
import io.ipcbridge.internal.posix.Deadline;
import java.io.EOFException;
import java.io.IOException;
import java.nio.channels.AsynchronousCloseException;
import java.time.Duration;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * As {@code multiprocessing.connection.Listener}: accepts connections on an AF_UNIX path, an
 * abstract name or TCP, and with an authkey challenges each client (and answers its challenge)
 * before handing the connection out. A Python {@code Client(address, authkey=...)} connects to it.
 * A client that connects and then stays silent is dropped after the handshake timeout
 * ({@link Connection#DEFAULT_HANDSHAKE_TIMEOUT} unless set), so it cannot hold {@link #accept()}
 * for ever.
 */
public final class Listener implements AutoCloseable {
    private final ServerSocket server;
    private final byte[] authkey;
    private volatile Duration handshakeTimeout = Connection.DEFAULT_HANDSHAKE_TIMEOUT;
    /** Connections inside their handshake, which {@link #close()} closes so that accept() ends. */
    private final Set<Connection> handshaking = ConcurrentHashMap.newKeySet();
    private volatile boolean closed;

    private Listener(ServerSocket server, byte[] authkey) {
        this.server = server;
        this.authkey = authkey == null || authkey.length == 0 ? null : authkey.clone();
    }

    /**
     * Listens at {@code address} (a filesystem socket gets mode 0600).
     *
     * @param authkey the shared key, or null (or empty, as in Python) for no authentication
     */
    public static Listener listen(Address address, byte[] authkey) throws IOException {
        return new Listener(ServerSocket.listen(address, Socket.Type.STREAM), authkey);
    }

    /**
     * How long {@link #accept()} gives a client, once connected, to complete the handshake.
     *
     * @param timeout the time for the whole handshake; zero allows no waiting
     */
    public void setHandshakeTimeout(Duration timeout) {
        if (Objects.requireNonNull(timeout, "timeout").isNegative()) {
            throw new IllegalArgumentException("negative timeout: " + timeout);
        }
        handshakeTimeout = timeout;
    }

    /**
     * Waits for a client (as long as it takes) and authenticates it (within the handshake timeout).
     *
     * @throws AuthenticationException if its key differs (it has been sent #FAILURE# and closed)
     * @throws java.net.SocketTimeoutException if the client does not complete the handshake in time
     *     (it has been closed)
     * @throws EOFException if the client hung up during the handshake (a health check, a port
     *     scan); the listener goes on, as after the two above
     */
    public Connection accept() throws IOException {
        Connection c = Connection.over(server.accept());
        try {
            if (authkey != null) {
                handshaking.add(c);
                if (closed) { // close() came before the add, and did not see c
                    throw new AsynchronousCloseException();
                }
                long deadline = Deadline.of(handshakeTimeout);
                try {
                    Handshake.deliver(c, authkey, deadline);
                    Handshake.answer(c, authkey, deadline);
                } catch (EOFException | PeerClosedException | ConnectionResetException gone) {
                    // one exception for a client gone, whichever call met it first (Python: EOFError
                    // or BrokenPipeError), so that an accept loop can tell it from a failing listener
                    EOFException e = new EOFException(c.name() + ": the client hung up during the handshake");
                    e.initCause(gone);
                    throw e;
                }
                handshaking.remove(c);
                if (closed) { // close() came as the handshake ended: nothing is handed out after it
                    throw new AsynchronousCloseException();
                }
            }
            return c;
        } catch (IOException | RuntimeException e) {
            handshaking.remove(c);
            c.close();
            if (closed && e instanceof IOException && !(e instanceof AsynchronousCloseException)) {
                // close() shut c before the handshake's next call began (ClosedChannelException there)
                AsynchronousCloseException ended = new AsynchronousCloseException();
                ended.initCause(e);
                throw ended;
            }
            throw e;
        }
    }

    /** The address listened on (the real port for TCP port 0). */
    public Address address() throws IOException {
        return server.localAddress();
    }

    /**
     * Stops listening (and removes a socket file it created); an {@link #accept()} inside a
     * handshake ends with {@link AsynchronousCloseException}, its client closed.
     */
    @Override
    public void close() throws IOException {
        closed = true;
        try {
            server.close();
        } finally {
            for (Connection c : handshaking) {
                c.close();
            }
        }
    }
}
