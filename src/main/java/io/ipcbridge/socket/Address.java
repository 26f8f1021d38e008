package io.ipcbridge.socket;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Objects;

/**
 * A socket address: a filesystem AF_UNIX path, a Linux abstract AF_UNIX name, or an IPv4/IPv6 host
 * and port. {@link #parse} reads the CLI's syntax: {@code unix:PATH}, {@code abstract:NAME},
 * {@code tcp:HOST:PORT}, {@code udp:HOST:PORT} (IPv6 hosts in brackets: {@code tcp:[::1]:80}).
 */
public sealed interface Address permits Address.Unix, Address.Abstract, Address.Inet {
    /** sizeof(sun_path): at most 107 bytes and the terminating NUL. */
    int SUN_PATH_MAX = 107;

    /**
     * A filesystem AF_UNIX address.
     *
     * @param path at most 107 bytes, checked here, before any call
     */
    record Unix(Path path) implements Address {
        /** Checks {@code path}: 1 to 107 bytes of UTF-8, no NUL ({@link IllegalArgumentException} if not). */
        public Unix {
            int length = path.toString().getBytes(StandardCharsets.UTF_8).length;
            if (length == 0 || length > SUN_PATH_MAX || path.toString().indexOf('\0') >= 0) {
                throw new IllegalArgumentException("an AF_UNIX path has 1 to " + SUN_PATH_MAX + " bytes and no NUL: "
                        + (length == 0 ? "the path is empty" : length + " bytes in " + path));
            }
        }

        @Override
        public String toString() {
            return "unix:" + path;
        }
    }

    /**
     * A Linux abstract AF_UNIX address: no file; the kernel sees a NUL then the name, and the address
     * length is {@code offsetof(sun_path) + 1 + strlen(name)}, with no trailing NULs, as C peers and
     * socat use it. Permissions mean nothing for abstract sockets: check peer credentials.
     *
     * @param name 1 to 107 bytes of UTF-8 (a lone surrogate is refused)
     */
    record Abstract(String name) implements Address {
        /** Checks {@code name}: 1 to 107 bytes of UTF-8 ({@link IllegalArgumentException} if not). */
        public Abstract {
            Objects.requireNonNull(name, "name");
            int length;
            try { // strict: getBytes would turn a lone surrogate into '?', another name
                length = StandardCharsets.UTF_8.newEncoder().encode(CharBuffer.wrap(name)).remaining();
            } catch (CharacterCodingException e) {
                throw new IllegalArgumentException("an abstract name is text UTF-8 can encode: no lone surrogate", e);
            }
            if (length == 0 || length > SUN_PATH_MAX) {
                throw new IllegalArgumentException("an abstract name has 1 to " + SUN_PATH_MAX + " bytes: " + length);
            }
        }

        @Override
        public String toString() {
            return "abstract:" + name;
        }
    }

    /**
     * An IPv4 or IPv6 address and port.
     *
     * @param address the host
     * @param port 0 to 65535 (0: any free port, for a bind)
     */
    record Inet(InetAddress address, int port) implements Address {
        /** Checks {@code port}: 0 to 65535 ({@link IllegalArgumentException} if not). */
        public Inet {
            Objects.requireNonNull(address, "address");
            Hosts.checkPort(port);
        }

        @Override
        public String toString() {
            return (address.getAddress().length == 16 ? "[" + address.getHostAddress() + "]"
                    : address.getHostAddress()) + ":" + port;
        }
    }

    /** A filesystem AF_UNIX address. */
    static Unix unix(Path path) {
        return new Unix(path);
    }

    /** An abstract AF_UNIX address. */
    static Abstract abstractName(String name) {
        return new Abstract(name);
    }

    /**
     * An IPv4/IPv6 address; {@code host} is resolved now, to its first address ({@link
     * InetAddress#getByName}): a name with several (localhost: 127.0.0.1 and ::1) gives the first,
     * to bind or send to. A TCP connection that tries each is {@link Socket#connect(String, int,
     * java.time.Duration)}.
     *
     * @throws IllegalArgumentException if {@code host} has only digits and dots but is no IPv4
     *     address (before any lookup: DNS would be asked, and a resolver's search domains may even
     *     answer, for what can only be a mistyped address), or has an IPv4 part with a leading
     *     zero ({@code 0177.0.0.1}: 127.0.0.1 to inet_aton(3), so to C peers, socat and Python, but
     *     177.0.0.1 to {@link InetAddress}; {@code ::ffff:0177.0.0.1}: no address to inet_pton(3)),
     *     or a part in hex ({@code 0x7f.0.0.1}: 127.0.0.1 to inet_aton, a name to look up to Java);
     *     or if {@code port} is outside 0..65535, also before any lookup
     */
    static Inet inet(String host, int port) throws UnknownHostException {
        Hosts.checkPort(port);
        return new Inet(Hosts.resolve(host)[0], port);
    }

    /**
     * Reads {@code unix:PATH}, {@code abstract:NAME}, {@code tcp:HOST:PORT} or {@code udp:HOST:PORT}
     * (tcp and udp both give an {@link Inet}; the type is chosen apart).
     *
     * @throws IllegalArgumentException if the text does not parse
     */
    static Address parse(String spec) throws UnknownHostException {
        int colon = spec.indexOf(':');
        String scheme = colon < 0 ? "" : spec.substring(0, colon);
        String rest = colon < 0 ? "" : spec.substring(colon + 1);
        switch (scheme) {
            case "unix":
                return unix(Path.of(rest));
            case "abstract":
                return abstractName(rest);
            case "tcp":
            case "udp":
                int last = rest.lastIndexOf(':');
                if (last <= 0) {
                    throw new IllegalArgumentException("expected " + scheme + ":HOST:PORT: " + spec);
                }
                String host = rest.substring(0, last);
                if (host.startsWith("[") && host.endsWith("]")) {
                    host = host.substring(1, host.length() - 1);
                }
                String port = rest.substring(last + 1);
                if (!port.matches("[0-9]{1,5}")) { // no sign, no spaces: what the CLI's parser takes
                    throw new IllegalArgumentException("bad port in " + spec);
                }
                return inet(host, Integer.parseInt(port));
            default:
                throw new IllegalArgumentException("expected unix:PATH, abstract:NAME, tcp:HOST:PORT or udp:HOST:PORT: "
                        + spec);
        }
    }
}
