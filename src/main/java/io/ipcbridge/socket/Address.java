package io.ipcbridge.socket;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Objects;

/**
 * A socket address: a filesystem AF_UNIX path, a Linux abstract AF_UNIX name, or an IPv4/IPv6 host
 * and port. {@link #parse} reads the CLI's syntax: {@code unix:PATH}, {@code abstract:NAME},
 * {@code tcp:HOST:PORT}, {@code udp:HOST:PORT} (IPv6 hosts in brackets: {@code tcp:[::1]:80}).
 */
public sealed interface Address permits Address.Unix, Address.Abstract, Address.Inet {
    /** sizeof(sun_path): at most 107 bytes and the terminating NUL. */
    int SUN_PATH_MAX = 107;

    /** The sockaddr bytes and length the kernel takes, exactly as a C peer builds them. */
    byte[] sockaddr();

    /** The socket domain: AF_UNIX, AF_INET or AF_INET6. */
    int domain();

    /**
     * A filesystem AF_UNIX address.
     *
     * @param path at most 107 bytes, checked here, before any call
     */
    record Unix(Path path) implements Address {
        public Unix {
            int length = path.toString().getBytes(StandardCharsets.UTF_8).length;
            if (length == 0 || length > SUN_PATH_MAX || path.toString().indexOf('\0') >= 0) {
                throw new IllegalArgumentException("an AF_UNIX path has 1 to " + SUN_PATH_MAX + " bytes and no NUL: "
                        + (length == 0 ? "the path is empty" : length + " bytes in " + path));
            }
        }

        @Override
        public byte[] sockaddr() {
            byte[] p = path.toString().getBytes(StandardCharsets.UTF_8);
            byte[] sa = new byte[2 + p.length + 1];
            sa[0] = AF_UNIX;
            System.arraycopy(p, 0, sa, 2, p.length);
            return sa;
        }

        @Override
        public int domain() {
            return AF_UNIX;
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
        public Abstract {
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
        public byte[] sockaddr() {
            byte[] n = name.getBytes(StandardCharsets.UTF_8);
            byte[] sa = new byte[2 + 1 + n.length];
            sa[0] = AF_UNIX;
            System.arraycopy(n, 0, sa, 3, n.length);
            return sa;
        }

        @Override
        public int domain() {
            return AF_UNIX;
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
        public Inet {
            Objects.requireNonNull(address, "address");
            if (port < 0 || port > 65535) {
                throw new IllegalArgumentException("port outside 0..65535: " + port);
            }
        }

        @Override
        public byte[] sockaddr() {
            byte[] ip = address.getAddress();
            ByteBuffer sa = ByteBuffer.allocate(ip.length == 4 ? 16 : 28).order(ByteOrder.LITTLE_ENDIAN);
            sa.putShort((short) domain());
            sa.order(ByteOrder.BIG_ENDIAN).putShort((short) port);
            if (ip.length == 16) {
                sa.putInt(0); // flowinfo
            }
            sa.put(ip);
            if (address instanceof Inet6Address v6) {
                // sin6_scope_id, in host order: the interface of a link-local address, without which
                // the kernel refuses it (EINVAL)
                sa.order(ByteOrder.nativeOrder()).putInt(v6.getScopeId());
            }
            return sa.array();
        }

        @Override
        public int domain() {
            return address.getAddress().length == 4 ? AF_INET : AF_INET6;
        }

        @Override
        public String toString() {
            return (address.getAddress().length == 16 ? "[" + address.getHostAddress() + "]"
                    : address.getHostAddress()) + ":" + port;
        }
    }

    /** AF_UNIX. */
    byte AF_UNIX = 1;
    /** AF_INET. */
    int AF_INET = 2;
    /** AF_INET6. */
    int AF_INET6 = 10;

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
     *     or a part in hex ({@code 0x7f.0.0.1}: 127.0.0.1 to inet_aton, a name to look up to Java)
     */
    static Inet inet(String host, int port) throws UnknownHostException {
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

    /**
     * Decodes a sockaddr the kernel returned (accept, recvfrom, getsockname); null for an unnamed
     * one, and for an AF_UNIX address that {@link Unix} and {@link Abstract} refuse to build but
     * Linux lets another program bind (the empty abstract name, a path of 108 bytes with no NUL, a
     * name that is not UTF-8): a message from such a sender is still delivered, never lost to an
     * exception, and never attributed to the other address a lenient decoding would name.
     */
    static Address fromSockaddr(byte[] sa, int length) {
        if (length < 2) {
            return null;
        }
        int family = (sa[0] & 0xff) | (sa[1] & 0xff) << 8;
        if (family == AF_UNIX) {
            if (length == 2) {
                return null;
            }
            try {
                if (sa[2] == 0) {
                    return new Abstract(utf8(sa, 3, length - 3));
                }
                int end = 2;
                while (end < length && sa[end] != 0) {
                    end++;
                }
                return new Unix(Path.of(utf8(sa, 2, end - 2)));
            } catch (IllegalArgumentException unnameable) {
                return null;
            }
        }
        int port = (sa[2] & 0xff) << 8 | (sa[3] & 0xff);
        try {
            byte[] ip = family == AF_INET ? Arrays.copyOfRange(sa, 4, 8) : Arrays.copyOfRange(sa, 8, 24);
            int scope = family == AF_INET6 && length >= 28
                    ? ByteBuffer.wrap(sa, 24, 4).order(ByteOrder.nativeOrder()).getInt() : 0;
            // a scope id (a link-local peer's interface) is kept, or a reply to it would be refused
            return new Inet(scope == 0 ? InetAddress.getByAddress(ip) : Inet6Address.getByAddress(null, ip, scope),
                    port);
        } catch (UnknownHostException e) {
            throw new IllegalStateException("bad address from the kernel", e);
        }
    }

    /**
     * The UTF-8 text of an AF_UNIX name; bytes that are not UTF-8 are refused (IllegalArgumentException),
     * since replacing them would name another socket, which a reply would then reach.
     */
    private static String utf8(byte[] sa, int offset, int length) {
        try {
            return StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(sa, offset, length)).toString();
        } catch (CharacterCodingException e) {
            throw new IllegalArgumentException("not UTF-8", e);
        }
    }
}
