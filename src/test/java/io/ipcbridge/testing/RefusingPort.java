package io.ipcbridge.testing;

import java.io.IOException;
import java.net.BindException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One TCP port held on loopback addresses by sockets bound there and never listening: a connect
 * to it is refused (ECONNREFUSED) and no other process can listen there until it is let go. A
 * fixed port (1) or a port seen free on another address may have a listener of another process,
 * which the connect would reach instead.
 */
public final class RefusingPort implements AutoCloseable {
    private static final int ATTEMPTS = 100;

    private final Map<String, Socket> held;
    private final int port;

    private RefusingPort(Map<String, Socket> held, int port) {
        this.held = held;
        this.port = port;
    }

    /** Holds one port on every address of {@code hosts} (IP literals), trying other ports while one is in use. */
    public static RefusingPort on(String... hosts) throws IOException {
        for (int attempt = 1; ; attempt++) {
            Map<String, Socket> held = new LinkedHashMap<>();
            int port = 0;
            try {
                for (String host : hosts) {
                    Socket s = new Socket();
                    held.put(host, s);
                    s.bind(new InetSocketAddress(InetAddress.getByName(host), port));
                    port = s.getLocalPort();
                }
                return new RefusingPort(held, port);
            } catch (IOException e) {
                closeAll(held);
                if (!(e instanceof BindException) || attempt == ATTEMPTS) { // BindException: the port is in use on a later address
                    throw e;
                }
            }
        }
    }

    /** The port held. */
    public int port() {
        return port;
    }

    /** Lets go of the port on {@code host} alone (to listen there), holding it on the others. */
    public void release(String host) throws IOException {
        held.remove(host).close();
    }

    @Override
    public void close() throws IOException {
        closeAll(held);
    }

    private static void closeAll(Map<String, Socket> sockets) throws IOException {
        for (Socket s : sockets.values()) {
            s.close();
        }
        sockets.clear();
    }
}
