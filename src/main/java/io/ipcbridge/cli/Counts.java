package io.ipcbridge.cli;

import java.math.BigInteger;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/**
 * Decimal integer options: counts, priorities, semaphore values. What is not a decimal integer of
 * the right sign is a usage error (exit 2); a number that parses but passes a system limit (a
 * priority from MQ_PRIO_MAX on, a value past SEM_VALUE_MAX), however many digits it has, is left to
 * the command, which refuses it with exit 1 (CLI.md): past {@link Long#MAX_VALUE} it saturates there.
 */
final class Counts {
    private Counts() {
    }

    /** 0 or more. */
    static final class NonNegative implements ITypeConverter<Long> {
        @Override
        public Long convert(String value) {
            return parse(value, 0);
        }
    }

    /** 1 or more. */
    static final class Positive implements ITypeConverter<Long> {
        @Override
        public Long convert(String value) {
            return parse(value, 1);
        }
    }

    /** {@code text} as a decimal integer of at least {@code min}. */
    static long parse(String text, long min) {
        String s = text.strip();
        if (s.isEmpty() || !s.chars().allMatch(c -> c >= '0' && c <= '9')) {
            throw new TypeConversionException("'" + text + "' is not a " + (min > 0 ? "positive" : "non-negative")
                    + " decimal integer");
        }
        // A well-formed number of any size saturates at Long.MAX_VALUE: past every limit, which the
        // command then refuses with exit 1 and a sentence naming it (CLI.md), as for a smaller one.
        BigInteger big = new BigInteger(s);
        long n = big.bitLength() < Long.SIZE ? big.longValue() : Long.MAX_VALUE;
        if (n < min) {
            throw new TypeConversionException("'" + text + "' is below " + min);
        }
        return n;
    }
}
