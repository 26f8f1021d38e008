package io.ipcbridge.bench;

import io.ipcbridge.socket.Address;
import io.ipcbridge.socket.ServerSocket;
import io.ipcbridge.socket.Socket;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Sockets: a connected pair made by ipcbridge (a socketpair for AF_UNIX, a loopback connection for
 * TCP, TCP_NODELAY on both ends), a child getting its end as fd 3. Subclasses name the type and the
 * JDK's route where there is one.
 */
abstract class SocketMechanism extends Mechanism {
    private static final List<Pair> PAIRS = List.of(Pair.C_C, Pair.JAVA_C, Pair.JAVA_JAVA);
    private static final List<Pair> WITH_JDK = List.of(Pair.C_C, Pair.JAVA_C, Pair.JAVA_JAVA, Pair.JDK_C,
            Pair.JDK_JAVA);

    SocketMechanism(String id, String description, List<Pair> pairs) {
        super(id, description, pairs, pairs);
    }

    /** A connected pair of ipcbridge sockets. */
    abstract Socket.Pair connected() throws IOException;

    @Override
    Link open(Workload workload, Pair pair) throws IOException {
        Socket.Pair p = connected();
        Links.Way forward = new Links.Way(p.first(), p.first()::write, p.second(), p.second()::read);
        Links.Way backward = new Links.Way(p.second(), p.second()::write, p.first(), p.first()::read);
        return Links.of("", forward, workload == Workload.LATENCY ? backward : null, p);
    }

    /** AF_UNIX stream; the JDK's route: {@link SocketChannel} with a {@link UnixDomainSocketAddress}. */
    static final class UnixStream extends SocketMechanism {
        UnixStream() {
            super("unix-stream", "socketpair(AF_UNIX, SOCK_STREAM); jdk: SocketChannel + UnixDomainSocketAddress",
                    WITH_JDK);
        }

        @Override
        Socket.Pair connected() throws IOException {
            return Socket.pair(Socket.Type.STREAM);
        }

        @Override
        Link open(Workload workload, Pair pair) throws IOException {
            if (pair.active() != Pair.Side.JDK) {
                return super.open(workload, pair);
            }
            Path dir = Files.createTempDirectory("ipcb-bench-sock");
            Path path = dir.resolve("s");
            AutoCloseable remove = () -> {
                Files.deleteIfExists(path);
                Files.delete(dir);
            };
            UnixDomainSocketAddress address = UnixDomainSocketAddress.of(path);
            if (pair.passive() == Pair.Side.C) {
                // an ipcbridge listener, so that the accepted end can go to the child
                try (ServerSocket server = ServerSocket.listen(new Address.Unix(path), Socket.Type.STREAM)) {
                    SocketChannel client = SocketChannel.open(address);
                    Socket accepted = server.accept();
                    return Links.of(role -> End.of(client::write, client::read, client),
                            role -> Links.fds("", accepted, accepted), client, accepted, remove);
                }
            }
            try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
                server.bind(address);
                SocketChannel client = SocketChannel.open(address);
                SocketChannel accepted = server.accept();
                return Links.of(role -> role == Link.Role.ACTIVE ? End.of(client::write, client::read, client)
                        : End.of(accepted::write, accepted::read, accepted), role -> {
                            throw new IllegalStateException("no child in a JDK pair");
                        }, client, accepted, remove);
            }
        }
    }

    /** AF_UNIX seqpacket or datagram (64 KiB each for throughput) over a socketpair: no JDK route. */
    static final class UnixMessages extends SocketMechanism {
        private final Socket.Type type;

        UnixMessages(String id, String description, Socket.Type type) {
            super(id, description, PAIRS);
            this.type = type;
        }

        @Override
        Socket.Pair connected() throws IOException {
            return Socket.pair(type);
        }
    }

    /** TCP over loopback, TCP_NODELAY; the JDK's route: {@link java.net.Socket}. */
    static final class Tcp extends SocketMechanism {
        Tcp() {
            super("tcp", "TCP over 127.0.0.1, TCP_NODELAY; jdk: java.net.Socket streams", WITH_JDK);
        }

        @Override
        Socket.Pair connected() throws IOException {
            try (ServerSocket server = ServerSocket.listen(new Address.Inet(InetAddress.getLoopbackAddress(), 0),
                    Socket.Type.STREAM)) {
                Socket client = Socket.connect(server.localAddress(), Socket.Type.STREAM);
                Socket accepted;
                try {
                    accepted = server.accept();
                } catch (IOException | RuntimeException e) {
                    client.close();
                    throw e;
                }
                Socket.Pair p = new Socket.Pair(client, accepted);
                try {
                    client.setNoDelay(true);
                    accepted.setNoDelay(true);
                } catch (IOException | RuntimeException e) {
                    p.close();
                    throw e;
                }
                return p;
            }
        }

        @Override
        Link open(Workload workload, Pair pair) throws IOException {
            if (pair.active() != Pair.Side.JDK) {
                return super.open(workload, pair);
            }
            InetAddress loopback = InetAddress.getLoopbackAddress();
            if (pair.passive() == Pair.Side.C) {
                try (ServerSocket server = ServerSocket.listen(new Address.Inet(loopback, 0), Socket.Type.STREAM)) {
                    int port = ((Address.Inet) server.localAddress()).port();
                    java.net.Socket client = new java.net.Socket(loopback, port);
                    client.setTcpNoDelay(true);
                    Socket accepted = server.accept();
                    accepted.setNoDelay(true);
                    return Links.of(role -> streams(client), role -> Links.fds("", accepted, accepted), client,
                            accepted);
                }
            }
            try (java.net.ServerSocket server = new java.net.ServerSocket()) {
                server.bind(new InetSocketAddress(loopback, 0));
                java.net.Socket client = new java.net.Socket(loopback, server.getLocalPort());
                java.net.Socket accepted = server.accept();
                client.setTcpNoDelay(true);
                accepted.setTcpNoDelay(true);
                return Links.of(role -> streams(role == Link.Role.ACTIVE ? client : accepted), role -> {
                    throw new IllegalStateException("no child in a JDK pair");
                }, client, accepted);
            }
        }

        /** An end on a {@link java.net.Socket}'s streams. */
        private static End streams(java.net.Socket s) throws IOException {
            return End.of(s.getOutputStream(), s.getInputStream(), s);
        }
    }
}
