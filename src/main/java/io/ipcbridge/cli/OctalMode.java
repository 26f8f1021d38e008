package io.ipcbridge.cli;

import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/**
 * The syntax of every {@code --mode}: octal permission bits such as {@code 0600} or {@code 640},
 * within {@code 0777}. Anything else is a usage error (exit 2).
 */
final class OctalMode implements ITypeConverter<Integer> {
    @Override
    public Integer convert(String value) {
        return parse(value);
    }

    /** Parses {@code text}; a {@link TypeConversionException} names what was wrong. */
    static int parse(String text) {
        String s = text.strip();
        if (s.isEmpty() || s.length() > 12 || !s.chars().allMatch(c -> c >= '0' && c <= '7')) {
            throw new TypeConversionException("'" + text + "' is not an octal mode (example: 0600)");
        }
        int mode = Integer.parseInt(s, 8);
        if (mode > 0777) {
            throw new TypeConversionException("mode '" + text + "' is not within 0777");
        }
        return mode;
    }
}
