package io.ipcbridge.testing;

import io.ipcbridge.socket.Socket;
import java.io.IOException;
import java.net.InetAddress;
import java.time.Duration;
import java.util.Arrays;
import java.util.stream.Collectors;

/**
 * {@code ConnectByName HOST PORT TIMEOUT}: prints the addresses Java resolves HOST to, in its order,
 * then connects with {@link Socket#connect(String, int, Duration)} (TIMEOUT an ISO-8601 duration, or
 * {@code none}) and prints {@code connected ADDRESS}, or {@code failed MESSAGE} and a
 * {@code suppressed MESSAGE} line for each earlier failure.
 */
public final class ConnectByName {
    private ConnectByName() {
    }

    public static void main(String[] args) throws Exception {
        System.out.println("resolved " + Arrays.stream(InetAddress.getAllByName(args[0]))
                .map(InetAddress::getHostAddress).collect(Collectors.joining(" ")));
        Duration timeout = args[2].equals("none") ? null : Duration.parse(args[2]);
        try (Socket s = Socket.connect(args[0], Integer.parseInt(args[1]), timeout)) {
            System.out.println("connected " + s.remoteAddress());
        } catch (IOException e) {
            System.out.println("failed " + e.getMessage());
            for (Throwable t : e.getSuppressed()) {
                System.out.println("suppressed " + t.getMessage());
            }
        }
    }
}
