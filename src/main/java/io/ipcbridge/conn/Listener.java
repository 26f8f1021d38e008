package io.ipcbridge.conn;

import io.ipcbridge.socket.Address;
import io.ipcbridge.socket.ServerSocket;
import io.ipcbridge.socket.Socket;
import java.io.IOException;

/**
 * As {@code multiprocessing.connection.Listener}: accepts connections on an AF_UNIX path, an
 * abstract name or TCP, and with an authkey challenges each client (and answers its challenge)
 * before handing the connection out. A Python {@code Client(address, authkey=...)} connects to it.
 */
public final class Listener implements AutoCloseable {
    private final ServerSocket server;
    private final byte[] authkey;

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
     * Accepts a client and authenticates it.
     *
     * @throws AuthenticationException if its key differs (it has been sent #FAILURE# and closed)
     */
    public Connection accept() throws IOException {
        Connection c = Connection.over(server.accept());
        try {
            if (authkey != null) {
                Handshake.deliver(c, authkey);
                Handshake.answer(c, authkey);
            }
            return c;
        } catch (IOException | RuntimeException e) {
            c.close();
            throw e;
        }
    }

    /** The address listened on (the real port for TCP port 0). */
    public Address address() throws IOException {
        return server.localAddress();
    }

    /** Stops listening (and removes a socket file it created). */
    @Override
    public void close() throws IOException {
        server.close();
    }
}
