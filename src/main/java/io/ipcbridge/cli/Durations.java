package io.ipcbridge.cli;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/**
 * The duration syntax of every {@code --timeout}: {@code 250ms}, {@code 2s}, {@code 1m}, {@code 1h},
 * ISO-8601 ({@code PT2S}), or a bare number of seconds ({@code 0}, {@code 0.2}); {@code 0} means
 * "do not wait". Anything else, or a negative value, is a usage error (exit 2).
 */
final class Durations implements ITypeConverter<Duration> {
    private static final Pattern SIMPLE = Pattern.compile("(\\d+(?:\\.\\d+)?)(ns|us|ms|s|m|h)?");

    @Override
    public Duration convert(String value) {
        return parse(value);
    }

    /** Parses {@code text}; a {@link TypeConversionException} names what was wrong. */
    static Duration parse(String text) {
        String s = text.strip().toLowerCase(Locale.ROOT);
        if (s.startsWith("p")) {
            Duration d;
            try {
                d = Duration.parse(s.toUpperCase(Locale.ROOT));
            } catch (DateTimeParseException e) {
                throw invalid(text);
            }
            if (d.isNegative()) {
                throw invalid(text);
            }
            return d;
        }
        Matcher m = SIMPLE.matcher(s);
        if (!m.matches()) {
            throw invalid(text);
        }
        String unit = m.group(2) == null ? "s" : m.group(2);
        long nanosPerUnit = switch (unit) {
            case "ns" -> 1L;
            case "us" -> 1_000L;
            case "ms" -> 1_000_000L;
            case "s" -> 1_000_000_000L;
            case "m" -> 60_000_000_000L;
            default -> 3_600_000_000_000L; // h
        };
        try {
            BigDecimal nanos = new BigDecimal(m.group(1))
                    .multiply(BigDecimal.valueOf(nanosPerUnit));
            return Duration.ofNanos(nanos.setScale(0, RoundingMode.CEILING).longValueExact());
        } catch (ArithmeticException tooLong) {
            throw new TypeConversionException("'" + text + "' is too long a duration");
        }
    }

    /** {@code d} as the syntax above writes it, for messages: {@code 200ms}, {@code 2s}, {@code 1m}. */
    static String format(Duration d) {
        long nanos;
        try {
            nanos = d.toNanos();
        } catch (ArithmeticException tooLong) {
            return d.toString();
        }
        if (nanos == 0) {
            return "0s";
        }
        if (nanos % 3_600_000_000_000L == 0) {
            return nanos / 3_600_000_000_000L + "h";
        }
        if (nanos % 60_000_000_000L == 0) {
            return nanos / 60_000_000_000L + "m";
        }
        if (nanos % 1_000_000_000L == 0) {
            return nanos / 1_000_000_000L + "s";
        }
        if (nanos % 1_000_000L == 0) {
            return nanos / 1_000_000L + "ms";
        }
        if (nanos % 1_000L == 0) {
            return nanos / 1_000L + "us";
        }
        return nanos + "ns";
    }

    private static TypeConversionException invalid(String text) {
        return new TypeConversionException("'" + text
                + "' is not a duration (examples: 250ms, 2s, 1m, PT2S, 0 for no wait)");
    }
}
