package io.ipcbridge.cli;

import java.nio.charset.StandardCharsets;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/**
 * The NAME of a POSIX object (CLI.md "Names"): {@code /name}, the leading slash added when missing,
 * then 1 to N bytes of {@code [A-Za-z0-9._-]}, neither "." nor "..": N is 255 for queues and shared
 * memory, 251 for semaphores (glibc stores them as /dev/shm/sem.NAME). Anything else (another
 * slash, an empty name, one too long) is a usage error, exit 2, caught here before any call.
 *
 * <p>These are the rules the library enforces with {@link IllegalArgumentException}
 * (RELIABILITY.md §2.2), which would otherwise surface as exit 1; {@code ObjectNamesTest} checks
 * that the two agree.
 */
final class ObjectNames {
    /** NAME_MAX: the longest name of a queue or a shared memory object, after the slash. */
    static final int NAME_MAX = 255;
    /** The longest semaphore name: NAME_MAX less the "sem." glibc puts before it. */
    static final int SEM_NAME_MAX = 251;

    private ObjectNames() {
    }

    /** A message queue name. */
    static final class Queue implements ITypeConverter<String> {
        @Override
        public String convert(String value) {
            return check(value, NAME_MAX);
        }
    }

    /** A shared memory name; "/sem.*" is refused, since those files are semaphores. */
    static final class Segment implements ITypeConverter<String> {
        @Override
        public String convert(String value) {
            String name = check(value, NAME_MAX);
            if (name.startsWith("/sem.")) {
                throw new TypeConversionException("'" + value + "' is not a shared memory name: /dev/shm/sem.* "
                        + "are semaphores");
            }
            return name;
        }
    }

    /** A named semaphore's name. */
    static final class Sem implements ITypeConverter<String> {
        @Override
        public String convert(String value) {
            return check(value, SEM_NAME_MAX);
        }
    }

    /** {@code text} with its leading slash; a {@link TypeConversionException} says what is wrong. */
    static String check(String text, int maxBytes) {
        String full = text.startsWith("/") ? text : "/" + text;
        String body = full.substring(1);
        if (body.isEmpty()) {
            throw invalid(text, "it is empty");
        }
        if (body.indexOf('/') >= 0) {
            throw invalid(text, "a slash may only lead it");
        }
        if (body.equals(".") || body.equals("..")) {
            throw invalid(text, "\".\" and \"..\" are not names");
        }
        if (!body.chars().allMatch(ObjectNames::allowed)) {
            throw invalid(text, "only letters, digits, '.', '_' and '-' may follow the slash");
        }
        int bytes = body.getBytes(StandardCharsets.UTF_8).length;
        if (bytes > maxBytes) {
            throw invalid(text, bytes + " bytes after the slash, at most " + maxBytes);
        }
        return full;
    }

    private static boolean allowed(int c) {
        return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_'
                || c == '-';
    }

    private static TypeConversionException invalid(String text, String why) {
        String shown = text.length() > 40 ? text.substring(0, 40) + "..." : text;
        return new TypeConversionException("'" + shown.replace('\0', '?') + "' is not a valid name: " + why);
    }
}
