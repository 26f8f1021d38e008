package io.ipcbridge.internal.posix;

import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * The name rules of POSIX IPC objects, checked before any call (RELIABILITY.md §2.2): a leading
 * slash (added when missing), then 1 to N bytes of {@code [A-Za-z0-9._-]}, neither "." nor "..".
 * The kernel and glibc disagree on everything else ({@code mq_open("/a/b")} says EACCES,
 * {@code "//x"} aliases {@code "/x"}), so ipcbridge refuses it with a message that says why.
 */
public final class Names {
    /** The longest name body of a message queue or shared memory object, NAME_MAX. */
    public static final int NAME_MAX = 255;

    private Names() {
    }

    /**
     * The canonical form of {@code name}: with its leading slash.
     *
     * @throws IllegalArgumentException if the name breaks the rules
     * @throws NullPointerException if {@code name} is null
     */
    public static String check(String name, int maxBytes) {
        Objects.requireNonNull(name, "name");
        String full = name.startsWith("/") ? name : "/" + name;
        String body = full.substring(1);
        if (body.isEmpty()) {
            throw new IllegalArgumentException("invalid name \"" + name + "\": empty after the leading slash");
        }
        if (body.equals(".") || body.equals("..")) {
            throw new IllegalArgumentException("invalid name \"" + name + "\": \".\" and \"..\" are not names");
        }
        for (int i = 0; i < body.length(); i++) {
            char c = body.charAt(i);
            boolean ok = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
                    || c == '.' || c == '_' || c == '-';
            if (!ok) {
                throw new IllegalArgumentException("invalid name \"" + name.replace('\0', '?')
                        + "\": only letters, digits, '.', '_' and '-' may follow the leading slash");
            }
        }
        int bytes = body.getBytes(StandardCharsets.UTF_8).length;
        if (bytes > maxBytes) {
            throw new IllegalArgumentException("invalid name \"" + name + "\": " + bytes + " bytes after the slash,"
                    + " at most " + maxBytes);
        }
        return full;
    }
}
