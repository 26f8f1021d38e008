package io.ipcbridge.cli;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;
import picocli.CommandLine.TypeConversionException;

/**
 * The raw bytes of the program's arguments, so that a MESSAGE argument is sent byte for byte
 * (CLI.md: "binary-safe everywhere"). The JVM decodes argv with the locale's charset before
 * {@code main} sees it: bytes that are not valid there (0xff, or any non-ASCII byte with LANG unset)
 * become U+FFFD or '?', and encoding the String again cannot give them back. Linux keeps the
 * original bytes in /proc/self/cmdline, NUL-separated, the arguments of {@code main} last.
 */
final class Argv {
    /** main's arguments as the JVM gave them, and the bytes each came from; empty until {@link #capture}. */
    private static volatile String[] decoded = new String[0];
    private static volatile byte[][] raw = new byte[0][];

    private Argv() {
    }

    /** Reads the bytes of {@code args} from /proc/self/cmdline; without it, UTF-8 stands in. */
    static void capture(String[] args) {
        List<byte[]> entries = new ArrayList<>();
        try {
            byte[] cmdline = Files.readAllBytes(Path.of("/proc/self/cmdline"));
            int start = 0;
            for (int i = 0; i < cmdline.length; i++) {
                if (cmdline[i] == 0) { // every entry ends with a NUL, an empty one included
                    entries.add(Arrays.copyOfRange(cmdline, start, i));
                    start = i + 1;
                }
            }
        } catch (IOException | RuntimeException unreadable) {
            return;
        }
        if (entries.size() < args.length) {
            return;
        }
        byte[][] bytes = entries.subList(entries.size() - args.length, entries.size()).toArray(new byte[0][]);
        // A sanity check that these are main's arguments: those that are plain ASCII must match.
        for (int i = 0; i < args.length; i++) {
            String ascii = new String(bytes[i], StandardCharsets.ISO_8859_1);
            if (ascii.chars().allMatch(c -> c < 0x80) && !ascii.equals(args[i])) {
                return;
            }
        }
        decoded = args.clone();
        raw = bytes;
    }

    /**
     * The bytes of each of {@code values}, picocli's values of a trailing positional parameter
     * (MESSAGE...), which come from main's arguments in argv order. They are matched from the end:
     * the last value to the last equal argument, the one before it to an earlier one, and so on
     * (an option given after them, or "--", is skipped over as not equal). A value with no argument
     * to match (not captured: run in a test JVM) is encoded in UTF-8.
     */
    static List<byte[]> bytesOf(List<String> values) {
        String[] args = decoded;
        byte[][] bytes = raw;
        byte[][] out = new byte[values.size()][];
        int next = args.length - 1;
        for (int v = values.size() - 1; v >= 0; v--) {
            String value = values.get(v);
            int i = next;
            while (i >= 0 && !args[i].equals(value)) {
                i--;
            }
            if (i < 0) { // not found: from here on, nothing can be matched reliably
                next = -1;
                out[v] = value.getBytes(StandardCharsets.UTF_8);
            } else {
                out[v] = bytes[i].clone();
                next = i - 1;
            }
        }
        return Arrays.asList(out);
    }

    /**
     * The text of argument {@code value} read from its own bytes ({@link #bytesOf}) as UTF-8, the
     * encoding the library gives the kernel: for a path or an object name, which the JVM's decoding of
     * argv would have turned into another (0xff, or any non-ASCII byte with LANG unset, becomes U+FFFD
     * or '?'). Bytes that are not UTF-8 are a usage error, since no String would name them.
     *
     * @throws TypeConversionException if the argument's bytes are not UTF-8
     */
    static String asGiven(String value) {
        try {
            return StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(givenBytes(value))).toString();
        } catch (CharacterCodingException e) {
            throw new TypeConversionException("'" + value + "': the path or name is not UTF-8");
        }
    }

    /**
     * The bytes {@code value} came from: the last argument equal to it, else the part after the first
     * '=' of the last {@code --OPTION=VALUE} argument that ends with it (an option's value given in the
     * same argument); encoded in UTF-8 when there is neither.
     */
    private static byte[] givenBytes(String value) {
        String[] args = decoded;
        byte[][] bytes = raw;
        for (int i = args.length - 1; i >= 0; i--) {
            if (args[i].equals(value)) {
                return bytes[i].clone();
            }
        }
        for (int i = args.length - 1; i >= 0; i--) {
            int eq = args[i].indexOf('=');
            if (args[i].startsWith("-") && eq > 0 && args[i].substring(eq + 1).equals(value)) {
                int at = 0;
                while (bytes[i][at] != '=') { // the option's name before it is ASCII: the same '='
                    at++;
                }
                return Arrays.copyOfRange(bytes[i], at + 1, bytes[i].length);
            }
        }
        return value.getBytes(StandardCharsets.UTF_8);
    }

    /**
     * A PATH argument or option value as it was given ({@link #asGiven}), not as the JVM decoded it;
     * an empty one is a usage error.
     */
    static final class GivenPath implements ITypeConverter<Path> {
        @Override
        public Path convert(String value) {
            if (value.isEmpty()) { // Path.of("") is the current directory, which no PATH or FILE means
                throw new TypeConversionException("an empty path names no file");
            }
            return Path.of(asGiven(value));
        }
    }
}
