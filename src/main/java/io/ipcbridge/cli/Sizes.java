package io.ipcbridge.cli;

import java.math.BigInteger;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/**
 * The size syntax of every size option, in binary multiples: {@code 4096}, {@code 4k} or
 * {@code 4KiB}, {@code 64KiB}, {@code 1m} or {@code 1MiB}, {@code 1g} or {@code 1GiB} (case does not
 * matter). A malformed size is a usage error (exit 2); one too large for any limit saturates at
 * {@link Long#MAX_VALUE}, for the command to refuse with exit 1.
 */
final class Sizes implements ITypeConverter<Long> {
    private static final Pattern SIZE = Pattern.compile("(\\d+)(k|kib|m|mib|g|gib|t|tib)?");

    @Override
    public Long convert(String value) {
        return parse(value);
    }

    /** A size of at least one byte (a segment, a message): 0 is a usage error too. */
    static final class Positive implements ITypeConverter<Long> {
        @Override
        public Long convert(String value) {
            long n = parse(value);
            if (n == 0) {
                throw new TypeConversionException("'" + value + "': the size must be at least 1 byte");
            }
            return n;
        }
    }

    /** Parses {@code text}; a {@link TypeConversionException} names what was wrong. */
    static long parse(String text) {
        Matcher m = SIZE.matcher(text.strip().toLowerCase(Locale.ROOT));
        if (!m.matches()) {
            throw new TypeConversionException("'" + text
                    + "' is not a size (examples: 4096, 4k, 64KiB, 1MiB, 1GiB)");
        }
        int shift = m.group(2) == null ? 0 : switch (m.group(2).charAt(0)) {
            case 'k' -> 10;
            case 'm' -> 20;
            case 'g' -> 30;
            default -> 40; // t
        };
        // A well-formed size of any magnitude saturates at Long.MAX_VALUE, past every limit: the
        // command refuses it with exit 1 and a sentence naming the limit, as it does 3GiB (CLI.md).
        BigInteger n = new BigInteger(m.group(1)).shiftLeft(shift);
        return n.bitLength() < Long.SIZE ? n.longValue() : Long.MAX_VALUE;
    }
}
