package io.ipcbridge.cli;

import java.nio.charset.StandardCharsets;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/**
 * The NAME of a POSIX object (CLI.md "Names"): {@code /name}, the leading slash added when missing.
 * What CLI.md makes a usage error (exit 2) is refused here, before any call: another slash, an empty
 * name, one longer than 255 bytes (NAME_MAX), and a NUL (which argv cannot hold anyway).
 *
 * <p>Everything else goes to the library, whose own rules (RELIABILITY.md §2.2: the characters it
 * takes, "/sem.*" not being a shared memory name, a semaphore name of at most 251 bytes) come back
 * as {@link IllegalArgumentException}, exit 1 with its one-line sentence: a name can be valid for
 * the command line and still refused by the object. {@code ObjectNamesTest} checks that nothing
 * refused here would have been taken by the library.
 */
final class ObjectNames {
    /** NAME_MAX: the longest name, after the slash. */
    static final int NAME_MAX = 255;

    private ObjectNames() {
    }

    /** A message queue name. */
    static final class Queue implements ITypeConverter<String> {
        @Override
        public String convert(String value) {
            return check(value);
        }
    }

    /** A shared memory name (a ring's too). */
    static final class Segment implements ITypeConverter<String> {
        @Override
        public String convert(String value) {
            return check(value);
        }
    }

    /** A named semaphore's name. */
    static final class Sem implements ITypeConverter<String> {
        @Override
        public String convert(String value) {
            return check(value);
        }
    }

    /** {@code text} with its leading slash; a {@link TypeConversionException} says what is wrong. */
    static String check(String text) {
        String full = text.startsWith("/") ? text : "/" + text;
        String body = full.substring(1);
        if (body.isEmpty()) {
            throw invalid(text, "it is empty");
        }
        if (body.indexOf('/') >= 0) {
            throw invalid(text, "a slash may only lead it");
        }
        if (body.indexOf('\0') >= 0) {
            throw invalid(text, "it holds a NUL");
        }
        int bytes = body.getBytes(StandardCharsets.UTF_8).length;
        if (bytes > NAME_MAX) {
            throw invalid(text, bytes + " bytes after the slash, at most " + NAME_MAX);
        }
        return full;
    }

    private static TypeConversionException invalid(String text, String why) {
        String shown = text.length() > 40 ? text.substring(0, 40) + "..." : text;
        return new TypeConversionException("'" + shown.replace('\0', '?') + "' is not a valid name: " + why);
    }
}
