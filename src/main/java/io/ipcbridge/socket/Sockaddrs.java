package io.ipcbridge.socket;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;

/** An {@link Address} as the kernel takes and returns it: sockaddr bytes and a socket domain. */
final class Sockaddrs {
    /** AF_UNIX. */
    static final byte AF_UNIX = 1;
    /** AF_INET. */
    static final int AF_INET = 2;
    /** AF_INET6. */
    static final int AF_INET6 = 10;

    private Sockaddrs() {
    }

    /** The socket domain of {@code address}: AF_UNIX, AF_INET or AF_INET6. */
    static int domain(Address address) {
        if (address instanceof Address.Inet inet) {
            return inet.address().getAddress().length == 4 ? AF_INET : AF_INET6;
        }
        return AF_UNIX;
    }

    /** The sockaddr bytes and length the kernel takes for {@code address}, exactly as a C peer builds them. */
    static byte[] of(Address address) {
        if (address instanceof Address.Unix unix) {
            byte[] p = unix.path().toString().getBytes(StandardCharsets.UTF_8);
            byte[] sa = new byte[2 + p.length + 1];
            sa[0] = AF_UNIX;
            System.arraycopy(p, 0, sa, 2, p.length);
            return sa;
        }
        if (address instanceof Address.Abstract abstractName) {
            byte[] n = abstractName.name().getBytes(StandardCharsets.UTF_8);
            byte[] sa = new byte[2 + 1 + n.length];
            sa[0] = AF_UNIX;
            System.arraycopy(n, 0, sa, 3, n.length);
            return sa;
        }
        Address.Inet inet = (Address.Inet) address;
        byte[] ip = inet.address().getAddress();
        ByteBuffer sa = ByteBuffer.allocate(ip.length == 4 ? 16 : 28).order(ByteOrder.LITTLE_ENDIAN);
        sa.putShort((short) domain(inet));
        sa.order(ByteOrder.BIG_ENDIAN).putShort((short) inet.port());
        if (ip.length == 16) {
            sa.putInt(0); // flowinfo
        }
        sa.put(ip);
        if (inet.address() instanceof Inet6Address v6) {
            // sin6_scope_id, in host order: the interface of a link-local address, without which
            // the kernel refuses it (EINVAL)
            sa.order(ByteOrder.nativeOrder()).putInt(v6.getScopeId());
        }
        return sa.array();
    }

    /**
     * Decodes a sockaddr the kernel returned (accept, recvfrom, getsockname); null for an unnamed
     * one, and for an AF_UNIX address that {@link Address.Unix} and {@link Address.Abstract} refuse
     * to build but Linux lets another program bind (the empty abstract name, a path of 108 bytes with
     * no NUL, a name that is not UTF-8): a message from such a sender is still delivered, never lost
     * to an exception, and never attributed to the other address a lenient decoding would name.
     */
    static Address decode(byte[] sa, int length) {
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
                    return new Address.Abstract(utf8(sa, 3, length - 3));
                }
                int end = 2;
                while (end < length && sa[end] != 0) {
                    end++;
                }
                return new Address.Unix(Path.of(utf8(sa, 2, end - 2)));
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
            InetAddress host = scope == 0 ? InetAddress.getByAddress(ip) : Inet6Address.getByAddress(null, ip, scope);
            return new Address.Inet(host, port);
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
