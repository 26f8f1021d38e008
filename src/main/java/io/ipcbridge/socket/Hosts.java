package io.ipcbridge.socket;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Duration;

/** Host names and IP literals, as {@link Address#inet} and {@link Socket#connect(String, int, Duration)} read them. */
final class Hosts {
    private Hosts() {
    }

    /**
     * The addresses {@code host} stands for, in the order {@link InetAddress#getAllByName} gives them: a
     * literal is one address, a host name may be several (localhost: 127.0.0.1 and ::1).
     *
     * @throws IllegalArgumentException as {@link Address#inet} says, before any lookup
     */
    static InetAddress[] resolve(String host) throws UnknownHostException {
        if (!host.isEmpty() && digitsAndDots(host) && !isIpv4(host)) {
            throw new IllegalArgumentException("not an IPv4 address: " + host);
        }
        String bare = host.split("%", 2)[0]; // without an IPv6 scope, whose interface name may hold dots
        String v4 = bare.substring(bare.lastIndexOf(':') + 1); // the IPv4 tail of an IPv6 literal too
        if ((v4.length() == bare.length() || v4.contains(".")) // not a hextet (::01)
                && digitsAndDots(v4) && v4.matches("(.*\\.)?0[0-9].*")) {
            throw new IllegalArgumentException("ambiguous IPv4 address: " + host + " (a part with a leading zero "
                    + "is octal to inet_aton(3), decimal to Java)");
        }
        if (host.matches("(?i)(?=.*0x)((0x\\p{XDigit}*|\\d+)\\.){0,3}(0x\\p{XDigit}*|\\d+)")) {
            throw new IllegalArgumentException("ambiguous IPv4 address: " + host + " (a part in hex is a number to "
                    + "inet_aton(3), a host name to Java)");
        }
        return InetAddress.getAllByName(host);
    }

    /** {@code port} if it is 0 to 65535; checked before any lookup. */
    static int checkPort(int port) {
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("port outside 0..65535: " + port);
        }
        return port;
    }

    private static boolean digitsAndDots(String s) {
        return s.chars().allMatch(c -> c >= '0' && c <= '9' || c == '.');
    }

    /**
     * Whether {@code digits}, of digits and dots, is an IPv4 address in one of the forms inet_aton(3)
     * and {@link InetAddress} read without a lookup: 1 to 4 decimal parts, each but the last a byte,
     * the last filling the bytes left ({@code 127.1} is 127.0.0.1).
     */
    private static boolean isIpv4(String digits) {
        String[] parts = digits.split("\\.", -1);
        for (int i = 0; i < parts.length; i++) {
            long max = i < parts.length - 1 ? 255 : (1L << 8 * (5 - parts.length)) - 1;
            if (parts.length > 4 || parts[i].isEmpty() || parts[i].length() > 10 || Long.parseLong(parts[i]) > max) {
                return false;
            }
        }
        return true;
    }
}
